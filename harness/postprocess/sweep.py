"""Score a grid of filters and windows on validation (``--sweep``).

Each (method, window) is applied to every validation video once and kept as per-video
confusion matrices, so choosing the best setting on any subset of videos (all of validation,
or every fold but one for an out-of-fold choice) is a sum, not a second pass over the frames.
The unfiltered outputs are a candidate too: if no filter helps, none is chosen.

VA and AU runs are swept the same way by their own figure (P_VA, P_AU at the 0.5 threshold):
each setting keeps the task's per-video statistics (CCC sums, per-AU counts), which add up over
any subset of videos just as confusion matrices do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.console import progress_task
from harness.data.labels import NUM_CLASSES
from harness.metrics import confusion_matrix, macro_f1_from_confusion
from harness.postprocess.filters import smooth_outputs
from harness.records import FrameOutputs

#: Windows (seconds) scored by ``--sweep``: HSE's +-5 .. +-100 frames at 30 fps lie in this range.
DEFAULT_WINDOWS: tuple[float, ...] = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)


@dataclass(frozen=True)
class SweepResult:
    """Per-video confusions of the raw outputs and of every (method, window) of the grid."""

    names: tuple[str, ...]
    methods: tuple[str, ...]
    windows: tuple[float, ...]
    raw: np.ndarray  # (names, 8, 8)
    cms: np.ndarray  # (methods, windows, names, 8, 8)
    #: VA/AU: the task, and per-video statistics of the raw outputs and of each setting
    #: ([method][window]); EXPR keeps confusion matrices above instead.
    task: Any = None
    stats: tuple[Any, tuple[tuple[Any, ...], ...]] | None = None
    scale: float = 100.0  # the figure as plotted (100: in %; VA's CCC: 1)

    @property
    def metric(self) -> str:
        """The figure swept, as named in ``sweep.csv`` and the plot."""
        return "macro_f1" if self.task is None else self.task.selection_metric

    def scores(self, keep: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """Pooled figure (EXPR macro F1, P_VA, P_AU) of the raw outputs and of the grid
        (methods, windows), over ``keep``."""
        keep = np.ones(len(self.names), bool) if keep is None else keep
        if self.stats is not None:
            w = keep.astype(np.float64)
            figure = lambda st: self.task.selection(st.scores(w))  # noqa: E731
            raw_stats, grid = self.stats
            return float(figure(raw_stats)), np.array([[figure(st) for st in row]
                                                       for row in grid], np.float64)
        raw = float(macro_f1_from_confusion(self.raw[keep].sum(axis=0)))
        return raw, macro_f1_from_confusion(self.cms[:, :, keep].sum(axis=2))

    def best(self, keep: np.ndarray | None = None) -> tuple[str | None, float]:
        """The best (method, window) over ``keep``; ``(None, 0.0)`` when no filter beats raw.

        Ties go to the shorter window, then to the method listed first.
        """
        raw, grid = self.scores(keep)
        if grid.size == 0 or grid.max() <= raw + 1e-12:
            return None, 0.0
        top = np.argwhere(grid >= grid.max() - 1e-12)
        m, w = min(top, key=lambda mw: (mw[1], mw[0]))
        return self.methods[m], self.windows[w]

    def table_csv(self) -> str:
        """``method,window_s,macro_f1`` over all names, the raw outputs as window 0."""
        raw, grid = self.scores()
        lines = [f"method,window_s,{self.metric}", f"none,0,{raw:.6f}"]
        lines += [f"{m},{w:g},{grid[i, j]:.6f}" for i, m in enumerate(self.methods)
                  for j, w in enumerate(self.windows)]
        return "\n".join(lines) + "\n"


def run_sweep(outputs: FrameOutputs, truth: Mapping[str, np.ndarray], fps: Mapping[str, float],
              methods: Sequence[str], windows: Sequence[float], exclude_imputed: bool = False,
              quiet: bool = False, space: Any = None, task: Any = None) -> SweepResult:
    """Filter ``outputs`` with every (method, window) and keep per-video confusions (EXPR), or
    ``task``'s per-video statistics of outputs in ``space`` (VA, AU)."""
    names = tuple(n for n in outputs.names if n in truth)
    scored = outputs.select(names)
    if task is not None:
        return _task_sweep(scored, names, truth, fps, methods, windows, exclude_imputed, quiet,
                           space, task)
    cms = np.zeros((len(methods), len(windows), len(names), NUM_CLASSES, NUM_CLASSES), np.int64)
    with progress_task("Sweeping filters", len(methods) * len(windows), "settings",
                       disable=quiet) as advance:
        for i, method in enumerate(methods):
            for j, window in enumerate(windows):
                smoothed = smooth_outputs(scored, method, window, fps, exclude_imputed)
                cms[i, j] = _per_video(smoothed, truth)
                advance(1)
    return SweepResult(names, tuple(methods), tuple(float(w) for w in windows),
                       _per_video(scored, truth), cms)


def _task_sweep(scored: FrameOutputs, names: tuple[str, ...], truth: Mapping[str, np.ndarray],
                fps: Mapping[str, float], methods: Sequence[str], windows: Sequence[float],
                exclude_imputed: bool, quiet: bool, space: Any, task: Any) -> SweepResult:
    truths = [truth[n] for n in names]

    def stats(outputs: FrameOutputs) -> Any:
        preds = outputs.decisions(task)
        return task.video_stats(truths, [preds[n][:len(truth[n])] for n in names])

    grid = []
    with progress_task("Sweeping filters", len(methods) * len(windows), "settings",
                       disable=quiet) as advance:
        for method in methods:
            row = []
            for window in windows:
                row.append(stats(smooth_outputs(scored, method, window, fps, exclude_imputed,
                                                space)))
                advance(1)
            grid.append(tuple(row))
    empty = np.zeros((0,))
    return SweepResult(names, tuple(methods), tuple(float(w) for w in windows), empty, empty,
                       task, (stats(scored), tuple(grid)), space.scale)


def _per_video(outputs: FrameOutputs, truth: Mapping[str, np.ndarray]) -> np.ndarray:
    labels = outputs.labels()
    return np.stack([confusion_matrix(truth[n], labels[n][:truth[n].size])
                     for n in outputs.names]) if outputs.names else \
        np.zeros((0, NUM_CLASSES, NUM_CLASSES), np.int64)
