"""Post-processing filters on known inputs: window geometry, edges, imputed frames, chunks."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.postprocess import (
    FILTERS,
    filter_video,
    smooth_outputs,
)
from harness.postprocess import filters as filters_mod
from harness.postprocess.filters import half_width
from tests.postprocess.frame_logits import one_hot_logits, outputs


def test_window_seconds_become_frames_with_each_videos_fps():
    assert [half_width(1.0, fps) for fps in (7.5, 25, 29.97, 30, 60)] == [4, 13, 15, 15, 30]
    # the same 15-frame spike in two videos: 1 s of median removes it at 40 fps (41 frames)
    # but not at 10 fps (11 frames); the filter follows each video's own fps
    labels = np.zeros(200, int)
    labels[90:105] = 3
    out = outputs({"slow": one_hot_logits(labels), "fast": one_hot_logits(labels)})
    smoothed = smooth_outputs(out, "median", 1.0, {"slow": 10.0, "fast": 40.0}).labels()
    assert (smoothed["fast"] == 0).all()
    assert (smoothed["slow"][92:103] == 3).all()
    with pytest.raises(HarnessError, match="non-negative"):
        half_width(-1, 30)


def test_box_mean_equals_the_hand_computed_mean_and_shrinks_at_edges():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 8)).astype(np.float32)
    got = np.exp(filter_video("mean", x, window_s=1.0, fps=4.0))  # half-width 2: 5 frames
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(got[10], p[8:13].mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got[0], p[0:3].mean(0), rtol=1e-4, atol=1e-6)  # frames 1..3 only
    np.testing.assert_allclose(got[-1], p[-3:].mean(0), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", ["mean", "median", "gaussian", "hamming", "mode"])
def test_edges_never_wrap_and_constant_input_is_kept(method):
    labels = np.array([1] * 20 + [5] * 20)  # first half Anger, second half Sadness
    got = filter_video(method, one_hot_logits(labels), window_s=0.5, fps=30.0).argmax(1)
    assert (got[:5] == 1).all() and (got[-5:] == 5).all()  # the other end never leaks in
    flat = filter_video(method, one_hot_logits(np.full(25, 6)), window_s=2.0, fps=30.0)
    assert (flat.argmax(1) == 6).all()
    assert np.allclose(flat, flat[0], atol=1e-5)  # the same value at edges and inside


def test_excluded_imputed_frames_do_not_vote_but_get_a_value():
    labels = np.zeros(40, int)
    labels[10:25] = 7  # a run of copied faces that all say Other
    imputed = np.zeros(40, bool)
    imputed[10:25] = True
    x = one_hot_logits(labels)
    for method in ("mean", "median", "mode"):
        kept = filter_video(method, x, 0.5, 30.0, use=~imputed).argmax(1)
        assert (kept == 0).all(), method  # only observed (Neutral) frames enter the windows
        plain = filter_video(method, x, 0.5, 30.0).argmax(1)
        assert (plain[15:20] == 7).all(), method
    everything_imputed = filter_video("median", x, 1.0, 30.0, use=np.zeros(40, bool))
    np.testing.assert_allclose(everything_imputed, filter_video("median", x, 1.0, 30.0))


def test_median_in_chunks_equals_one_pass(monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(57, 8)).astype(np.float32)
    use = rng.random(57) > 0.3
    whole = filter_video("median", x, 0.5, 30.0, use)
    monkeypatch.setattr(filters_mod, "_MEDIAN_CHUNK", 8 * 16 * 3)  # 3 frames per chunk
    np.testing.assert_array_equal(filter_video("median", x, 0.5, 30.0, use), whole)
    i = 20  # one frame by hand: 0.5 s at 30 fps is 7.5 -> 8 frames each side
    sel = [j for j in range(12, 29) if use[j]]
    np.testing.assert_allclose(whole[i], np.median(x[sel], axis=0), rtol=1e-6)


def test_filters_are_one_registry_with_did_you_mean():
    assert {"mean", "median", "gaussian", "hamming", "mode"} <= set(FILTERS.names())
    with pytest.raises(HarnessError, match="did you mean 'median'"):
        filter_video("medain", np.zeros((3, 8)), 1.0, 30.0)


