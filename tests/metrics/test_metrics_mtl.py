"""P_MTL = P_VA + P_EXPR + P_AU, each over the images valid for that task, checked against an
independent computation of the three terms (CCC written out; scikit-learn's F1)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from harness.metrics.mtl import mtl_scores, mtl_stats


def reference_ccc(x: np.ndarray, y: np.ndarray) -> float:
    if x.size == 0:
        return 0.0
    mx, my = x.mean(), y.mean()
    denom = x.var() + y.var() + (mx - my) ** 2
    return 0.0 if denom == 0 else 2 * ((x - mx) * (y - my)).mean() / denom


def reference(t_va, p_va, t_ex, p_ex, t_au, p_au) -> tuple[float, float, float]:
    va = (t_va >= -1).all(axis=1)
    p_va_term = np.mean([reference_ccc(t_va[va, d], p_va[va, d]) for d in range(2)])
    ex = t_ex >= 0
    p_ex_term = f1_score(t_ex[ex], p_ex[ex], labels=list(range(8)), average="macro",
                         zero_division=0) if ex.any() else 0.0
    au = (t_au >= 0).all(axis=1)
    p_au_term = np.mean([f1_score(t_au[au, k], p_au[au, k], zero_division=0)
                         if au.any() else 0.0 for k in range(12)])
    return p_va_term, p_ex_term, p_au_term


@st.composite
def images(draw, max_size=80):
    n = draw(st.integers(1, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    t_va = np.round(rng.uniform(-1, 1, (n, 2)), 3)
    t_va[rng.random(n) < draw(st.sampled_from([0.0, 0.3, 1.0]))] = -5
    t_ex = rng.integers(0, 8, n)
    t_ex[rng.random(n) < draw(st.sampled_from([0.0, 0.4, 1.0]))] = -1
    t_au = (rng.random((n, 12)) < 0.3).astype(int)
    t_au[rng.random(n) < draw(st.sampled_from([0.0, 0.3, 1.0]))] = -1
    p_va = np.round(np.clip(t_va * 0.5 + rng.normal(0, 0.3, (n, 2)), -1, 1), 3)
    p_ex = np.where(rng.random(n) < 0.5, np.maximum(t_ex, 0), rng.integers(0, 8, n))
    p_au = (rng.random((n, 12)) < 0.3).astype(int)
    return t_va, p_va, t_ex, p_ex, t_au, p_au


@settings(max_examples=60, deadline=None)
@given(images())
def test_each_term_over_its_own_valid_images(data):
    s = mtl_scores(*data)
    want = reference(*data)
    assert (s.p_va, s.p_expr, s.p_au) == pytest.approx(want, abs=1e-9)
    assert s.p_mtl == pytest.approx(sum(want), abs=1e-9)
    assert s.columns() == {"P_MTL": s.p_mtl, "P_VA": s.p_va, "P_EXPR": s.p_expr,
                           "P_AU": s.p_au}


@settings(max_examples=25, deadline=None)
@given(st.lists(images(max_size=30), min_size=1, max_size=5),
       st.lists(st.integers(0, 3), min_size=5, max_size=5))
def test_per_video_statistics_pool_and_bootstrap(videos, weights):
    stats = mtl_stats(*([v[i] for v in videos] for i in range(6)))
    pooled = mtl_scores(*(np.concatenate([v[i] for v in videos]) for i in range(6)))
    assert stats.p_mtl() == pytest.approx(pooled.p_mtl, abs=1e-9)
    w = np.array(weights[:len(videos)])
    repeated = [videos[v] for v in range(len(videos)) for _ in range(w[v])]
    if not repeated:
        return
    want = mtl_scores(*(np.concatenate([v[i] for v in repeated]) for i in range(6)))
    assert stats.terms(w) == pytest.approx([want.p_va, want.p_expr, want.p_au], abs=1e-9)
    assert stats.p_mtl(np.stack([w, w])) == pytest.approx([want.p_mtl] * 2, abs=1e-9)
    assert stats.scores(w).p_mtl == pytest.approx(want.p_mtl, abs=1e-9)


def test_a_missing_task_leaves_only_its_own_term():
    t_va = np.array([[0.5, 0.5], [-5, -5], [-0.5, -0.5]])
    t_ex = np.array([-1, 3, 3])
    t_au = np.array([[-1] * 12, [1] * 12, [0] * 12])
    wrong_where_missing = mtl_scores(t_va, np.array([[0.5, 0.5], [1, -1], [-0.5, -0.5]]),
                                     t_ex, np.array([0, 3, 3]), t_au,
                                     np.array([[1] * 12, [1] * 12, [0] * 12]))
    assert wrong_where_missing.p_va == pytest.approx(1.0)
    assert wrong_where_missing.p_expr == pytest.approx(1 / 8)
    assert wrong_where_missing.p_au == pytest.approx(1.0)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="different numbers of images"):
        mtl_stats([np.zeros((2, 2))], [np.zeros((2, 2))], [np.zeros(3, int)],
                  [np.zeros(3, int)], [np.zeros((2, 12), int)], [np.zeros((2, 12), int)])
    with pytest.raises(ValueError, match="predicted label 9"):
        mtl_scores(np.zeros((1, 2)), np.zeros((1, 2)), np.zeros(1, int), np.array([9]),
                   np.zeros((1, 12), int), np.zeros((1, 12), int))


def test_the_task_turns_22_outputs_into_rows_and_scores_them():
    """``MtlTask.decisions``: clipped VA, argmax EXPR, AU logits against thresholds; its
    ``scores`` of per-video rows equal ``mtl_scores`` of the pooled arrays."""
    from harness.errors import HarnessError
    from harness.tasks import get_task

    task = get_task("mtl")
    rng = np.random.default_rng(0)
    out = rng.normal(0, 2, (40, 22))
    rows = task.decisions(out)
    assert rows.shape == (40, 15) and rows.dtype == np.float32
    assert rows[:, :2] == pytest.approx(np.clip(out[:, :2], -1, 1))
    assert rows[:, 2].tolist() == out[:, 2:10].argmax(axis=1).tolist()
    assert rows[:, 3:].tolist() == (out[:, 10:] >= 0).astype(int).tolist()
    high = task.decisions(out, np.full(12, 0.9))
    assert high[:, 3:].tolist() == (1 / (1 + np.exp(-out[:, 10:])) >= 0.9).astype(int).tolist()
    truth = np.concatenate([rng.uniform(-1, 1, (40, 2)), rng.integers(0, 8, (40, 1)),
                            rng.integers(0, 2, (40, 12))], axis=1).astype(np.float32)
    truth[::3, :2], truth[1::4, 2], truth[2::5, 3:] = -5, -1, -1
    s = task.scores([truth[:25], truth[25:]], [rows[:25], rows[25:]])
    want = mtl_scores(truth[:, :2], rows[:, :2], truth[:, 2].astype(int), rows[:, 2].astype(int),
                      truth[:, 3:].astype(int), rows[:, 3:].astype(int))
    assert s.p_mtl == pytest.approx(want.p_mtl, abs=1e-9)
    assert task.figures(s) == s.columns() and task.selection(s) == s.p_mtl
    assert list(task.figures(s)) == list(task.leaderboard_columns)
    with pytest.raises(HarnessError, match="22 wide"):
        task.decisions(out[:, :12])
