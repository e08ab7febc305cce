"""Bias tuning: the fast class sweep and offsets that undo a bias."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.metrics import scores
from harness.postprocess.bias import OFFSET_GRID, _class_sweep, log_softmax, tune_bias


def test_class_sweep_matches_brute_force_argmax():
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 8, 1500)
    lp = log_softmax(np.eye(8)[truth] * 0.6 + rng.normal(size=(1500, 8)))
    bias = rng.normal(size=8) * 0.3
    for c in (0, 3, 7):
        fast = _class_sweep(lp, bias, truth, c, OFFSET_GRID)
        slow = []
        for g in OFFSET_GRID:
            b = bias.copy()
            b[c] = g
            slow.append(scores(truth, (lp + b).argmax(1)).macro_f1)
        np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_tuned_offsets_undo_a_bias_and_never_lose():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 8, 4000)
    x = np.eye(8)[truth] * 1.0 + rng.normal(size=(4000, 8))
    x[:, 7] += 1.5  # a model that says Other too often
    before = scores(truth, x.argmax(1)).macro_f1
    b = tune_bias(x, truth)
    after = scores(truth, (log_softmax(x) + b).argmax(1)).macro_f1
    assert after > before + 0.05 and b[7] < -0.5
    truth[::3] = -1  # invalid frames are ignored, not class 7
    assert tune_bias(x, truth).shape == (8,)
    with pytest.raises(HarnessError, match="no frame has a valid label"):
        tune_bias(x[:5], np.full(5, -1))


