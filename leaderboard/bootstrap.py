"""Uncertainty of P_EXPR by resampling VIDEOS (frames of one video are far from independent).

A bootstrap replicate draws n videos with replacement; the pooled confusion matrix of the
replicate is the per-video matrices weighted by how often each was drawn, so every replicate is
one weighted sum (``einsum``) instead of a pass over millions of frames. Replicates run in blocks
to bound memory, and everything is seeded: the same inputs and seed give the same interval.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from harness.atomic import atomic_open
from harness.data.labels import NUM_CLASSES
from harness.errors import HarnessError, ReleaseFormatError
from harness.metrics import confusion_matrix, macro_f1_from_confusion

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
    """Write ``per_video_confusion.npz`` (names as fixed-width unicode, no pickle) atomically."""
    cms = np.asarray(cms, dtype=np.int64)
    if cms.shape != (len(names), NUM_CLASSES, NUM_CLASSES):
        raise HarnessError(f"{len(names)} names but matrices of shape {cms.shape}")
    width = max((len(n) for n in names), default=1)
    with atomic_open(path, "wb") as fh:
        np.savez(fh, names=np.array(list(names), dtype=f"<U{width}"), cms=cms)


def load_per_video_confusion(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Names and (n, 8, 8) int64 matrices from ``per_video_confusion.npz``."""
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
