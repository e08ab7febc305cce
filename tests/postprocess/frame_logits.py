"""Per-frame logits built by hand for the post-processing tests."""

from __future__ import annotations

import numpy as np

from harness.records import FrameOutputs


def one_hot_logits(labels, scale: float = 4.0) -> np.ndarray:
    return (np.eye(8, dtype=np.float32)[np.asarray(labels)] * scale).astype(np.float32)


def outputs(videos: dict[str, np.ndarray], imputed: dict[str, np.ndarray] | None = None
            ) -> FrameOutputs:
    names = tuple(videos)
    sizes = [len(videos[n]) for n in names]
    flags = [np.asarray((imputed or {}).get(n, np.zeros(s, bool))) for n, s in zip(names, sizes)]
    return FrameOutputs(names, np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
                        np.concatenate([videos[n] for n in names]).astype(np.float32),
                        np.concatenate(flags))
