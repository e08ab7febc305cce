"""Post-processing: filters on known inputs, bias tuning, fold bookkeeping, derived runs."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from harness.data.release import load_release
from harness.data.splits import get_split
from harness.errors import HarnessError
from harness.metrics import scores
from harness.postprocess import (
    FILTERS,
    OOF_SPLIT,
    PostConfig,
    TimelineConfig,
    Where,
    ensemble,
    filter_video,
    smooth,
    smooth_outputs,
)
from harness.postprocess import filters as filters_mod
from harness.postprocess import recipe as recipe_mod
from harness.postprocess.bias import OFFSET_GRID, _class_sweep, log_softmax, tune_bias
from harness.postprocess.filters import half_width
from harness.records import (
    FrameOutputs,
    RunFolder,
    RunInfo,
    evaluate,
    finish,
    read_results,
    store_path,
)
from tests.test_cli import harness


def one_hot_logits(labels, scale: float = 4.0) -> np.ndarray:
    return (np.eye(8, dtype=np.float32)[np.asarray(labels)] * scale).astype(np.float32)


def outputs(videos: dict[str, np.ndarray], imputed: dict[str, np.ndarray] | None = None
            ) -> FrameOutputs:
    names = tuple(videos)
    sizes = [len(videos[n]) for n in names]
    flags = [np.asarray((imputed or {}).get(n, np.zeros(s, bool))) for n, s in zip(names, sizes)]
    return FrameOutputs(names, np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
                        np.concatenate([videos[n] for n in names]).astype(np.float32),
                        np.concatenate(flags))


# --------------------------------------------------------------------------- filters

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


# --------------------------------------------------------------------------- bias

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


# --------------------------------------------------------------------------- out of fold

def test_out_of_fold_choices_never_see_the_held_out_fold(monkeypatch):
    rng = np.random.default_rng(4)
    names = [f"v{i}" for i in range(6)]
    truth = {n: rng.integers(0, 8, 50) for n in names}
    val = outputs({n: one_hot_logits(truth[n], 1.0) + rng.normal(size=(50, 8)) for n in names})
    folds = {"fold1": ("v0", "v1"), "fold2": ("v2",), "fold3": ("v3", "v4"), "fold4": ("v5",)}
    seen: list[tuple[str, ...]] = []
    real = recipe_mod.choose

    def spy(cfg, v, *args):
        seen.append(v.names)
        return real(cfg, v, *args)

    monkeypatch.setattr(recipe_mod, "choose", spy)
    cfg = PostConfig(sweep=True, methods=("median", "mean"), windows=(0.2, 1.0), tune_bias=True)
    done = recipe_mod.post_process(cfg, val, None, truth, dict.fromkeys(names, 25.0), folds,
                                   quiet=True)
    assert seen[0] == tuple(names)  # the test choice: every out-of-fold name
    for (fold, held), tuned_on in zip(folds.items(), seen[1:]):
        assert not set(held) & set(tuned_on) and set(held) | set(tuned_on) == set(names), fold
    assert set(done.fold_choices) == set(folds) and not done.validation_tuned
    for fold, held in folds.items():  # each fold's rows are its own choice applied to it
        mine = done.fold_choices[fold].apply(val.select(list(held)), dict.fromkeys(names, 25.0))
        np.testing.assert_array_equal(done.val.select(list(held)).logits, mine.logits)
    same_split = recipe_mod.post_process(cfg, val, None, truth, dict.fromkeys(names, 25.0),
                                         None, quiet=True)
    assert same_split.validation_tuned and not same_split.fold_choices


# --------------------------------------------------------------------------- derived runs

def fake_run(workdir: Path, release, split: str, baseline: str, seed: int, *,
             noise: float = 1.2, logits: bool = True, recipe: int = 0) -> RunFolder:
    """A finished trained-like run folder whose logits are noisy truth (test: hidden truth)."""
    from harness.postprocess.comparison import hidden_test_truth

    rng = np.random.default_rng(seed)
    sp = get_split(release, split)
    folder = RunFolder.create(workdir, f"{baseline}-{split}-{seed}")
    folder.write_config({"baseline": baseline, "split": split, "train": {"lr": recipe}})
    folder.write_split(sp.to_dict())
    hidden = hidden_test_truth(release)
    labels = {}
    for part, names, truth_of in (("val", sp.val, release.labels),
                                  ("test", release.template.names, hidden.__getitem__)):
        frames = {n: np.clip(truth_of(n), 0, 7) for n in names}
        out = outputs({n: one_hot_logits(t, 1.0) + rng.normal(0, noise, (t.size, 8))
                       for n, t in frames.items()},
                      {n: rng.random(t.size) < 0.1 for n, t in frames.items()})
        labels[part] = folder.write_outputs(part, out)
    if not logits:
        for f in (folder.path / "logits").iterdir():
            f.unlink()
    final = evaluate(folder, {n: release.labels(n) for n in sp.val}, labels["val"], "x")
    finish(folder, RunInfo(baseline=baseline, split=sp.name, dataset=release.dataset,
                           data_fingerprint=release.fingerprint, features={"face": "light"}),
           final, workdir)
    return folder


@pytest.fixture
def where(tmp_path, synth_release):
    return Where(workdir=tmp_path / "work", release=synth_release,
                 timelines=TimelineConfig(val=True, test=False), quiet=True)


def test_smoothed_run_is_a_derived_run_with_its_own_row(where, synth_release):
    src = fake_run(where.workdir, synth_release, "official", "fake", 0, noise=2.0)
    done = smooth(src.run_id, PostConfig(method="median", window=1.7), where)
    f = done.folder
    assert done.label == "fake+median(1.7s)" and done.split == "official"
    assert f.is_finished and f.has_outputs("test") and f.has_logits("val")
    info, cfg = f.info(), f.config()
    assert info.kind == "derived" and info.sources[0].run_id == src.run_id
    assert cfg["sources"] == [src.run_id] and cfg["post"]["method"] == "median"
    assert not info.validation_tuned
    for n in get_split(synth_release, "official").val:
        assert f.timeline_path("val", n).is_file()
    assert (f.path / "confusion.png").is_file() and (f.path / "per_class_f1.png").is_file()
    rows = read_results(store_path(where.workdir), baseline="fake+median(1.7s)")
    assert len(rows) == 1 and rows[0].extra["kind"] == "derived"
    assert done.scores.macro_f1 > src.metrics().macro_f1  # frame noise is what a filter removes
    expected = smooth_outputs(src.outputs("test"), "median", 1.7,
                              {n: synth_release.fps(n) for n in synth_release.template.names})
    np.testing.assert_allclose(f.outputs("test").logits, expected.logits, atol=1e-2)


def test_sweep_and_bias_are_marked_validation_tuned(where, synth_release):
    src = fake_run(where.workdir, synth_release, "official", "fake", 1, noise=2.0)
    done = smooth(src.run_id, PostConfig(sweep=True, methods=("mean", "median"),
                                         windows=(0.5, 2.0), tune_bias=True), where)
    assert done.label.endswith("+bias[val-tuned]") and done.folder.info().validation_tuned
    table, plot = done.folder.sweep_files
    assert plot.is_file() and table.read_text().splitlines()[0] == "method,window_s,macro_f1"
    assert len(table.read_text().splitlines()) == 1 + 1 + 4
    assert done.outcome.choice.bias is not None


def test_runs_without_logits_ask_for_a_rerun(where, synth_release):
    src = fake_run(where.workdir, synth_release, "official", "old", 2, logits=False)
    with pytest.raises(HarnessError, match="re-run it to enable post-processing"):
        smooth(src.run_id, PostConfig(method="mean"), where)


def test_fold_ensemble_pools_out_of_fold_and_averages_test(where, synth_release):
    folds = [fake_run(where.workdir, synth_release, f"fold{k}", "fake", 10 + k)
             for k in range(1, 6)]
    fake_run(where.workdir, synth_release, "fold1", "fake", 99, recipe=1)  # newer, but alone
    done = ensemble(baselines=["fake"], split="all", where=where)
    assert done.label == "ensemble(fake x5 folds, OOF)" and done.split == OOF_SPLIT
    val = done.folder.outputs("val")
    everyone = sorted(set(synth_release.train) | set(synth_release.val))
    assert list(val.names) == everyone
    for src in folds:  # each name comes from the fold model that held it out
        mine = src.outputs("val")
        np.testing.assert_array_equal(val.select(list(mine.names)).logits, mine.logits)
    mean_test = np.mean([s.outputs("test").logits for s in folds], axis=0)
    np.testing.assert_allclose(done.folder.outputs("test").logits, mean_test, atol=2e-3)
    labelled = sum(int((synth_release.labels(n) >= 0).sum()) for n in everyone)
    assert done.scores.n_frames == labelled
    split = done.folder.split()
    assert split["name"] == OOF_SPLIT and sorted(split["folds"]) == [f"fold{k}" for k in
                                                                      range(1, 6)]
    assert "out-of-fold" in done.folder.info().validation
    # smoothing the cv-oof run later still tunes out of fold
    again = smooth(done.folder.run_id, PostConfig(tune_bias=True), where)
    assert again.label.endswith("+bias(oof)") and not again.outcome.validation_tuned
    assert set(again.outcome.fold_choices) == set(split["folds"])


def test_ensemble_refuses_mixed_or_incomplete_sets(where, synth_release):
    a = fake_run(where.workdir, synth_release, "official", "fake", 20)
    b = fake_run(where.workdir, synth_release, "fold1", "fake", 21)
    with pytest.raises(HarnessError, match="mix splits"):
        ensemble([a.run_id, b.run_id], where=where)
    c = fake_run(where.workdir, synth_release, "fold2", "fake", 22)
    with pytest.raises(HarnessError, match="missing: fold3"):
        ensemble([b.run_id, c.run_id], where=where)
    with pytest.raises(HarnessError, match="two or more runs"):
        ensemble([a.run_id], where=where)


def test_ensemble_refuses_a_run_given_twice(where, synth_release):
    a = fake_run(where.workdir, synth_release, "official", "fake", 23)
    with pytest.raises(HarnessError, match="given twice"):
        ensemble([a.run_id, str(a.path)], where=where)


@pytest.mark.parametrize("file", ["logits/val.npz", "metrics.json", "run.json",
                                  "checkpoint.pt"])
def test_a_damaged_run_file_is_an_error_naming_it(where, synth_release, file):
    """A run folder copied in part or edited by hand: one error naming the file, no traceback."""
    src = fake_run(where.workdir, synth_release, "official", "fake", 24)
    src.write_checkpoint({"w": np.zeros(3, np.float32)})
    path = src.path / file
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # cut short
    with pytest.raises(HarnessError, match=rf"{path.name}: damaged or unreadable"):
        {"logits/val.npz": lambda: src.outputs("val"), "metrics.json": src.metrics,
         "run.json": src.info, "checkpoint.pt": src.checkpoint}[file]()


def test_logits_of_the_wrong_shape_are_refused(where, synth_release):
    src = fake_run(where.workdir, synth_release, "official", "fake", 25)
    path = src.path / "logits" / "val.npz"
    with np.load(path) as z:
        parts = dict(z)
    parts["logits"] = parts["logits"][:-1]
    with open(path, "wb") as fh:
        np.savez(fh, **parts)
    with pytest.raises(HarnessError, match="val.npz: damaged"):
        src.outputs("val")


def test_cli_smooth_of_a_damaged_run_exits_2_naming_the_file(tmp_path, synth_release):
    work = tmp_path / "work"
    src = fake_run(work, synth_release, "official", "fake", 26)
    (src.path / "logits" / "val.npz").write_bytes(b"PK\x03\x04 not a zip")
    res = harness("smooth", str(src.path), "--workdir", work, "--data", synth_release.root,
                  "--method", "mean", check=False)
    assert res.returncode == 2
    assert "val.npz: damaged or unreadable" in res.stderr and "Traceback" not in res.stderr


def test_seed_ensemble_averages_one_split(where, synth_release):
    runs = [fake_run(where.workdir, synth_release, "official", "fake", s) for s in (30, 31, 32)]
    where.timelines = TimelineConfig(val=False, test=True)
    done = ensemble([r.run_id for r in runs], combine="vote", where=where)
    assert done.label == "vote(fake x3)" and done.split == "official"
    assert all(done.folder.timeline_path("test", n).is_file()
               for n in synth_release.template.names)
    assert not (done.folder.path / "timelines" / "val").exists()
    votes = np.stack([r.outputs("val").logits.argmax(1) for r in runs])
    got = done.folder.outputs("val").logits.argmax(1)
    agree = (votes[0] == votes[1]) | (votes[0] == votes[2])
    np.testing.assert_array_equal(got[agree], votes[0][agree])  # a majority decides


def test_picking_by_baseline_takes_the_latest_run_of_each_configuration(where, synth_release):
    old = fake_run(where.workdir, synth_release, "official", "seeded", 50, recipe=0)
    new = fake_run(where.workdir, synth_release, "official", "seeded", 51, recipe=0)
    other = fake_run(where.workdir, synth_release, "official", "seeded", 52, recipe=1)
    done = ensemble(baselines=["seeded"], split="official", where=where)
    used = [s.run_id for s in done.folder.info().sources]
    assert sorted(used) == sorted([new.run_id, other.run_id]) and old.run_id not in used
    mean = (new.outputs("val").logits + other.outputs("val").logits) / 2
    np.testing.assert_allclose(done.folder.outputs("val").logits, mean, atol=2e-3)


def test_derived_runs_go_through_submit_and_validate(tmp_path, synth_root):
    """The CLI end to end: smooth and ensemble, then submit and validate the derived run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        release = load_release(synth_root)
    work = tmp_path / "work"
    src = fake_run(work, release, "official", "fake", 40, noise=2.0)
    env = dict(os.environ, COLUMNS="200")
    common = ["--data", synth_root, "--workdir", work, "--quiet"]
    out = harness("smooth", src.run_id, "--sweep", "--windows", "0.5,2", "--methods",
                  "median,mode", *common, env=env).stdout
    assert "Derived run:" in out and "test Avg(F1)" in out and "Sweep on official validation" \
        in out
    run_id = out.split("harness submit ")[-1].split()[0]
    assert "[val-tuned]" in run_id or RunFolder.open(work, run_id).info().validation_tuned
    sub = tmp_path / "sub.txt"
    done = harness("submit", run_id, *common[:4], "--out", sub, env=env).stdout
    assert "validates" in done and "Test macro F1" in done
    assert harness("validate", sub, "--data", synth_root, env=env).returncode == 0
    bad = harness("smooth", src.run_id, "--method", "medain", *common, env=env, check=False)
    assert bad.returncode == 2 and "did you mean 'median'" in bad.stderr
    assert json.loads((RunFolder.open(work, run_id).path / "run.json").read_text())["kind"] \
        == "derived"
