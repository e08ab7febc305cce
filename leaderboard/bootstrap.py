"""Uncertainty of a pooled figure (P_EXPR, P_VA, P_AU) by resampling VIDEOS (frames of one
video are far from independent).

A bootstrap replicate draws n videos with replacement; the pooled confusion matrix of the
replicate is the per-video matrices weighted by how often each was drawn, so every replicate is
one weighted sum (``einsum``) instead of a pass over millions of frames. Replicates run in blocks
to bound memory, and everything is seeded: the same inputs and seed give the same interval.
The per-video matrices are each run's own (``harness.records``: ``RunFolder.per_video_confusion``);
VA and AU resample their per-video sums and counts the same way (``metric_ci``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from harness.data.labels import NUM_CLASSES
from harness.errors import HarnessError
from harness.metrics import macro_f1_from_confusion

_BLOCK = 512  # replicates per block: (512, n) weights and (512, 8, 8) pooled matrices


def _check_cms(cms: np.ndarray, what: str = "per_video_cms") -> np.ndarray:
    cms = np.asarray(cms)
    if cms.ndim != 3 or cms.shape[1:] != (NUM_CLASSES, NUM_CLASSES):
        raise HarnessError(f"{what} must have shape (n_videos, 8, 8), got {cms.shape}")
    if cms.shape[0] == 0:
        raise HarnessError(f"{what} holds no videos")
    return cms.astype(np.float64)


def _resample_counts(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Blocks of (b, n) draw counts: how often each video is in each replicate."""
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, _BLOCK):
        b = min(_BLOCK, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        flat = (np.arange(b)[:, None] * n + idx).ravel()
        yield np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def bootstrap_macro_f1(per_video_cms: np.ndarray, n_boot: int = 2000, seed: int = 0
                       ) -> np.ndarray:
    """Macro F1 of each of ``n_boot`` video-resampled replicates."""
    cms = _check_cms(per_video_cms)
    out = [macro_f1_from_confusion(np.einsum("bv,vij->bij", w, cms))
           for w in _resample_counts(cms.shape[0], n_boot, seed)]
    return np.concatenate(out)


def bootstrap_ci(per_video_cms: np.ndarray, n_boot: int = 2000, seed: int = 0,
                 alpha: float = 0.05) -> tuple[float, float]:
    """Percentile interval (1-alpha) of pooled macro F1 over videos resampled with replacement.

    >>> cms = np.stack([np.eye(8, dtype=int) * 5 + 1 for _ in range(10)])
    >>> low, high = bootstrap_ci(cms, n_boot=200)
    >>> low <= float(macro_f1_from_confusion(cms.sum(0))) <= high
    True
    """
    if not 0 < alpha < 1:
        raise HarnessError(f"alpha must be in (0, 1), got {alpha}")
    stats = bootstrap_macro_f1(per_video_cms, n_boot, seed)
    low, high = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def paired_bootstrap(cms_a: np.ndarray, cms_b: np.ndarray, n_boot: int = 2000, seed: int = 0,
                     *, names_a: Sequence[str] | None = None,
                     names_b: Sequence[str] | None = None) -> tuple[float, float]:
    """Macro F1 of A minus B, and a two-sided bootstrap p-value for "no difference".

    Both models are evaluated on the SAME resampled videos in every replicate, so video
    difficulty cancels out. The p-value is twice the smaller tail of the replicate differences
    around 0 (with the +1 correction, so it is never exactly 0), capped at 1. Row k of both
    stacks must be the same video: pass ``names_a``/``names_b`` to have that checked.
    """
    if names_a is not None and names_b is not None and list(names_a) != list(names_b):
        diff = next((i for i, (x, y) in enumerate(zip(names_a, names_b)) if x != y),
                    min(len(names_a), len(names_b)))
        raise HarnessError(f"the two runs do not list the same videos in the same order "
                           f"(first difference at position {diff})")
    a, b = _check_cms(cms_a, "cms_a"), _check_cms(cms_b, "cms_b")
    if a.shape != b.shape:
        raise HarnessError(f"cms_a {a.shape} and cms_b {b.shape} cover different video counts")
    delta = float(macro_f1_from_confusion(a.sum(0)) - macro_f1_from_confusion(b.sum(0)))
    diffs = np.concatenate([
        macro_f1_from_confusion(np.einsum("bv,vij->bij", w, a))
        - macro_f1_from_confusion(np.einsum("bv,vij->bij", w, b))
        for w in _resample_counts(a.shape[0], n_boot, seed)])
    tol = 1e-12  # identical models give differences of exactly 0 up to rounding
    below = (np.count_nonzero(diffs <= tol) + 1) / (n_boot + 1)
    above = (np.count_nonzero(diffs >= -tol) + 1) / (n_boot + 1)
    return delta, float(min(1.0, 2.0 * min(below, above)))


def bootstrap_metric(metric: Callable[[np.ndarray], np.ndarray], n_videos: int,
                     n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Any pooled figure of ``n_boot`` video-resampled replicates: ``metric`` maps (b, V)
    weights (how often each video is drawn) to the b replicates' figures (VA's P_VA from its
    per-video sums, AU's P_AU from its per-video counts). The same draws as for EXPR."""
    if n_videos <= 0:
        raise HarnessError("the per-video statistics hold no videos")
    return np.concatenate([np.asarray(metric(w), np.float64).reshape(-1)
                           for w in _resample_counts(n_videos, n_boot, seed)])


def metric_ci(metric: Callable[[np.ndarray], np.ndarray], n_videos: int, n_boot: int = 2000,
              seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile interval (1-alpha) of a pooled figure over videos resampled with replacement.

    >>> from harness.metrics.au import au_stats
    >>> rng = np.random.default_rng(0)
    >>> t = [(rng.random((50, 12)) < 0.3).astype(int) for _ in range(8)]
    >>> stats = au_stats(t, [np.where(rng.random(x.shape) < 0.8, x, 1 - x) for x in t])
    >>> low, high = metric_ci(stats.p_au, 8, n_boot=300)
    >>> bool(low <= stats.p_au() <= high)
    True
    """
    if not 0 < alpha < 1:
        raise HarnessError(f"alpha must be in (0, 1), got {alpha}")
    stats = bootstrap_metric(metric, n_videos, n_boot, seed)
    low, high = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def paired_metric_bootstrap(metric_a: Callable[[np.ndarray], np.ndarray],
                            metric_b: Callable[[np.ndarray], np.ndarray], n_videos: int,
                            n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Figure of A minus B on the same videos, and the two-sided p-value of
    ``paired_bootstrap`` (same replicates, same +1 correction), for any pooled figure."""
    ones = np.ones((1, n_videos))
    delta = float(np.asarray(metric_a(ones)).reshape(-1)[0]
                  - np.asarray(metric_b(ones)).reshape(-1)[0])
    diffs = bootstrap_metric(lambda w: np.asarray(metric_a(w)) - np.asarray(metric_b(w)),
                             n_videos, n_boot, seed)
    tol = 1e-12
    below = (np.count_nonzero(diffs <= tol) + 1) / (n_boot + 1)
    above = (np.count_nonzero(diffs >= -tol) + 1) / (n_boot + 1)
    return delta, float(min(1.0, 2.0 * min(below, above)))
