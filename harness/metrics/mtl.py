"""The MTL challenge metric, P_MTL = P_VA + P_EXPR + P_AU (``aff-wild2-tasks.md`` section 4).

Each term is the uni-task metric (``harness.metrics.va``, ``.expr``, ``.au``) over the images
valid for that task only (truth VA ``-5``, expression ``-1``, AUs ``-1`` leave the image out
of that term and no other), pooled over all videos: P_VA the mean CCC of valence and arousal
(population variances), P_EXPR the unweighted mean F1 of the 8 classes, P_AU the mean binary
F1 of the 12 AUs. Range [-1, 3] (a CCC can be negative); in practice [0, 3].

The statistics are kept per video (VA sums, 8x8 confusion matrices, AU tp/fp/fn counts), so a
bootstrap over videos is one weighted sum per replicate (``MTLStats.p_mtl(weights)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from harness.metrics.au import AUScores, AUStats, au_stats
from harness.metrics.expr import Scores, confusion_matrix, f1_from_confusion, scores_from_confusion
from harness.metrics.va import VAScores, VAStats, va_stats


@dataclass(frozen=True)
class MTLScores:
    """P_MTL, its three terms, and each term's own scores (CCCs, per-class F1, per-AU F1)."""

    p_mtl: float
    p_va: float
    p_expr: float
    p_au: float
    va: VAScores
    expr: Scores
    au: AUScores

    @property
    def n_frames(self) -> int:
        """Images scored by the widest term (each term is over its own valid images; an image
        without any label is in none)."""
        return max(self.va.n_frames, self.expr.n_frames, self.au.n_frames)

    def to_dict(self) -> dict:
        return {"p_mtl": self.p_mtl, "p_va": self.p_va, "p_expr": self.p_expr,
                "p_au": self.p_au, "va": self.va.to_dict(), "expr": self.expr.to_dict(),
                "au": self.au.to_dict()}

    def columns(self) -> dict[str, float]:
        """The leaderboard's columns: P_MTL, P_VA, P_EXPR, P_AU."""
        return {"P_MTL": self.p_mtl, "P_VA": self.p_va, "P_EXPR": self.p_expr,
                "P_AU": self.p_au}


@dataclass(frozen=True)
class MTLStats:
    """Per-video statistics of the three terms (same videos, same order in each)."""

    va: VAStats
    confusion: np.ndarray  # (V, 8, 8) int64
    au: AUStats

    def terms(self, weights: ArrayLike | None = None) -> np.ndarray:
        """(3,) or (B, 3): P_VA, P_EXPR, P_AU for once-each or (B, V) bootstrap weights."""
        if weights is None:
            cm = self.confusion.sum(axis=0)
        else:
            w = np.asarray(weights, dtype=np.float64)
            cm = np.einsum("...v,vij->...ij", w, self.confusion.astype(np.float64))
        p_expr = f1_from_confusion(cm).mean(axis=-1)
        return np.stack([np.asarray(self.va.p_va(weights)), np.asarray(p_expr),
                         np.asarray(self.au.p_au(weights))], axis=-1)

    def p_mtl(self, weights: ArrayLike | None = None) -> np.ndarray | float:
        return self.terms(weights).sum(axis=-1)

    def scores(self, weights: ArrayLike | None = None) -> MTLScores:
        va = self.va.scores(weights)
        au = self.au.scores(weights)
        if weights is None:
            cm = self.confusion.sum(axis=0)
        else:
            cm = np.rint(np.einsum("v,vij->ij", np.asarray(weights, np.float64),
                                   self.confusion.astype(np.float64))).astype(np.int64)
        expr = scores_from_confusion(cm)
        return MTLScores(p_mtl=va.p_va + expr.macro_f1 + au.p_au, p_va=va.p_va,
                         p_expr=expr.macro_f1, p_au=au.p_au, va=va, expr=expr, au=au)


def mtl_stats(va_truth: Sequence[ArrayLike], va_pred: Sequence[ArrayLike],
              expr_truth: Sequence[ArrayLike], expr_pred: Sequence[ArrayLike],
              au_truth: Sequence[ArrayLike], au_pred: Sequence[ArrayLike]) -> MTLStats:
    """Per-video statistics: element v of each sequence holds video v's images (VA (n, 2),
    expression (n,), AUs (n, 12)); truth uses -5 / -1 / -1 for a task's missing label.

    Raises ``ValueError`` (from the uni-task metrics) on shapes that differ, a truth value
    outside its range, or a prediction that is not a number / class / 0-1 decision on a valid
    image.
    """
    n = len(va_truth)
    if not all(len(s) == n for s in (va_pred, expr_truth, expr_pred, au_truth, au_pred)):
        raise ValueError("every MTL input needs one array per video, in the same video order")
    for v in range(n):
        sizes = {len(np.asarray(a[v])) for a in (va_truth, expr_truth, au_truth)}
        if len(sizes) != 1:
            raise ValueError(f"video {v + 1}: VA, EXPR and AU truth hold different numbers of "
                             f"images ({sorted(sizes)})")
    confusion = np.zeros((n, 8, 8), dtype=np.int64)
    for v in range(n):
        confusion[v] = confusion_matrix(np.asarray(expr_truth[v]), np.asarray(expr_pred[v]))
    return MTLStats(va_stats(va_truth, va_pred), confusion, au_stats(au_truth, au_pred))


def mtl_scores(va_truth: ArrayLike, va_pred: ArrayLike, expr_truth: ArrayLike,
               expr_pred: ArrayLike, au_truth: ArrayLike, au_pred: ArrayLike) -> MTLScores:
    """P_MTL and its terms over pooled images.

    >>> t_va = np.array([[0.1, 0.2], [0.5, -0.1], [-5, -5]])
    >>> t_ex = np.array([0, 4, -1]); t_au = np.array([[1] * 12, [0] * 12, [-1] * 12])
    >>> s = mtl_scores(t_va, t_va, t_ex, t_ex, t_au, t_au)
    >>> round(s.p_va, 6), round(s.p_expr, 4), round(s.p_au, 6), round(s.p_mtl, 4)
    (1.0, 0.25, 1.0, 2.25)
    """
    return mtl_stats([va_truth], [va_pred], [expr_truth], [expr_pred], [au_truth],
                     [au_pred]).scores()
