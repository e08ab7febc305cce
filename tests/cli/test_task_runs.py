"""VA and AU through training: targets and masks, losses, heads, --face-from, and a run each.

One tiny corpus (8 videos of 6 s) serves the unit tests (through ``load_release``) and the two
end-to-end runs through the real command line (``harness run attention_fusion --task va|au``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from baselines import get_baseline, register_baseline, unregister_baseline
from harness.data.release import load_release
from harness.data.splits import SPLIT_NAMES, Split, get_split, official_split
from harness.errors import HarnessError
from harness.features.chunks import build_chunks, chunk
from harness.features.face.transfer import check_transfer, leaked_names
from harness.features.windows import build_windows
from harness.fusion_stage import TrainConfig
from harness.losses import au_bce_loss, au_pos_weight, ccc_loss, masked_mse_loss, task_loss
from harness.metrics import au_scores, va_scores
from harness.records import RunFolder
from harness.runs import RunConfig
from harness.tasks import get_task
from harness.train import class_weights, selection_names, validation_figure
from tests.conftest import harness

COMMON = ("--epochs", 2, "--face-epochs", 1, "--batch-size", 16, "--threads", 1, "--quiet")


# ----------------------------------------------------------------------- targets and masks

def test_windows_hold_the_tasks_targets_and_masks(corpus):
    for name in ("va", "au"):
        task = get_task(name)
        release = load_release(corpus, task=name)
        split = official_split(release)
        train = build_windows(release, split.train, {}, labelled_only=True)
        width = task.output_size
        assert train.labels.shape == (len(train), width) and train.labels.dtype == task.dtype
        assert train.valid.all() and train.task is task
        val = build_windows(release, split.val, {}, labelled_only=False)
        truth = np.concatenate([release.labels(n) for n in split.val])
        assert np.array_equal(val.labels, truth[:len(val)])  # every frame, markers kept
        assert np.array_equal(val.valid, task.valid(truth[:len(val)]))
        test = build_windows(release, release.template.names, {}, labelled_only=False)
        assert len(test) == release.template.n_rows and not test.valid.any()
        assert (test.labels == task.invalid).all()  # unknown: the marker, never a value
        sub = val.subset(np.arange(0, len(val), 3))
        assert sub.task is task and sub.labels.shape[1] == width


def test_invalid_frames_stay_invalid(corpus):
    """The corpus's -5 / -1 runs reach the windows as markers: masked, never zeros."""
    invalid = 0
    for name in ("va", "au"):
        task = get_task(name)
        release = load_release(corpus, task=name)
        names = sorted(release.train) + sorted(release.val)
        ws = build_windows(release, names, {}, labelled_only=False)
        invalid += int((~ws.valid).sum())
        assert (ws.labels[~ws.valid] == task.invalid).any(axis=-1).all()
        labelled = build_windows(release, names, {}, labelled_only=True)
        assert len(labelled) == int(ws.valid.sum()) and labelled.valid.all()
    assert invalid, "the tiny corpus should hold invalid runs"


def test_chunks_hold_the_tasks_targets_and_masks(corpus):
    for name in ("expr", "va", "au"):
        task = get_task(name)
        release = load_release(corpus, task=name)
        split = official_split(release)
        cs = build_chunks(release, split.train, {}, chunk(64))
        owner, start = cs.eval_chunks()
        targets = cs.targets(owner, start)
        mask = cs.target_mask(targets)
        pos, inside = cs.positions(owner, start)
        assert targets.shape[:2] == mask.shape == inside.shape
        assert not mask[~inside].any()  # outside the video: the marker, masked
        assert (targets[~inside] == task.invalid).all()
        flat = cs.offsets[owner][:, None] + np.clip(pos, 0, cs.n_frames[owner][:, None] - 1)
        assert np.array_equal(mask, inside & cs.frame_valid[flat])
        gen = torch.Generator().manual_seed(0)
        o, s = cs.train_chunks(gen)
        assert cs.target_mask(cs.targets(o, s)).any(axis=1).all()  # none without a label


# ----------------------------------------------------------------------- losses and heads

