"""The EXPR challenge metric, P_EXPR: the unweighted mean of the 8 per-class F1 scores.

Frames are pooled over all videos; frames whose truth is -1 are excluded; a class absent from
both truth and prediction scores 0 (scikit-learn's ``f1_score(labels=range(8), average="macro",
zero_division=0)``, which participants used). Everything is computed from one confusion matrix,
so the bootstrap can resample videos by summing per-video matrices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from harness.data.labels import NUM_CLASSES


@dataclass(frozen=True)
class Scores:
    per_class_f1: tuple[float, ...]
    accuracy: float
    macro_f1: float
    confusion: tuple[tuple[int, ...], ...]
    n_frames: int

    def to_dict(self) -> dict:
        return asdict(self)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """8x8 counts, rows = truth, columns = prediction, over frames with truth in 0..7."""
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} frames but y_pred has {y_pred.size}")
    keep = y_true >= 0
    t = y_true[keep].astype(np.int64)
    p = y_pred[keep].astype(np.int64)
    if t.size and (t.max() >= NUM_CLASSES):
        raise ValueError(f"truth label {int(t.max())} outside -1..{NUM_CLASSES - 1}")
    if p.size and (p.min() < 0 or p.max() >= NUM_CLASSES):
        bad = int(p[(p < 0) | (p >= NUM_CLASSES)][0])
        raise ValueError(f"predicted label {bad} outside 0..{NUM_CLASSES - 1}")
    flat = np.bincount(t * NUM_CLASSES + p, minlength=NUM_CLASSES * NUM_CLASSES)
    return flat.reshape(NUM_CLASSES, NUM_CLASSES)


def f1_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class F1 from one (8, 8) matrix or a stack (..., 8, 8); 0 where a class is absent."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    denom = cm.sum(axis=-1) + cm.sum(axis=-2)  # = 2TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2.0 * tp / denom, 0.0)
    return f1


def macro_f1_from_confusion(cm: np.ndarray) -> np.ndarray | float:
    return f1_from_confusion(cm).mean(axis=-1)


def scores_from_confusion(cm: np.ndarray) -> Scores:
    cm = np.asarray(cm, dtype=np.int64)
    f1 = f1_from_confusion(cm)
    n = int(cm.sum())
    acc = float(np.trace(cm) / n) if n else 0.0
    return Scores(
        per_class_f1=tuple(float(x) for x in f1),
        accuracy=acc,
        macro_f1=float(f1.mean()),
        confusion=tuple(tuple(int(x) for x in row) for row in cm),
        n_frames=n,
    )


@dataclass(frozen=True)
class ExprStats:
    """Per-video confusion matrices ``cms[v]`` (V, 8, 8): they add up to the pooled matrix.

    ``weights`` (V,) pools videos with those multiplicities (bootstrap counts).
    """

    cms: np.ndarray  # (V, 8, 8) int64

    def pooled(self, weights: np.ndarray | None = None) -> np.ndarray:
        if weights is None:
            return self.cms.sum(axis=0)
        return np.einsum("...v,vij->...ij", np.asarray(weights, np.float64),
                         self.cms.astype(np.float64))

    def scores(self, weights: np.ndarray | None = None) -> Scores:
        return scores_from_confusion(np.rint(self.pooled(weights)).astype(np.int64))


def expr_stats(truths, preds) -> ExprStats:
    """Per-video confusions of ``preds[v]`` against ``truths[v]`` (same lengths)."""
    if len(truths) != len(preds):
        raise ValueError(f"{len(truths)} truth arrays but {len(preds)} prediction arrays")
    cms = np.zeros((len(truths), NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    for v, (t, p) in enumerate(zip(truths, preds)):
        cms[v] = confusion_matrix(t, p)
    return ExprStats(cms)


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> Scores:
    """P_EXPR and friends for pooled frames.

    >>> s = scores(np.array([0, 1, -1, 7]), np.array([0, 1, 3, 0]))
    >>> round(s.macro_f1, 4), s.n_frames
    (0.2083, 3)
    """
    return scores_from_confusion(confusion_matrix(y_true, y_pred))
