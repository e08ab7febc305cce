"""The VA challenge metric, P_VA: the mean of the CCC of valence and the CCC of arousal.

As the organisers and every participant compute it (``aff-wild2-tasks.md`` §2 Metric):
CCC = 2·s_xy / (s_x² + s_y² + (x̄ − ȳ)²) with population (ddof = 0) variances and covariance,
over all valid frames of all videos pooled; a frame whose truth is ``-5`` in a dimension is left
out of that dimension (masked per dimension: the release writes ``-5`` in both columns at once,
so this is the same as masking the frame). A CCC whose denominator is 0 (no valid frame, or truth
and prediction both constant and equal) is 0, as participants' code returns; a constant
prediction scores exactly 0.

Everything is computed from per-video sums (n, Σx, Σy, Σx², Σy², Σxy per dimension) that add up,
so a bootstrap over videos is one weighted sum per replicate. The sums are taken around a fixed
shift per dimension (the pooled lower median of truth and of prediction): CCC does not change
when truth and prediction are shifted by constants, and centred sums keep single-pass variances
exact for constant series and accurate for nearly constant ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

#: The two dimensions, in the order of the annotation columns and of every (n, 2) array.
VA_DIMENSIONS = ("valence", "arousal")
#: Truth value of a frame with no valid annotation (both columns in the release).
VA_INVALID = -5.0
_N, _SX, _SY, _SXX, _SYY, _SXY = range(6)


@dataclass(frozen=True)
class VAScores:
    """P_VA and its two CCCs over pooled frames."""

    ccc_valence: float
    ccc_arousal: float
    p_va: float
    n_frames: int  # frames valid in at least one dimension
    n_valid: tuple[int, int]  # valid frames per dimension (valence, arousal)

    @property
    def ccc(self) -> tuple[float, float]:
        return (self.ccc_valence, self.ccc_arousal)

    def to_dict(self) -> dict:
        return asdict(self)


def ccc_from_sums(sums: np.ndarray, offset: ArrayLike = 0.0) -> np.ndarray:
    """CCC from sums (..., 6) = (n, Σx, Σy, Σx², Σy², Σxy); 0 where undefined.

    ``offset`` is shift_truth − shift_prediction when the sums were taken of shifted values
    (``x = truth − shift_truth``, ``y = pred − shift_prediction``); it restores the mean gap.
    """
    s = np.asarray(sums, dtype=np.float64)
    n = s[..., _N]
    safe = np.maximum(n, 1.0)
    mx, my = s[..., _SX] / safe, s[..., _SY] / safe
    vx = np.maximum(s[..., _SXX] / safe - mx * mx, 0.0)
    vy = np.maximum(s[..., _SYY] / safe - my * my, 0.0)
    cov = np.where((vx > 0) & (vy > 0), s[..., _SXY] / safe - mx * my, 0.0)
    gap = mx - my + np.asarray(offset, dtype=np.float64)
    denom = vx + vy + gap * gap
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n > 0) & (denom > 0), 2.0 * cov / denom, 0.0)


@dataclass(frozen=True)
class VAStats:
    """Per-video sums: ``sums[v, d]`` = (n, Σx, Σy, Σx², Σy², Σxy) of video v, dimension d, with
    x = truth − ``shift[d, 0]`` and y = prediction − ``shift[d, 1]`` over its valid frames.

    ``weights`` (V,) or (B, V) pools videos with those multiplicities (bootstrap counts).
    """

    sums: np.ndarray  # (V, 2, 6) float64
    n_frames: np.ndarray  # (V,) frames valid in at least one dimension
    shift: np.ndarray  # (2, 2): per dimension, (truth shift, prediction shift)

    def pooled_sums(self, weights: ArrayLike | None = None) -> np.ndarray:
        """(2, 6) summed over videos, or (B, 2, 6) for a (B, V) weight matrix."""
        if weights is None:
            return self.sums.sum(axis=0)
        w = np.asarray(weights, dtype=np.float64)
        return np.einsum("...v,vdk->...dk", w, self.sums)

    def ccc(self, weights: ArrayLike | None = None) -> np.ndarray:
        """CCC per dimension: (2,), or (B, 2) for (B, V) weights."""
        return ccc_from_sums(self.pooled_sums(weights), self.shift[:, 0] - self.shift[:, 1])

    def p_va(self, weights: ArrayLike | None = None) -> np.ndarray | float:
        return self.ccc(weights).mean(axis=-1)

    def scores(self, weights: ArrayLike | None = None) -> VAScores:
        """The pooled figures (``weights``: one multiplicity per video, or None for once each)."""
        c = self.ccc(weights)
        pooled = self.pooled_sums(weights)
        w = np.ones(len(self.n_frames)) if weights is None else np.asarray(weights, float)
        return VAScores(
            ccc_valence=float(c[0]),
            ccc_arousal=float(c[1]),
            p_va=float(c.mean()),
            n_frames=int(round(float(w @ self.n_frames))),
            n_valid=(int(round(pooled[0, _N])), int(round(pooled[1, _N]))),
        )


def _as_pairs(truths: Sequence[ArrayLike], preds: Sequence[ArrayLike]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All frames as (N, 2) truth and predictions, with each video's frame count."""
    if len(truths) != len(preds):
        raise ValueError(f"{len(truths)} truth arrays but {len(preds)} prediction arrays")
    ts = [np.asarray(t, dtype=np.float64) for t in truths]
    ps = [np.asarray(p, dtype=np.float64) for p in preds]
    for v, (t, p) in enumerate(zip(ts, ps)):
        where = f" (video {v + 1})" if len(ts) > 1 else ""
        if t.ndim != 2 or t.shape[1] != 2:
            raise ValueError(f"VA truth must have shape (n, 2) (valence, arousal), got "
                             f"{t.shape}{where}")
        if p.shape != t.shape:
            raise ValueError(f"VA truth has shape {t.shape} but predictions {p.shape}{where}")
    lengths = np.array([t.shape[0] for t in ts], dtype=np.int64)
    empty = np.empty((0, 2))
    return np.concatenate(ts or [empty]), np.concatenate(ps or [empty]), lengths