def test_each_task_trains_with_its_loss():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 8, 50)
    ce = task_loss("expr", y)
    assert isinstance(ce, torch.nn.CrossEntropyLoss)
    assert torch.equal(ce.weight, class_weights(y))
    p, t = torch.rand(40, 2) * 2 - 1, torch.rand(40, 2) * 2 - 1
    t[:5] = -5.0
    assert torch.allclose(task_loss("va", t.numpy())(p, t), ccc_loss(p, t))
    assert torch.allclose(task_loss("va", t.numpy(), va_loss="mse")(p, t), masked_mse_loss(p, t))
    labels = (rng.random((60, 12)) < 0.2).astype(np.int8)
    z, target = torch.randn(60, 12), torch.from_numpy(labels)
    assert torch.allclose(task_loss("au", labels)(z, target),
                          au_bce_loss(z, target, au_pos_weight(labels)))
    with pytest.raises(HarnessError, match="unknown VA loss"):
        task_loss("va", t.numpy(), va_loss="huber")


def test_validation_figures_are_the_task_metrics():
    rng = np.random.default_rng(1)
    t = rng.uniform(-1, 1, (30, 2)).astype(np.float32)
    t[:4] = -5
    out = np.clip(t + rng.normal(0, 0.3, t.shape), -1, 1)
    assert validation_figure(get_task("va"), t, out) == pytest.approx(va_scores(t, out).p_va)
    a = (rng.random((30, 12)) < 0.3).astype(np.int8)
    z = rng.normal(0, 1, a.shape)
    assert validation_figure(get_task("au"), a, z) == pytest.approx(
        au_scores(a, (z >= 0).astype(int)).p_au)
    assert selection_names(get_task("expr")) == ("macro F1", "val_macro_f1")
    assert selection_names(get_task("va")) == ("P_VA", "val_P_VA")


def test_heads_have_the_tasks_width_and_range():
    dims = {"face": 8, "audio": 6, "pose": 4}
    batch = {m: torch.randn(3, 12, d) * 50 for m, d in dims.items()}
    batch["mask"] = torch.ones(3, 12, dtype=torch.bool)
    batch |= {f"{m}_mask": torch.ones(3, 12, dtype=torch.bool) for m in dims}
    for name, width in (("expr", 8), ("va", 2), ("au", 12)):
        model = get_baseline("attention_fusion").for_task(dims, name).eval()
        out = model(batch)
        assert out.shape == (3, width)
        if name == "va":
            assert out.abs().max() <= 1.0
    # the state dict is the builder's own: a VA head loads into another VA model as is
    a = get_baseline("current_face").for_task({"face": 8}, "va")
    b = get_baseline("current_face").for_task({"face": 8}, "va")
    b.load_state_dict(a.state_dict())

    @register_baseline("expr_only_probe", modalities=("face",), tasks=("expr",))
    def probe(dims, num_classes=8):
        return torch.nn.Linear(dims["face"], num_classes)

    try:
        assert get_baseline("expr_only_probe").supports("expr")
        with pytest.raises(HarnessError, match="gives no va output"):
            get_baseline("expr_only_probe").for_task({"face": 8}, "va")
    finally:
        unregister_baseline("expr_only_probe")


def test_run_config_per_task():
    expr = RunConfig(baseline="attention_fusion")
    assert not {"task"} & set(expr.identity())  # EXPR's key as before tasks
    assert "va_loss" not in expr.identity()["train"]
    assert "face_from" not in expr.identity()["features"]
    va = RunConfig(baseline="attention_fusion", task="va")
    assert va.identity()["task"] == "va"
    mse = RunConfig(baseline="attention_fusion", task="va", train=TrainConfig(va_loss="mse"))
    assert mse.identity()["train"]["va_loss"] == "mse"
    with pytest.raises(HarnessError, match="--va-loss applies"):
        RunConfig(baseline="attention_fusion", task="au", train=TrainConfig(va_loss="mse"))
    with pytest.raises(HarnessError, match="unknown --va-loss"):
        TrainConfig(va_loss="l1")
    with pytest.raises(HarnessError, match="nope"):
        RunConfig(baseline="attention_fusion", task="nope")


def test_the_api_and_config_files_take_the_task(tmp_path):
    from harness.api.run import run_recipe

    cfg, splits = run_recipe("attention_fusion", task="va", va_loss="mse", face_from="expr")
    assert (cfg.task, cfg.train.va_loss, cfg.features.face_from) == ("va", "mse", "expr")
    toml = tmp_path / "au.toml"
    toml.write_text('baseline = "only_video"\ntask = "au"\n')
    cfg, _ = run_recipe(config=toml)
    assert cfg.task == "au" and cfg.baseline == "only_video"


