"""The trainer on small random windows with a planted signal: learns, repeats, resumes."""

import numpy as np
import pytest
import torch

from baselines import create_baseline
from harness.errors import HarnessError
from harness.features.cache import Packed
from harness.features.timeline import WindowSpec
from harness.features.windows import SourceTable, WindowSet
from harness.fusion_stage import TrainConfig, predict, train_baseline
from harness.train import TrainState


def _windows(n: int, seed: int) -> WindowSet:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 8, n)
    face = rng.normal(size=(n, 16)).astype(np.float32)
    face[np.arange(n), labels] += 3.0  # the class is readable from the current face
    packed = Packed(("v",), np.array([0, n]), face, np.arange(n) / 30.0, np.zeros(n, bool))
    return WindowSet(
        names=["v"], name_idx=np.zeros(n, np.int64), frames=np.arange(1, n + 1),
        labels=labels.astype(np.int64), fps=np.array([30.0]), n_frames=np.array([n]),
        tables={"face": SourceTable(packed, np.array([0]), True, None)},
        spec=WindowSpec(steps=12, current=6, step_s=None),  # frames t-6 .. t+5
    )


CFG = dict(max_epochs=3, batch_size=64, lr=0.01, device="cpu", early_stop=10, frame_stride=1,
           val_stride=1)


def _fit(cfg=None, **kw):
    torch.manual_seed(123)
    model = create_baseline("current_face", {"face": 16})
    res = train_baseline(model, _windows(640, 0), _windows(200, 1), cfg or TrainConfig(**CFG),
                         quiet=True, **kw)
    return model, res


def test_learns_a_planted_signal():
    model, res = _fit()
    pred = predict(model, _windows(200, 1), TrainConfig(**CFG))
    assert res.best_val_f1 > 0.5 and (pred == _windows(200, 1).labels).mean() > 0.5
    assert [h["epoch"] for h in res.history] == [1, 2, 3]


def test_fewer_windows_than_a_batch_is_an_error_not_a_silent_zero_step_epoch():
    from harness.errors import HarnessError

    # 640 windows, one in five per epoch: 128 a phase, one full batch of 128, none of 129
    _fit(TrainConfig(**{**CFG, "frame_stride": 5, "batch_size": 128}))
    with pytest.raises(HarnessError, match="fewer than one batch of 129.*--batch-size"):
        _fit(TrainConfig(**{**CFG, "frame_stride": 5, "batch_size": 129}))
    with pytest.raises(HarnessError, match="--frame-stride must be 1 or more, got 0"):
        _fit(TrainConfig(**{**CFG, "frame_stride": 0}))


def test_same_seed_same_result():
    _, a = _fit()
    _, b = _fit()
    for ha, hb in zip(a.history, b.history):
        assert (ha["train_loss"], ha["val_macro_f1"]) == (hb["train_loss"], hb["val_macro_f1"])
    for k in a.state:
        assert torch.equal(a.state[k], b.state[k]), k


