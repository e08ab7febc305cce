"""Per-class offsets on log-probabilities, chosen to maximise macro F1 (``--tune-bias``).

Macro F1 rewards recall of rare classes more than the cross-entropy optimum does, so shifting
each class's log-probability by a constant before the argmax is a cheap, standard gain (SUN's
per-class weights and HSE's "Other" threshold are special cases). The search is coordinate
ascent: for one class at a time, every offset of a grid is scored at once (frames sorted by the
margin the class needs to win, cumulative confusion counts), the best kept, until a round
changes nothing. It is tuned on the frames it is then scored on, so whoever calls it must say
so (derived runs carry ``[val-tuned]``, or tune out-of-fold).
"""

from __future__ import annotations

import numpy as np

from harness.data.labels import NUM_CLASSES
from harness.errors import HarnessError
from harness.metrics import confusion_matrix, f1_from_confusion

#: Offsets tried per class (log-probability units).
OFFSET_GRID = np.round(np.arange(-3.0, 3.0001, 0.05), 2)
MAX_ROUNDS = 5


def log_softmax(scores: np.ndarray) -> np.ndarray:
    z = np.asarray(scores, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def apply_bias(scores: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Log-probabilities plus the per-class offsets (as float32 scores)."""
    return (log_softmax(scores) + np.asarray(bias, np.float64)).astype(np.float32)


def tune_bias(scores: np.ndarray, truth: np.ndarray, grid: np.ndarray = OFFSET_GRID
              ) -> np.ndarray:
    """Offsets (8,) that maximise pooled macro F1 of ``argmax(log_softmax(scores) + b)``.

    Frames whose truth is -1 are ignored. Deterministic; among equal scores the offset
    closest to 0 wins, so a class that cannot gain keeps offset 0.

    >>> rng = np.random.default_rng(0)
    >>> truth = rng.integers(0, 8, 2000)
    >>> scores = np.eye(8)[truth] * 0.5 + rng.normal(size=(2000, 8))
    >>> scores[:, 0] += 1.0                       # a model biased towards class 0
    >>> b = tune_bias(scores, truth)
    >>> bool(b[0] < 0)
    True
    """
    scores, truth = np.asarray(scores), np.asarray(truth).ravel()
    if scores.ndim != 2 or scores.shape[1] != NUM_CLASSES or scores.shape[0] != truth.size:
        raise HarnessError(f"tune_bias needs (n, 8) scores and n labels, got {scores.shape} "
                           f"and {truth.size}")
    keep = truth >= 0
    if not keep.any():
        raise HarnessError("cannot tune class offsets: no frame has a valid label")
    lp, truth = log_softmax(scores[keep]), truth[keep].astype(np.int64)
    grid = np.asarray(grid, np.float64)
    bias = np.zeros(NUM_CLASSES)
    best = _macro_f1(lp, bias, truth)
    for _ in range(MAX_ROUNDS):
        improved = False
        for c in range(NUM_CLASSES):
            f1s = _class_sweep(lp, bias, truth, c, grid)
            top = np.flatnonzero(f1s >= f1s.max() - 1e-12)
            pick = top[np.argmin(np.abs(grid[top]))]
            if f1s[pick] > best + 1e-12:
                bias[c], best, improved = grid[pick], f1s[pick], True
        if not improved:
            break
    return bias


def _macro_f1(lp: np.ndarray, bias: np.ndarray, truth: np.ndarray) -> float:
    return float(f1_from_confusion(confusion_matrix(truth, (lp + bias).argmax(1))).mean())


def _class_sweep(lp: np.ndarray, bias: np.ndarray, truth: np.ndarray, c: int,
                 grid: np.ndarray) -> np.ndarray:
    """Macro F1 for every offset of class ``c`` in ``grid``, the other offsets fixed.

    Class c takes a frame when its offset exceeds the frame's margin (the best other class's
    score minus c's). Sorting the margins turns "which frames flip for offset g" into a prefix,
    so all grid points cost one sort and a cumulative count.
    """
    others = lp + bias
    others[:, c] = -np.inf
    other = others.argmax(1)
    margin = others[np.arange(lp.shape[0]), other] - lp[:, c]
    order = np.argsort(margin, kind="stable")
    cut = np.searchsorted(margin[order], grid, side="left")  # frames with margin < g flip
    k = NUM_CLASSES
    code_other = (truth * k + other)[order]
    code_c = (truth * k + c)[order]
    bounds = np.concatenate(([0], cut))
    seg_other = np.stack([np.bincount(code_other[a:b], minlength=k * k)
                          for a, b in zip(bounds[:-1], bounds[1:])])
    seg_c = np.stack([np.bincount(code_c[a:b], minlength=k * k)
                      for a, b in zip(bounds[:-1], bounds[1:])])
    full = np.bincount(code_other, minlength=k * k)
    cms = full - np.cumsum(seg_other, axis=0) + np.cumsum(seg_c, axis=0)
    return f1_from_confusion(cms.reshape(-1, k, k)).mean(axis=1)
