"""Derived runs: smoothing and ensembles of run folders, their errors, submit and validate."""

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
from harness.postprocess import (
    OOF_SPLIT,
    PostConfig,
    TimelineConfig,
    Where,
    ensemble,
    smooth,
    smooth_outputs,
)
from harness.records import (
    RunFolder,
    RunInfo,
    evaluate,
    finish,
    read_results,
    store_path,
)
from tests.conftest import harness
from tests.postprocess.frame_logits import one_hot_logits, outputs


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