# ----------------------------------------------------------------------- --face-from

def test_face_from_refuses_a_source_that_trained_on_validation_or_test_names(corpus):
    va, expr = load_release(corpus, task="va"), load_release(corpus, task="expr")
    split = official_split(va)
    source = official_split(expr)
    assert leaked_names(va, split, source) == []
    check_transfer(va, split, expr, source)  # nothing leaks: no error
    test_name = va.test_names[0]
    leaky = Split("official", (*source.train, split.val[0], test_name), source.val)
    assert leaked_names(va, split, leaky) == sorted([split.val[0], test_name])
    with pytest.raises(HarnessError, match="validation or test name") as err:
        check_transfer(va, split, expr, leaky)
    assert split.val[0] in str(err.value) and test_name in str(err.value)


def _leaking_split(corpus, source: str, target: str) -> tuple[str, list[str]]:
    src, tgt = load_release(corpus, task=source), load_release(corpus, task=target)
    for name in SPLIT_NAMES:
        leaked = leaked_names(tgt, get_split(tgt, name), get_split(src, name))
        if leaked:
            return name, leaked
    raise AssertionError("no split of the tiny corpus leaks; pick another seed")


def test_face_from_leak_is_an_error_at_the_command_line(corpus, env, tmp_path):
    for source, target in (("au", "va"), ("au", "expr"), ("expr", "au"), ("va", "au")):
        try:
            split, leaked = _leaking_split(corpus, source, target)
            break
        except AssertionError:
            continue
    else:
        pytest.fail("no task pair of the tiny corpus leaks on any split")
    proc = harness("run", "only_video", "--task", target, "--face-from", source, "--split",
                   split, "--data", corpus, "--workdir", tmp_path, *COMMON, env=env,
                   check=False)
    assert proc.returncode == 2, proc.stderr
    assert all(n in proc.stderr for n in leaked) and "--face-from" in proc.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# ----------------------------------------------------------------------- end to end

def _check_run(work, corpus, name):
    task = get_task(name)
    (run,) = sorted((work / "runs").iterdir())
    folder = RunFolder(run)
    info = json.loads((run / "run.json").read_text())
    assert info["task"] == name and folder.info().task == name
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(folder.metrics().to_dict()))
    assert (run / "per_video_stats.npz").is_file() and (run / "scores.png").is_file()
    assert f"val_{task.selection_metric}" in (run / "epochs.csv").read_text().splitlines()[0]
    release = load_release(corpus, task=name)
    test = folder.outputs("test")  # every row of the task's template, in its frame order
    assert list(test.names) == list(release.template.names)
    assert int(test.offsets[-1]) == release.template.n_rows
    assert test.logits.shape[1] == task.output_size and np.isfinite(test.logits).all()
    val = folder.outputs("val")
    _, stats = folder.per_video_stats()
    assert stats.scores() == folder.metrics()
    row = json.loads((work / "leaderboard.jsonl").read_text().splitlines()[-1])
    assert row["task"] == name and set(row["figures"]) == set(task.leaderboard_columns)
    return val, test


def test_run_va_end_to_end(corpus, env, tmp_path):
    proc = harness("run", "attention_fusion", "--task", "va", "--data", corpus, "--workdir",
                   tmp_path, *COMMON, env=env)
    assert "P_VA" in proc.stdout and "CCC-V" in proc.stdout
    val, test = _check_run(tmp_path, corpus, "va")
    assert np.abs(test.logits).max() <= 1.0 and np.abs(val.logits).max() <= 1.0  # tanh


def test_run_au_end_to_end(corpus, env, tmp_path):
    proc = harness("run", "attention_fusion", "--task", "au", "--data", corpus, "--workdir",
                   tmp_path, *COMMON, env=env)
    assert "P_AU" in proc.stdout and "AU26" in proc.stdout
    _check_run(tmp_path, corpus, "au")
    info = harness("data", "info", "--data", corpus, "--task", "au", env=env).stdout
    assert "Action-unit detection (au)" in info and "AU25" in info
