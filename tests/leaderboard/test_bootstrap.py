"""Bootstraps over videos: intervals and paired differences, seeded and checked."""

from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.metrics import macro_f1_from_confusion
from leaderboard import bootstrap_ci, paired_bootstrap
from tests.leaderboard.stores import video_cms


def test_bootstrap_ci_contains_estimate_deterministic_and_narrows():
    cms = video_cms(20, 0.5, seed=0)
    point = float(macro_f1_from_confusion(cms.sum(0)))
    low, high = bootstrap_ci(cms, n_boot=1000, seed=3)
    assert low < point < high
    assert bootstrap_ci(cms, n_boot=1000, seed=3) == (low, high)
    assert bootstrap_ci(cms, n_boot=1000, seed=4) != (low, high)
    many = video_cms(200, 0.5, seed=1)
    low2, high2 = bootstrap_ci(many, n_boot=1000, seed=3)
    assert high2 - low2 < 0.6 * (high - low)


def test_paired_bootstrap():
    cms_b = video_cms(30, 0.3, seed=5)
    cms_a = video_cms(30, 0.6, seed=5)  # same truth, more right answers
    delta, p = paired_bootstrap(cms_a, cms_b, n_boot=1000, seed=0)
    assert delta > 0.1 and p < 0.01
    delta, p = paired_bootstrap(cms_b, cms_b, n_boot=1000, seed=0)
    assert delta == 0.0 and p == 1.0
    names = [f"v{i}" for i in range(30)]
    with pytest.raises(HarnessError, match="same videos"):
        paired_bootstrap(cms_a, cms_b, names_a=names, names_b=names[::-1])
    with pytest.raises(HarnessError, match="different video counts"):
        paired_bootstrap(cms_a, cms_b[:10])
