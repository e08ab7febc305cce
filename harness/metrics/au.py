"""The AU challenge metric, P_AU: the mean over the 12 AUs of each AU's binary F1.

As the organisers and every participant compute it (``aff-wild2-tasks.md`` §3 Metric): for each
AU, the F1 of the positive class over all valid frames pooled across videos (scikit-learn's
``f1_score(y[:, i], p[:, i])``), then the plain mean over the 12 AUs. A frame whose truth holds
``-1`` in any AU is left out entirely (every participant drops the whole frame; the release masks
the 12 values together). An AU with no true and no predicted positive scores 0 (scikit-learn's
``zero_division`` default, CPRL's ``_binary_f1``); F1 = 2·tp / (2·tp + fp + fn).

Per-video (tp, fp, fn) counts add up, so a bootstrap over videos is one weighted sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

#: The 12 AUs of the challenge, in the column order of annotations, templates and submissions.
AU_NAMES = ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25",
            "AU26")
#: Truth value of an AU with no valid annotation (a frame holding one is left out whole).
AU_INVALID = -1
_TP, _FP, _FN = range(3)


@dataclass(frozen=True)
class AUScores:
    """P_AU, the F1 of each AU and the counts behind them over pooled frames."""

    per_au_f1: tuple[float, ...]  # in ``AU_NAMES`` order
    p_au: float
    n_frames: int  # valid frames
    counts: tuple[tuple[int, int, int], ...]  # (tp, fp, fn) per AU

    def to_dict(self) -> dict:
        return asdict(self)


def au_f1_from_counts(counts: ArrayLike) -> np.ndarray:
    """Per-AU F1 from (..., 12, 3) counts (tp, fp, fn); 0 where an AU has no positive at all."""
    c = np.asarray(counts, dtype=np.float64)
    tp = c[..., _TP]
    denom = 2.0 * tp + c[..., _FP] + c[..., _FN]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2.0 * tp / denom, 0.0)


@dataclass(frozen=True)
class AUStats:
    """Per-video counts: ``counts[v, k]`` = (tp, fp, fn) of AU k in video v over valid frames.

    ``weights`` (V,) or (B, V) pools videos with those multiplicities (bootstrap counts).
    """

    counts: np.ndarray  # (V, 12, 3) int64
    n_frames: np.ndarray  # (V,) valid frames

    def pooled_counts(self, weights: ArrayLike | None = None) -> np.ndarray:
        if weights is None:
            return self.counts.sum(axis=0)
        w = np.asarray(weights, dtype=np.float64)
        return np.einsum("...v,vkc->...kc", w, self.counts.astype(np.float64))

    def f1(self, weights: ArrayLike | None = None) -> np.ndarray:
        """F1 per AU: (12,), or (B, 12) for (B, V) weights."""
        return au_f1_from_counts(self.pooled_counts(weights))

    def p_au(self, weights: ArrayLike | None = None) -> np.ndarray | float:
        return self.f1(weights).mean(axis=-1)

    def scores(self, weights: ArrayLike | None = None) -> AUScores:
        """The pooled figures (``weights``: one multiplicity per video, or None for once each)."""
        pooled = np.rint(self.pooled_counts(weights)).astype(np.int64)
        f1 = au_f1_from_counts(pooled)
        w = np.ones(len(self.n_frames)) if weights is None else np.asarray(weights, float)
        return AUScores(
            per_au_f1=tuple(float(x) for x in f1),
            p_au=float(f1.mean()),
            n_frames=int(round(float(w @ self.n_frames))),
            counts=tuple(tuple(int(x) for x in row) for row in pooled),
        )


def _check_pair(truth: ArrayLike, pred: ArrayLike, video: int) -> tuple[np.ndarray, np.ndarray]:
    """Valid truth rows and their predictions, both (m, 12) bool."""
    t = np.asarray(truth)
    p = np.asarray(pred)
    where = f" (video {video})" if video else ""
    n_au = len(AU_NAMES)
    if t.ndim != 2 or t.shape[1] != n_au:
        raise ValueError(f"AU truth must have shape (n, {n_au}), got {t.shape}{where}")
    if p.shape != t.shape:
        raise ValueError(f"AU truth has shape {t.shape} but predictions {p.shape}{where}")
    bad = (t != 0) & (t != 1) & (t != AU_INVALID)
    if bad.any():
        i, k = np.argwhere(bad)[0]
        raise ValueError(f"truth {AU_NAMES[k]} {t[i, k].item()!r} at frame {i + 1}{where} is "
                         f"not 0, 1 or the invalid marker {AU_INVALID}")
    valid = ~(t == AU_INVALID).any(axis=1)
    t, p = t[valid], p[valid]
    odd = (p != 0) & (p != 1)
    if odd.any():
        i, k = np.argwhere(odd)[0]
        raise ValueError(f"predicted {AU_NAMES[k]} {p[i, k].item()!r} at valid frame {i + 1}"
                         f"{where} is not a 0/1 decision (threshold probabilities first)")
    return t == 1, p == 1


def au_stats(truths: Sequence[ArrayLike], preds: Sequence[ArrayLike]) -> AUStats:
    """Per-video (tp, fp, fn) of ``truths[v]`` against ``preds[v]``, each (n_v, 12).

    Raises ``ValueError`` for a truth value other than 0, 1 or -1, for shapes that differ, and
    for a prediction other than 0/1 on a valid frame.
    """
    if len(truths) != len(preds):
        raise ValueError(f"{len(truths)} truth arrays but {len(preds)} prediction arrays")
    counts = np.zeros((len(truths), len(AU_NAMES), 3), dtype=np.int64)
    n_frames = np.zeros(len(truths), dtype=np.int64)
    for v, (truth, pred) in enumerate(zip(truths, preds)):
        t, p = _check_pair(truth, pred, v + 1 if len(truths) > 1 else 0)
        tp = np.count_nonzero(t & p, axis=0)
        counts[v, :, _TP] = tp
        counts[v, :, _FP] = np.count_nonzero(p, axis=0) - tp
        counts[v, :, _FN] = np.count_nonzero(t, axis=0) - tp
        n_frames[v] = t.shape[0]
    return AUStats(counts, n_frames)


def au_scores(truth: ArrayLike, pred: ArrayLike) -> AUScores:
    """P_AU and the F1 of each AU for pooled frames, truth and predictions (n, 12).

    >>> t = np.zeros((3, 12), dtype=int); t[:2, 0] = 1; t[2] = -1
    >>> p = np.zeros((3, 12), dtype=int); p[0, 0] = 1
    >>> s = au_scores(t, p)
    >>> round(s.per_au_f1[0], 4), s.p_au == s.per_au_f1[0] / 12, s.n_frames
    (0.6667, True, 2)
    """
    return au_stats([truth], [pred]).scores()
