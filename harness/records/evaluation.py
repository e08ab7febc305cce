"""Per-video evaluation of a run: one confusion matrix per video, the pooled scores and plots.

Frames of one video are far from independent, so the leaderboard's intervals resample VIDEOS;
they need each video's confusion matrix, which every run folder keeps
(``RunFolder.per_video_confusion``, written here in the ``npz`` format below). The pooled
scores are the sum of those matrices, so a run's figure and its bootstrap agree by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.atomic import atomic_open
from harness.data.labels import NUM_CLASSES
from harness.errors import HarnessError, ReleaseFormatError
from harness.metrics import Scores, confusion_matrix, scores_from_confusion

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


def evaluate(folder: RunFolder, truth: Mapping[str, np.ndarray],
             predictions: Mapping[str, np.ndarray], title: str) -> Scores:
    """Score a run's validation predictions: per-video confusions (for bootstraps), pooled
    scores and the run's two plots, written into ``folder``; returns the pooled scores.

    Videos are taken in the order of ``predictions``; each is scored on its ``truth`` frames.
    """
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
