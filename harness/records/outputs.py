"""Per-frame outputs of a model on one part (validation or test): logits in frame order.

``logits`` is (frames, task.output_size): EXPR's 8 class logits, VA's 2 values already in
[-1, 1] (after the model's tanh), AU's 12 logits (before the sigmoid). Everything that works for
any task turns them into predictions with ``Task.decisions``; ``labels`` is EXPR's argmax.

What a run predicts and what post-processing reads back, as one array per part with offsets per
name, so filters, ensembles and label files work on whole parts without per-frame loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import HarnessError


@dataclass(frozen=True)
class FrameOutputs:
    """Per-frame logits of one part: name ``names[i]`` holds rows ``offsets[i]:offsets[i+1]``,
    its frames 1..n in order. ``imputed`` marks frames whose face was copied from a neighbour."""

    names: tuple[str, ...]
    offsets: np.ndarray  # (n_names + 1,) int64
    logits: np.ndarray  # (frames, task.output_size) float32
    imputed: np.ndarray  # (frames,) bool

    @classmethod
    def from_frames(cls, names: list[str], name_idx: np.ndarray, frames: np.ndarray,
                    logits: np.ndarray, imputed: np.ndarray) -> FrameOutputs:
        """Reorder rows given as (name index, 1-based frame) to name-major frame order."""
        order = np.lexsort((frames, name_idx))
        counts = np.bincount(name_idx, minlength=len(names))
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        sorted_frames = frames[order]
        for i, name in enumerate(names):
            got = sorted_frames[offsets[i]:offsets[i + 1]]
            if not np.array_equal(got, np.arange(1, got.size + 1)):
                raise HarnessError(f"{name}: outputs do not cover frames 1..{got.size} once each")
        return cls(tuple(names), offsets, np.asarray(logits[order], np.float32),
                   np.asarray(imputed[order], bool))

    def labels(self) -> dict[str, np.ndarray]:
        """EXPR's argmax labels of frames 1..n per name (other tasks: ``decisions``)."""
        pred = self.logits.argmax(1)
        return {n: pred[self.offsets[i]:self.offsets[i + 1]] for i, n in enumerate(self.names)}

    def decisions(self, task, thresholds: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """``task.decisions`` of frames 1..n per name (``task``: a Task or its name)."""
        from harness.tasks import get_task

        pred = get_task(task).decisions(self.logits, thresholds)
        return {n: pred[self.offsets[i]:self.offsets[i + 1]] for i, n in enumerate(self.names)}

    @property
    def width(self) -> int:
        """Outputs per frame (the task's ``output_size``)."""
        return int(self.logits.shape[1])

    def rows(self, name: str) -> slice:
        """The rows of ``name`` (frames 1..n)."""
        try:
            return self._slices()[name]
        except KeyError:
            raise HarnessError(f"no outputs for {name!r}") from None

    def _slices(self) -> dict[str, slice]:
        o = self.offsets
        return {n: slice(int(o[i]), int(o[i + 1])) for i, n in enumerate(self.names)}

    def select(self, names: Sequence[str]) -> FrameOutputs:
        """The outputs of ``names`` only, in that order."""
        return FrameOutputs.concat([self], names)

    @staticmethod
    def concat(parts: Sequence[FrameOutputs], names: Sequence[str]) -> FrameOutputs:
        """``names`` in that order, each taken from the first part that holds it."""
        where: dict[str, tuple[FrameOutputs, slice]] = {}
        for part in reversed(parts):
            where.update({n: (part, s) for n, s in part._slices().items()})
        missing = [n for n in names if n not in where]
        if missing:
            raise HarnessError(f"no outputs for {missing[0]!r}")
        picked = [where[n] for n in names]
        counts = [s.stop - s.start for _, s in picked]
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        width = parts[0].width if parts else 0
        logits = [p.logits[s] for p, s in picked] or [np.zeros((0, width), np.float32)]
        imputed = [p.imputed[s] for p, s in picked] or [np.zeros(0, bool)]
        return FrameOutputs(tuple(names), offsets, np.concatenate(logits),
                            np.concatenate(imputed))
