"""Windows over cached features: for each predicted frame, the 12 steps of every modality.

Windows are never materialised: each modality's features are concatenated into one table and
each window is 12 row indices into it, so a batch is one fancy-index gather (a 40 k-frame split
would otherwise need ~1 GB of copies). The face model is never run here; the trainer reads only
cached features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from harness.data.release import Release
from harness.data.videos import video_of
from harness.errors import HarnessError
from harness.features.cache import FeatureCache
from harness.features.timeline import N_STEPS, nearest_rows, step_times, window_frames


@dataclass
class WindowSet:
    names: list[str]
    name_idx: np.ndarray  # (N,) which name each window belongs to
    frames: np.ndarray  # (N,) 1-based frame of the window's current step
    labels: np.ndarray  # (N,) int64 truth, -1 where invalid or unknown (test)
    rows: dict[str, np.ndarray]  # modality -> (N, 12) rows into tables[modality]
    mask: np.ndarray  # (N, 12) bool: step inside the video
    tables: dict[str, np.ndarray]  # modality -> (rows, dim) float32

    def __len__(self) -> int:
        return int(self.frames.size)

    @property
    def dims(self) -> dict[str, int]:
        return {m: int(t.shape[1]) for m, t in self.tables.items()}

    def batch(self, idx: np.ndarray, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        out = {m: torch.from_numpy(self.tables[m][self.rows[m][idx]]).to(device)
               for m in self.tables}
        out["mask"] = torch.from_numpy(self.mask[idx]).to(device)
        return out

    def subset(self, keep: np.ndarray) -> WindowSet:
        return WindowSet(self.names, self.name_idx[keep], self.frames[keep], self.labels[keep],
                         {m: r[keep] for m, r in self.rows.items()}, self.mask[keep],
                         self.tables)


def build_windows(release: Release, names: list[str] | tuple[str, ...],
                  caches: dict[str, FeatureCache], *, labelled_only: bool) -> WindowSet:
    """Windows for the frames of ``names``: valid-labelled ones only, or every frame 1..N."""
    parts = {m: [] for m in caches}
    tables = {m: [] for m in caches}
    offsets = dict.fromkeys(caches, 0)
    name_idx, frames, labels, masks = [], [], [], []
    for i, name in enumerate(names):
        n = release.n_frames(name)
        lab = _labels_or_unknown(release, name, n)
        fr = np.flatnonzero(lab >= 0) + 1 if labelled_only else np.arange(1, n + 1)
        fps = release.fps(name)
        face_rows, inside = window_frames(fr, fps, n)
        times = step_times(fr, fps)
        for m, cache in caches.items():
            feats = cache.load(video_of(name) if m == "audio" else name)
            if m == "face":
                if feats.feat.shape[0] != n:
                    raise HarnessError(f"face features of {name} have {feats.feat.shape[0]} rows "
                                       f"for {n} frames; clear the cache at {cache.dir}")
                rows = face_rows - 1
            else:
                rows = nearest_rows(times, feats.time)
            parts[m].append(rows + offsets[m])
            tables[m].append(np.asarray(feats.feat, dtype=np.float32))
            offsets[m] += feats.feat.shape[0]
        name_idx.append(np.full(fr.size, i))
        frames.append(fr)
        labels.append(lab[fr - 1].astype(np.int64))
        masks.append(inside)
    return WindowSet(
        names=list(names),
        name_idx=_cat(name_idx, np.int64),
        frames=_cat(frames, np.int64),
        labels=_cat(labels, np.int64),
        rows={m: _cat(parts[m], np.int64, (0, N_STEPS)) for m in caches},
        mask=_cat(masks, bool, (0, N_STEPS)),
        tables={m: np.concatenate(tables[m]) if tables[m] else np.zeros((0, 1), np.float32)
                for m in caches},
    )


def _labels_or_unknown(release: Release, name: str, n: int) -> np.ndarray:
    try:
        return release.labels(name)
    except KeyError:
        return np.full(n, -1, dtype=np.int8)


def _cat(arrays: list[np.ndarray], dtype, empty_shape=(0,)) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(empty_shape, dtype)