def _refuse(kind: str, arr: np.ndarray, bad: np.ndarray, lengths: np.ndarray, why: str) -> None:
    """A ``ValueError`` naming the first bad value, its frame and (for several) its video."""
    i, d = np.argwhere(bad)[0]
    v = int(np.searchsorted(np.cumsum(lengths), i, side="right"))
    frame = int(i - (np.cumsum(lengths)[v - 1] if v else 0))
    where = f" (video {v + 1})" if lengths.size > 1 else ""
    raise ValueError(f"{kind} {VA_DIMENSIONS[d]} {float(arr[i, d])!r} at frame {frame + 1}"
                     f"{where} {why}")


def _lower_median(x: np.ndarray) -> float:
    """A value present in the data near its middle (0 when there is none)."""
    if x.size == 0:
        return 0.0
    k = (x.size - 1) // 2
    return float(np.partition(x, k)[k])


def va_stats(truths: Sequence[ArrayLike], preds: Sequence[ArrayLike]) -> VAStats:
    """Per-video sums of ``truths[v]`` against ``preds[v]``, each (n_v, 2) (valence, arousal).

    Raises ``ValueError`` for a truth value that is neither in [-1, 1] nor -5, for shapes that
    differ, and for a prediction that is not finite on a valid frame.
    """
    t, p, lengths = _as_pairs(truths, preds)
    valid = (t >= -1.0) & (t <= 1.0)
    bad = ~valid & (t != VA_INVALID)
    if bad.any():
        _refuse("truth", t, bad, lengths, f"is neither in [-1, 1] nor the invalid marker "
                f"{VA_INVALID:g}")
    odd = valid & ~np.isfinite(p)
    if odd.any():
        _refuse("predicted", p, odd, lengths, "is not a finite number")
    n_videos = lengths.size
    video = np.repeat(np.arange(n_videos), lengths)
    shift = np.zeros((2, 2))
    sums = np.zeros((n_videos, 2, 6))
    for d in range(2):
        m = valid[:, d]
        shift[d] = _lower_median(t[m, d]), _lower_median(p[m, d])
        x, y, v = t[m, d] - shift[d, 0], p[m, d] - shift[d, 1], video[m]
        for k, w in enumerate((None, x, y, x * x, y * y, x * y)):
            sums[:, d, k] = np.bincount(v, weights=w, minlength=n_videos)
    n_frames = np.bincount(video, weights=valid.any(axis=1), minlength=n_videos)
    return VAStats(sums, n_frames.astype(np.int64), shift)


def va_scores(truth: ArrayLike, pred: ArrayLike) -> VAScores:
    """P_VA and the two CCCs for pooled frames, truth and predictions (n, 2).

    >>> t = np.array([[0.1, 0.2], [0.5, -0.1], [-5, -5], [-0.3, 0.4]])
    >>> s = va_scores(t, t)
    >>> s.p_va, s.n_frames
    (1.0, 3)
    >>> va_scores(t, np.zeros((4, 2))).p_va  # a constant prediction
    0.0
    """
    return va_stats([truth], [pred]).scores()
