"""Filters, ensembles and threshold tuning on VA values and AU logits (tiny hand-made arrays)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from harness.errors import HarnessError
from harness.postprocess.ensemble import combine
from harness.postprocess.filters import filter_video, smooth_outputs
from harness.postprocess.recipe import Choice, PostConfig, post_process
from harness.postprocess.spaces import output_space, sigmoid
from harness.postprocess.thresholds import (
    THRESHOLD_GRID,
    apply_thresholds,
    threshold_f1,
    tune_thresholds,
)
from harness.tasks import get_task
from tests.postprocess.frame_logits import outputs

VA, AU = output_space("va"), output_space("au")


def test_va_mean_is_the_plain_mean_of_values_and_shrinks_at_edges():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(30, 2)).astype(np.float32)
    got = filter_video("mean", x, window_s=1.0, fps=4.0, space=VA)  # half-width 2: 5 frames
    np.testing.assert_allclose(got[10], x[8:13].mean(0), atol=1e-6)
    np.testing.assert_allclose(got[0], x[0:3].mean(0), atol=1e-6)
    np.testing.assert_allclose(got[-1], x[-3:].mean(0), atol=1e-6)
    assert np.abs(filter_video("gaussian", x, 2.0, 4.0, space=VA)).max() <= 1.0


@pytest.mark.parametrize("method", ["mean", "median", "gaussian", "hamming"])
def test_constant_values_and_logits_are_kept(method):
    flat_va = np.tile(np.float32([0.3, -0.7]), (25, 1))
    np.testing.assert_allclose(filter_video(method, flat_va, 2.0, 30.0, space=VA), flat_va,
                               atol=1e-6)
    flat_au = np.tile(np.linspace(-3, 3, 12, dtype=np.float32), (25, 1))
    np.testing.assert_allclose(filter_video(method, flat_au, 2.0, 30.0, space=AU), flat_au,
                               atol=1e-4)


def test_au_mean_averages_each_aus_probability_and_returns_logits():
    rng = np.random.default_rng(1)
    x = rng.normal(scale=3, size=(20, 12)).astype(np.float32)
    got = filter_video("mean", x, window_s=1.0, fps=4.0, space=AU)
    np.testing.assert_allclose(sigmoid(got[10]), sigmoid(x[8:13]).mean(0), rtol=1e-5)
    # a one-frame positive spike among confident negatives is filtered away
    spike = np.full((9, 12), -4.0, np.float32)
    spike[4, 3] = 4.0
    assert (filter_video("median", spike, 1.0, 4.0, space=AU) < 0).all()


@pytest.mark.parametrize("space", [VA, AU])
def test_mode_is_refused_with_the_reason(space):
    with pytest.raises(HarnessError, match="does not apply to .*(continuous|yes/no)"):
        filter_video("mode", np.zeros((5, 2 if space is VA else 12), np.float32), 1.0, 30.0,
                     space=space)
    with pytest.raises(HarnessError, match="mode filter"):
        PostConfig(method="mode").check(get_task(space.task))


def test_post_config_refuses_what_does_not_apply_before_any_work():
    with pytest.raises(HarnessError, match="tune-thresholds"):
        PostConfig(tune_bias=True).check(get_task("au"))
    with pytest.raises(HarnessError, match="AU only"):
        PostConfig(tune_thresholds=True).check(get_task("va"))
    with pytest.raises(HarnessError, match="AU only"):
        PostConfig(tune_thresholds=True).check(get_task("expr"))
    with pytest.raises(HarnessError, match="mode filter"):
        PostConfig(sweep=True, methods=("mean", "mode")).check(get_task("va"))
    assert "mode" not in PostConfig(sweep=True).methods_for(VA)
    PostConfig(sweep=True).check(get_task("va"))
    PostConfig(method="mode", tune_bias=True, sweep=True).check(get_task("expr"))  # all apply


def test_ensembles_average_va_values_and_au_probabilities():
    a = outputs({"v": np.float32([[0.2, -0.4], [1.0, 0.0]])})
    b = outputs({"v": np.float32([[0.4, 0.0], [0.0, -1.0]])}, {"v": np.array([False, True])})
    got = combine([a, b], "mean", VA)
    np.testing.assert_allclose(got.logits, [[0.3, -0.2], [0.5, -0.5]], rtol=1e-6)
    assert got.imputed.tolist() == [False, True]
    la, lb = np.zeros((3, 12), np.float32), np.full((3, 12), 4.0, np.float32)
    got = combine([outputs({"v": la}), outputs({"v": lb})], "probs", AU)
    np.testing.assert_allclose(sigmoid(got.logits), (0.5 + sigmoid(4.0)) / 2, rtol=1e-5)
    mean_logits = combine([outputs({"v": la}), outputs({"v": lb})], "logits", AU)
    np.testing.assert_allclose(mean_logits.logits, 2.0)
    for space, how in ((VA, "vote"), (AU, "vote"), (VA, "probs")):
        with pytest.raises(HarnessError, match="does not apply"):
            combine([a, b] if space is VA else [outputs({"v": la})] * 2, how, space)


def _brute_force_f1(logits, truth, grid):
    keep = ~(truth < 0).any(axis=1)
    p = sigmoid(logits[keep])
    return np.array([[f1_score(truth[keep][:, j], p[:, j] >= t, zero_division=0)
                      for j in range(truth.shape[1])] for t in grid])


def test_threshold_f1_matches_scikit_learn_at_every_threshold():
    rng = np.random.default_rng(2)
    truth = (rng.random((500, 12)) < np.linspace(0.03, 0.6, 12)).astype(int)
    truth[rng.random(500) < 0.05] = -1  # invalid frames are left out whole
    truth[:, 5] = np.where(truth[:, 5] >= 0, 0, -1)  # an AU never present: F1 0 everywhere
    logits = (1.5 * truth - 1 + rng.normal(size=truth.shape)).astype(np.float32)
    grid = np.array([0.05, 0.2, 0.5, 0.73, 0.95])
    np.testing.assert_allclose(threshold_f1(logits, truth, grid),
                               _brute_force_f1(logits, truth, grid), atol=1e-12)
    t = tune_thresholds(logits, truth)
    assert t[5] == 0.5  # nothing to gain: the default stays
    best = _brute_force_f1(logits, truth, THRESHOLD_GRID).max(axis=0)
    per_au = np.array([_brute_force_f1(logits[:, [j]], truth[:, [j]], [t[j]])[0, 0]
                       for j in range(12)])
    np.testing.assert_allclose(per_au, best, atol=1e-12)  # each AU at its best threshold


def test_applied_thresholds_give_the_tuned_decisions_at_logit_zero():
    rng = np.random.default_rng(3)
    logits = rng.normal(scale=2, size=(400, 12))
    t = np.linspace(0.1, 0.9, 12)
    shifted = apply_thresholds(logits, t)
    assert ((shifted >= 0) == (sigmoid(logits) >= t)).mean() > 0.999  # float32 at the edge


def test_thresholds_tuned_out_of_fold_on_fold_sets_else_on_validation():
    rng = np.random.default_rng(4)
    names = [f"v{i}" for i in range(6)]
    truth = {n: (rng.random((40, 12)) < 0.2).astype(np.int8) for n in names}
    out = outputs({n: (2 * truth[n] - 2.5 + rng.normal(size=(40, 12))).astype(np.float32)
                   for n in names})
    cfg = PostConfig(tune_thresholds=True)
    one = post_process(cfg, out, None, truth, {}, space=AU)
    assert one.validation_tuned and one.choice.thresholds is not None
    assert one.choice.label() == "+thresholds"
    folds = {"fold1": names[:3], "fold2": names[3:]}
    oof = post_process(cfg, out, None, truth, {}, folds, space=AU)
    assert not oof.validation_tuned and set(oof.fold_choices) == set(folds)
    # fold1's names got the thresholds chosen on fold2's names only
    chosen = oof.fold_choices["fold1"].thresholds
    assert chosen == tuple(tune_thresholds(out.select(names[3:]).logits,
                                           np.concatenate([truth[n] for n in names[3:]])))
    np.testing.assert_array_equal(oof.val.select(names[:3]).logits,
                                  Choice(thresholds=chosen).apply(out.select(names[:3]), {})
                                  .logits)


def test_smoothing_values_keeps_names_offsets_and_flags():
    out = outputs({"a": np.zeros((5, 2), np.float32), "b": np.ones((7, 2), np.float32) * 0.5},
                  {"b": np.array([1, 0, 0, 0, 0, 0, 1], bool)})
    got = smooth_outputs(out, "hamming", 1.0, {"a": 30.0, "b": 10.0}, True, VA)
    assert got.names == out.names and (got.offsets == out.offsets).all()
    np.testing.assert_allclose(got.logits[5:], 0.5, atol=1e-6)
    assert (got.imputed == out.imputed).all()


def test_va_sweep_scores_every_setting_by_p_va_on_any_subset_of_videos():
    from harness.postprocess.sweep import run_sweep

    va = get_task("va")
    rng = np.random.default_rng(5)
    names = [f"v{i}" for i in range(4)]
    t = np.linspace(0, 6, 90)
    truth = {n: np.stack([np.sin(t + i), np.cos(t / 2 + i)], 1).astype(np.float32) * 0.8
             for i, n in enumerate(names)}
    truth["v3"][:5] = -5  # invalid frames are left out
    noisy = outputs({n: np.clip(truth[n] + rng.normal(scale=0.3, size=(90, 2)), -1, 1)
                     .astype(np.float32) for n in names})
    fps = {n: 30.0 for n in names}
    sweep = run_sweep(noisy, truth, fps, ["mean", "median"], [0.1, 0.5], space=VA, task=va)
    raw, grid = sweep.scores()
    assert grid.shape == (2, 2) and grid.max() > raw  # smoothing i.i.d. noise helps
    assert sweep.best()[0] is not None and sweep.table_csv().startswith("method,window_s,P_VA")
    keep = np.array([True, False, True, False])
    smoothed = smooth_outputs(noisy, "median", 0.5, fps, space=VA).select(["v0", "v2"])
    expected = va.scores([truth["v0"], truth["v2"]],
                         list(smoothed.decisions(va).values())).p_va
    assert sweep.scores(keep)[1][1, 1] == pytest.approx(expected)