def test_resume_after_a_kill_matches_an_uninterrupted_run(tmp_path):
    _, full = _fit()
    state_file = tmp_path / "last.pt"

    def killed_after_epoch_1(history):
        if history[-1]["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _fit(state_file=state_file, on_epoch=killed_after_epoch_1)
    saved = TrainState.load(state_file)
    assert saved.epoch == 1
    _, resumed = _fit(state_file=state_file, resume=True)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert [h["val_macro_f1"] for h in resumed.history] == [
        h["val_macro_f1"] for h in full.history]


def test_a_damaged_training_state_is_an_error_naming_it(tmp_path):
    state_file = tmp_path / "last.pt"
    TrainState(epoch=1).save(state_file)
    state_file.write_bytes(state_file.read_bytes()[:100])  # cut short outside the harness
    with pytest.raises(HarnessError, match=r"last.pt: damaged or unreadable.*first epoch"):
        TrainState.load(state_file)


class ScriptedStage:
    """A stage whose validation F1 follows a script: the schedule is all that is tested."""

    unit = "items"

    def __init__(self, f1s):
        self.f1s = list(f1s)
        self.calls = 0

    def batches(self, epoch, gen):
        x = torch.randn(4, 3, generator=gen)
        return 4, iter([(x, torch.tensor([0, 1, 0, 1]), None)])

    def loss(self, logits, targets, weight):
        return torch.nn.functional.cross_entropy(logits, targets)

    def validate(self, model, bar, task):
        self.calls += 1
        return self.f1s[self.calls - 1]


def _scripted_fit(f1s, **kw):
    from harness.train import Schedule, fit

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    return fit(model, optimizer, ScriptedStage(f1s), Schedule(len(f1s), early_stop=99),
               device=torch.device("cpu"), quiet=True, **kw)


def test_lr_halves_after_two_epochs_without_gain_as_the_paper_says():
    # epochs 2 and 3 bring no gain: epoch 4 trains at half the lr (ReduceLROnPlateau(patience=2)
    # waited for a third epoch); two more epochs without gain halve it again
    res = _scripted_fit([0.5, 0.4, 0.4, 0.4, 0.4, 0.6, 0.5, 0.5, 0.5])
    assert [h["lr"] for h in res.history] == [1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]


def test_schedule_resumes_exactly(tmp_path):
    f1s = [0.5, 0.4, 0.3, 0.45, 0.2, 0.1]
    full = _scripted_fit(f1s)
    state_file = tmp_path / "last.pt"

    def killed_after_epoch_2(history):  # one epoch without gain counted, not yet acted on
        if history[-1]["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _scripted_fit(f1s, state_file=state_file, on_epoch=killed_after_epoch_2)
    from harness.train import Schedule, fit

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    stage = ScriptedStage(f1s)
    stage.calls = 2  # the killed run validated twice
    resumed = fit(model, optimizer, stage, Schedule(len(f1s), early_stop=99),
                  device=torch.device("cpu"), quiet=True, state_file=state_file, resume=True)
    assert [h["lr"] for h in resumed.history] == [h["lr"] for h in full.history] == [
        1, 1, 1, 0.5, 0.5, 0.25]
    for k in full.state:
        assert torch.equal(full.state[k], resumed.state[k])


def test_cpu_bf16_is_opt_in_and_still_learns_and_repeats():
    """--cpu-bf16: autocast only when asked, same learning, same result twice, its own config."""
    import contextlib

    from harness.device import autocast
    from harness.runs import RunConfig

    cpu = torch.device("cpu")
    assert isinstance(autocast(cpu), contextlib.nullcontext)
    ctx = autocast(cpu, cpu_bf16=True)
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.bfloat16
    cfg = TrainConfig(**CFG, cpu_bf16=True)
    model, a = _fit(cfg)
    _, b = _fit(cfg)
    assert a.best_val_f1 > 0.5
    same = [(h["train_loss"], h["val_macro_f1"]) for h in a.history]
    assert same == [(h["train_loss"], h["val_macro_f1"]) for h in b.history]
    with autocast(cpu, cpu_bf16=True):
        assert model(_windows(8, 1).batch(np.arange(8), cpu)).dtype == torch.bfloat16
    plain = RunConfig("attention_fusion").identity()
    assert "cpu_bf16" not in plain["train"]  # runs made before the option keep their hash
    assert RunConfig("attention_fusion", train=TrainConfig(cpu_bf16=True)).identity() != plain


def test_sgd_is_opt_in_learns_and_keeps_old_hashes():
    """--optimizer sgd: SGD with momentum 0.9 when asked; AdamW runs keep their config hash."""
    from harness.errors import HarnessError
    from harness.fusion_stage import make_optimizer
    from harness.runs import RunConfig

    cfg = TrainConfig(**{**CFG, "lr": 0.05}, optimizer="sgd")
    opt = make_optimizer(torch.nn.Linear(2, 2), cfg)
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["momentum"] == 0.9
    assert isinstance(make_optimizer(torch.nn.Linear(2, 2), TrainConfig()), torch.optim.AdamW)
    _, res = _fit(cfg)
    assert res.best_val_f1 > 0.5
    plain = RunConfig("attention_fusion").identity()
    assert "optimizer" not in plain["train"]
    assert RunConfig("attention_fusion", train=TrainConfig(optimizer="sgd")).identity() != plain
    with pytest.raises(HarnessError, match="unknown optimizer 'adam'.*adamw, sgd"):
        TrainConfig(optimizer="adam")
