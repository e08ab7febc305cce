"""Per-video evaluation of a run: per-video statistics, the pooled scores and plots.

Frames of one video are far from independent, so the leaderboard's intervals resample VIDEOS;
they need each video's sufficient statistics, which every run folder keeps: EXPR's confusion
matrix per video (``RunFolder.per_video_confusion``, written here in the ``npz`` format below),
VA's CCC sums (``VAStats``) and AU's (tp, fp, fn) counts (``AUStats``) for the other tasks
(``RunFolder.per_video_stats``). The pooled scores are the sum of those statistics, so a run's
figure and its bootstrap agree by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.atomic import atomic_open
from harness.data.labels import NUM_CLASSES
from harness.errors import HarnessError, ReleaseFormatError
from harness.metrics import confusion_matrix, scores_from_confusion
from harness.tasks import Task, get_task

if TYPE_CHECKING:
    from harness.records.folder import RunFolder


def per_video_confusions(truth: Mapping[str, np.ndarray], preds: Mapping[str, np.ndarray]
                         ) -> tuple[list[str], np.ndarray]:
    """Names (sorted) and (n, 8, 8) matrices for every video in ``truth``; preds must cover them."""
    names = sorted(truth)
    missing = [n for n in names if n not in preds]
    if missing:
        raise HarnessError(f"no predictions for {len(missing)} videos, e.g. {missing[0]!r}")
    cms = np.zeros((len(names), NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    for k, name in enumerate(names):
        t, p = np.asarray(truth[name]), np.asarray(preds[name])
        if p.size < t.size:
            raise HarnessError(f"{name}: {p.size} predictions for {t.size} frames")
        cms[k] = confusion_matrix(t, p[: t.size])
    return names, cms


def save_per_video_confusion(path: str | Path, names: Sequence[str], cms: np.ndarray) -> None:
    """Write per-video matrices as ``npz`` (names as fixed-width unicode, no pickle),
    atomically."""
    cms = np.asarray(cms, dtype=np.int64)
    if cms.shape != (len(names), NUM_CLASSES, NUM_CLASSES):
        raise HarnessError(f"{len(names)} names but matrices of shape {cms.shape}")
    width = max((len(n) for n in names), default=1)
    with atomic_open(path, "wb") as fh:
        np.savez(fh, names=np.array(list(names), dtype=f"<U{width}"), cms=cms)


def load_per_video_confusion(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Names and (n, 8, 8) int64 matrices from a file of ``save_per_video_confusion``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            names, cms = z["names"], z["cms"]
    except FileNotFoundError:
        raise ReleaseFormatError(path, "file not found") from None
    except (KeyError, ValueError, OSError) as exc:
        raise ReleaseFormatError(path, f"not a per-video confusion file ({exc})") from None
    if cms.shape != (names.size, NUM_CLASSES, NUM_CLASSES):
        raise ReleaseFormatError(path, f"{names.size} names but cms of shape {cms.shape}")
    return [str(n) for n in names], cms.astype(np.int64)


def save_per_video_stats(path: str | Path, names: Sequence[str], task: Task, stats) -> None:
    """Write a VA/AU run's per-video statistics (``task.video_stats``) as ``npz``: the names
    (fixed-width unicode, no pickle), the task's name and the statistics' arrays, atomically."""
    arrays = task.stats_arrays(stats)
    width = max((len(n) for n in names), default=1)
    with atomic_open(path, "wb") as fh:
        np.savez(fh, names=np.array(list(names), dtype=f"<U{width}"),
                 task=np.array(task.name), **arrays)


def load_per_video_stats(path: str | Path, task: Task | str | None = None) -> tuple[list[str], Any]:
    """Names and the task's per-video statistics from a file of ``save_per_video_stats``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise ReleaseFormatError(path, "file not found") from None
    except (ValueError, OSError) as exc:
        raise ReleaseFormatError(path, f"not a per-video statistics file ({exc})") from None
    try:
        stored = get_task(str(arrays.pop("task")))
        names = [str(n) for n in arrays.pop("names")]
        if task is not None and get_task(task) is not stored:
            raise ValueError(f"statistics of task {stored.name!r}, not {get_task(task).name!r}")
        stats = stored.stats_from_arrays(arrays)
    except (KeyError, ValueError, HarnessError) as exc:
        raise ReleaseFormatError(path, f"not a per-video statistics file ({exc})") from None
    n_videos = len(next(iter(stored.stats_arrays(stats).values())))
    if n_videos != len(names):
        raise ReleaseFormatError(path, f"{len(names)} names but statistics of {n_videos} videos")
    return names, stats


def evaluate(folder: RunFolder, truth: Mapping[str, np.ndarray],
             predictions: Mapping[str, np.ndarray], title: str,
             task: Task | str | None = None) -> Any:
    """Score a run's validation predictions (per video, ``task.decisions`` of its outputs):
    per-video statistics (for bootstraps), pooled scores and the run's plots, written into
    ``folder``; returns the task's pooled scores (EXPR ``Scores``, VA ``VAScores``, AU
    ``AUScores``).

    Videos are taken in the order of ``predictions``; each is scored on its ``truth`` frames.
    """
    task = get_task(task)
    if not task.classification:
        return _evaluate_values(folder, truth, predictions, title, task)
    from harness.records.figures import plot_confusion, plot_per_class_f1

    names = list(predictions)
    cms = np.stack([confusion_matrix(truth[n], predictions[n][:truth[n].size])
                    for n in names]) if names else np.zeros((0, NUM_CLASSES, NUM_CLASSES))
    folder.write_per_video_confusion(names, cms)
    final = scores_from_confusion(cms.sum(axis=0))
    confusion_png, per_class_png = folder.plot_files
    plot_confusion(np.array(final.confusion), confusion_png)
    plot_per_class_f1(final.per_class_f1, per_class_png,
                      f"{title}: macro F1 {final.macro_f1:.3f}")
    return final


def _evaluate_values(folder: RunFolder, truth: Mapping[str, np.ndarray],
                     predictions: Mapping[str, np.ndarray], title: str, task: Task) -> Any:
    """``evaluate`` for the tasks scored from per-video sums (VA, AU)."""
    from harness.records.figures import plot_figures

    names = list(predictions)
    for n in names:
        if len(predictions[n]) < len(truth[n]):
            raise HarnessError(f"{n}: {len(predictions[n])} predictions for "
                               f"{len(truth[n])} frames")
    try:
        stats = task.video_stats([truth[n] for n in names],
                                 [predictions[n][:len(truth[n])] for n in names])
    except ValueError as exc:
        raise HarnessError(f"{title}: {exc}") from None
    folder.write_per_video_stats(names, task, stats)
    final = stats.scores()
    figures = task.figures(final)
    plot_figures(figures, task.selection_metric, folder.scores_plot,
                 f"{title}: {task.selection_metric} {figures[task.selection_metric]:.3f}")
    return final
