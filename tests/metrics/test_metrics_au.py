"""P_AU: binary F1 of each of the 12 AUs over pooled valid frames, their mean."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import f1_score

from harness.metrics import AU_NAMES, au_f1_from_counts, au_scores, au_stats

truth_rows = st.integers(1, 150).flatmap(
    lambda n: st.tuples(arrays(np.int8, (n, 12), elements=st.integers(0, 1)),
                        arrays(np.bool_, n), arrays(np.int8, (n, 12), elements=st.integers(0, 1))))


def sklearn_per_au(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """scikit-learn's binary F1 of each AU (its default zero_division: 0 with a warning), in
    one call: ``average=None`` on the multi-label matrix is the binary f1_score per column."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f1_score(truth, pred, average=None)


def test_multilabel_call_is_binary_f1_per_au():
    rng = np.random.default_rng(0)
    truth = (rng.random((300, 12)) < np.linspace(0.02, 0.6, 12)).astype(int)
    truth[:, 3] = 0  # an AU never positive
    pred = (rng.random((300, 12)) < 0.3).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        each = [f1_score(truth[:, k], pred[:, k]) for k in range(12)]
    assert np.allclose(sklearn_per_au(truth, pred), each)
    assert np.allclose(au_scores(truth, pred).per_au_f1, each, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(truth_rows, st.integers(0, 11))
def test_equals_sklearn_per_au(drawn, sparse_au):
    truth, invalid, pred = drawn
    truth = truth.copy()
    truth[:, sparse_au] = 0  # an AU never positive in truth (F1 0 unless... always 0)
    truth[invalid, np.arange(invalid.size)[invalid] % 12] = -1  # one -1 drops the whole frame
    s = au_scores(truth, pred)
    keep = ~invalid
    assert s.n_frames == int(keep.sum())
    if not keep.any():
        assert s.p_au == 0.0 and s.per_au_f1 == (0.0,) * 12
        return
    ref = sklearn_per_au(truth[keep], pred[keep])
    assert np.allclose(s.per_au_f1, ref, atol=1e-12)
    assert s.p_au == pytest.approx(ref.mean(), abs=1e-12)
    assert s.per_au_f1[sparse_au] == 0.0


@settings(max_examples=40, deadline=None)
@given(st.lists(truth_rows, min_size=1, max_size=5), st.lists(st.integers(0, 3), min_size=5,
                                                               max_size=5))
def test_per_video_counts_pool_and_weight(videos, weights):
    truths = [np.where(inv[:, None], -1, t) for t, inv, _ in videos]
    preds = [p for _, _, p in videos]
    stats = au_stats(truths, preds)
    assert stats.scores() == au_scores(np.concatenate(truths), np.concatenate(preds))
    w = np.array(weights[:len(videos)])
    rep = [v for v in range(len(videos)) for _ in range(w[v])]
    if rep:
        want = au_scores(np.concatenate([truths[v] for v in rep]),
                         np.concatenate([preds[v] for v in rep]))
        assert stats.scores(w) == want
        assert np.allclose(stats.p_au(np.stack([w, w])), want.p_au, atol=1e-12)


def test_edge_cases():
    truth = np.zeros((4, 12), dtype=int)
    truth[:, 0] = [1, 1, 0, 0]
    pred = np.zeros((4, 12), dtype=int)
    s = au_scores(truth, pred)
    # AU1 never predicted: F1 0; the other AUs have no positive anywhere: F1 0 (as sklearn)
    assert s.per_au_f1 == (0.0,) * 12 and s.counts[0] == (0, 0, 2)
    s = au_scores(truth, truth)
    assert s.per_au_f1[0] == 1.0 and s.p_au == pytest.approx(1 / 12)  # absent AUs count as 0
    s = au_scores(truth, np.ones((4, 12), dtype=bool))  # constant "all present"
    assert s.per_au_f1[0] == pytest.approx(2 * 2 / (2 * 2 + 2)) and s.per_au_f1[1] == 0.0
    empty = au_scores(np.full((2, 12), -1), np.ones((2, 12)))
    assert empty.n_frames == 0 and empty.p_au == 0.0
    partial = truth.copy()
    partial[0, 5] = -1  # a single -1: the whole frame leaves every AU's count
    assert au_scores(partial, truth).counts[0] == (1, 0, 0)
    assert au_f1_from_counts(np.zeros((12, 3))).tolist() == [0.0] * 12
    assert len(AU_NAMES) == 12 and AU_NAMES[-2:] == ("AU25", "AU26")


def test_refusals():
    t = np.zeros((2, 12), dtype=int)
    with pytest.raises(ValueError, match="truth AU4 2 at frame 1"):
        bad = t.copy()
        bad[0, 2] = 2
        au_scores(bad, t)
    with pytest.raises(ValueError, match="not a 0/1 decision"):
        au_scores(t, np.full((2, 12), 0.7))
    with pytest.raises(ValueError, match=r"\(n, 12\)"):
        au_scores(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="predictions"):
        au_scores(t, np.zeros((3, 12)))
    invalid = np.full((1, 12), -1)
    assert au_scores(invalid, np.full((1, 12), 0.5)).n_frames == 0  # masked: not checked
