"""P_VA: CCC per dimension (population variances) over pooled valid frames, their mean."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.metrics import VA_INVALID, ccc_from_sums, va_scores, va_stats

# values on a 1e-3 grid as the release writes them (3-6 decimals), -5 for invalid frames
value = st.integers(-1000, 1000).map(lambda k: k / 1000)
truth_value = st.one_of(value, value, value, st.just(VA_INVALID))
frame = st.tuples(truth_value, truth_value, value, value)


def reference_ccc(x: np.ndarray, y: np.ndarray) -> float:
    """The formula written out (aff-wild2-tasks.md §2): two passes, ddof = 0 everywhere."""
    if x.size == 0:
        return 0.0
    mx, my = x.mean(), y.mean()
    sxy = ((x - mx) * (y - my)).mean()
    denom = x.var(ddof=0) + y.var(ddof=0) + (mx - my) ** 2
    return 0.0 if denom == 0 else 2 * sxy / denom


def _split(rows):
    a = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return a[:, :2], a[:, 2:]


@settings(max_examples=100, deadline=None)
@given(st.lists(frame, min_size=1, max_size=200))
def test_equals_formula_written_out(rows):
    truth, pred = _split(rows)
    s = va_scores(truth, pred)
    for d, got in enumerate(s.ccc):
        keep = truth[:, d] != VA_INVALID
        assert got == pytest.approx(reference_ccc(truth[keep, d], pred[keep, d]), abs=1e-9)
        assert s.n_valid[d] == int(keep.sum())
    assert s.p_va == pytest.approx((s.ccc_valence + s.ccc_arousal) / 2, abs=1e-15)
    assert s.n_frames == int((truth != VA_INVALID).any(axis=1).sum())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(frame, min_size=0, max_size=40), min_size=1, max_size=6),
       st.lists(st.integers(0, 3), min_size=6, max_size=6))
def test_per_video_sums_pool_and_weight(videos, weights):
    """Summed per-video statistics give the pooled CCC; weights repeat videos (bootstrap)."""
    pairs = [_split(v) for v in videos]
    stats = va_stats([t for t, _ in pairs], [p for _, p in pairs])
    pooled = va_scores(np.concatenate([t for t, _ in pairs]),
                       np.concatenate([p for _, p in pairs]))
    assert np.allclose(stats.ccc(), pooled.ccc, atol=1e-9)
    w = np.array(weights[:len(pairs)])
    repeated = [pairs[v] for v in range(len(pairs)) for _ in range(w[v])]
    want = va_scores(np.concatenate([t for t, _ in repeated] or [np.empty((0, 2))]),
                     np.concatenate([p for _, p in repeated] or [np.empty((0, 2))]))
    assert np.allclose(stats.ccc(w), want.ccc, atol=1e-9)
    assert np.allclose(stats.p_va(np.stack([w, w])), [want.p_va] * 2, atol=1e-9)
    assert stats.scores(w).n_frames == want.n_frames


def test_population_variance_not_sample():
    # x = [0, 1], y = [0, 2]: ddof=0 gives 2*0.5/(0.25+1+0.25) = 2/3; ddof=1 would give 0.5
    s = va_scores(np.array([[0.0, 0.0], [1.0, 1.0]]) / 2, np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert s.ccc_valence == pytest.approx(2 / 3) and s.p_va == pytest.approx(2 / 3)


def test_invalid_frames_masked_per_dimension():
    truth = np.array([[0.5, -5], [-0.5, 0.2], [0.1, -0.2], [-5, 0.7]])
    pred = np.array([[0.5, 99.0], [-0.5, 0.2], [0.1, -0.2], [np.nan, 0.7]])
    s = va_scores(truth, pred)  # anything on a masked frame, even NaN, is ignored
    assert s.ccc == (1.0, 1.0) and s.n_valid == (3, 3) and s.n_frames == 4


def test_edge_cases_score_zero():
    truth = np.array([[0.1, 0.4], [0.3, -0.2], [-0.6, 0.9]])
    assert va_scores(truth, np.full((3, 2), 0.25)).ccc == (0.0, 0.0)  # constant prediction
    same = np.full((3, 2), 0.3)
    assert va_scores(same, same).ccc == (0.0, 0.0)  # both constant and equal: 0/0 -> 0
    none = va_scores(np.full((2, 2), VA_INVALID), np.zeros((2, 2)))  # no valid frame
    assert none.ccc == (0.0, 0.0) and none.n_frames == 0 and none.n_valid == (0, 0)
    one = va_scores(np.array([[0.2, -5.0]]), np.array([[0.2, 0.0]]))  # N < 2
    assert one.ccc == (0.0, 0.0) and one.n_valid == (1, 0)
    assert va_scores(truth, -truth).p_va < 0  # CCC can be negative: no clipping
    assert ccc_from_sums(np.zeros(6)) == 0.0


def test_nearly_constant_series_keep_their_precision():
    x = 0.5 + np.array([0.0, 1e-9, 2e-9, 0.0])
    got = va_scores(np.stack([x, x], 1), np.stack([x, x[::-1]], 1))
    assert got.ccc_valence == pytest.approx(1.0, abs=1e-9)
    assert got.ccc_arousal == pytest.approx(reference_ccc(x, x[::-1]), abs=1e-6)


def test_refusals():
    with pytest.raises(ValueError, match="truth arousal 1.5 at frame 2"):
        va_scores(np.array([[0, 0], [0, 1.5]]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="neither in"):
        va_scores(np.array([[-1, np.nan]]), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="predicted valence nan at frame 1"):
        va_scores(np.zeros((1, 2)), np.array([[np.nan, 0]]))
    with pytest.raises(ValueError, match="shape"):
        va_scores(np.zeros((3, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        va_scores(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="video 2"):
        va_stats([np.zeros((1, 2)), np.full((1, 2), 3.0)], [np.zeros((1, 2))] * 2)
