"""The challenge metrics over pooled frames (full: 1 M frames; target < 0.1 s for P_EXPR)."""

from __future__ import annotations

import numpy as np

from harness.metrics import au_scores, scores, va_stats


def test_scores_pooled_frames(benchmark, sizes):
    rng = np.random.default_rng(0)
    truth = rng.integers(-1, 8, sizes.metric_frames).astype(np.int8)
    pred = rng.integers(0, 8, sizes.metric_frames).astype(np.int64)
    result = benchmark(scores, truth, pred)
    assert result.n_frames == int((truth >= 0).sum())
    assert 0.0 < result.macro_f1 < 0.25  # random guesses over 8 classes


def test_va_per_video_stats(benchmark, sizes):
    """P_VA from per-video sums (what the bootstrap needs) over ~160 videos."""
    rng = np.random.default_rng(0)
    n = sizes.metric_frames
    truth = rng.uniform(-1, 1, (n, 2))
    truth[rng.random(n) < 0.05] = -5.0
    pred = np.clip(0.5 * truth + rng.normal(0, 0.3, (n, 2)), -1, 1)
    cuts = np.sort(rng.choice(n, 160, replace=False))
    stats = benchmark(va_stats, np.split(truth, cuts), np.split(pred, cuts))
    assert stats.sums.shape == (161, 2, 6)
    assert 0.3 < float(stats.p_va()) < 0.9


def test_au_scores_pooled_frames(benchmark, sizes):
    rng = np.random.default_rng(0)
    n = sizes.metric_frames
    truth = (rng.random((n, 12)) < 0.2).astype(np.int8)
    truth[rng.random(n) < 0.05] = -1
    pred = (rng.random((n, 12)) < 0.2).astype(np.int8)
    result = benchmark(au_scores, truth, pred)
    assert result.n_frames == int((truth[:, 0] >= 0).sum())
    assert 0.1 < result.p_au < 0.3  # random decisions at the positive rate
