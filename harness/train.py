"""The one training loop, for every stage that trains: the stage-1 face model and every baseline.

Read ``fit`` top to bottom, as nanoGPT's ``train.py``: seed; then per epoch: the stage's batches
-> forward -> loss -> backward -> step; the validation figure of the stage's selection metric
(the task's: macro F1 for EXPR, P_VA, P_AU); keep the best weights by that figure alone (the seed
release mixed in accuracy); halve the lr once ``lr_patience`` epochs in a row
brought no gain (the paper's rule, written out: ``ReduceLROnPlateau(patience=2)`` waits for a
third); stop after ``early_stop``; save one ``TrainState``, which is both the checkpoint and what a
resume reads back. A stage (``Stage``) says what its batches are, how its loss is taken and how
it is validated; the loop knows nothing about faces, windows or particular baselines.
"""

from __future__ import annotations

import copy
import csv
import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from rich.progress import Progress, TaskID
from torch import Tensor, nn

from harness import distributed, measure
from harness.atomic import atomic_open
from harness.console import progress
from harness.data.labels import NUM_CLASSES
from harness.device import autocast, seed_everything
from harness.errors import reading
from harness.measure import StageClock
from harness.metrics import scores
from harness.tasks import Task

#: One training batch: model inputs, int64 targets, and an optional per-item weight (a mask).
Batch = tuple[Any, Tensor, Tensor | None]


@dataclass
class Schedule:
    """The epoch schedule every stage shares; the paper's values are the defaults."""

    max_epochs: int
    lr_patience: int = 2  # paper: x0.5 after 2 epochs without validation gain (0: never)
    lr_factor: float = 0.5
    early_stop: int = 5  # ours: the paper gives no patience
    grad_clip: float = 0.0  # 0: no clipping
    seed: int = 0
    cpu_bf16: bool = False  # bf16 autocast when training on the CPU (see device.autocast)


class Stage(Protocol):
    """What a training stage gives the loop."""

    unit: str  # what one item is, for the progress bar: "images", "windows"
    #: Optional: the selection metric's name for the progress bar ("macro F1", "P_VA") and its
    #: ``history`` column (``selection_names``); a stage without them is EXPR's.
    metric: str
    history_key: str

    #: Optional: ``history_extra() -> dict``, columns a stage adds to each epoch's row
    #: (the learned MTL task weights).

    def batches(self, epoch: int, gen: torch.Generator) -> tuple[int, Iterable[Batch]]:
        """The number of items and the batches of one epoch (order drawn from ``gen``)."""

    def loss(self, logits: Tensor, targets: Tensor, weight: Tensor | None) -> Tensor:
        """The scalar loss of one batch."""

    def validate(self, model: nn.Module, bar: Progress, task: TaskID) -> float:
        """The validation figure of the selection metric (deterministic; higher is better),
        advancing ``task`` as it goes."""


@dataclass
class TrainState:
    """Everything a resumed training needs; saved after every epoch, read back on resume."""

    epoch: int = 0
    model: dict | None = None
    optimizer: dict | None = None  # holds the current learning rates
    generator: Tensor | None = None
    torch_rng: Tensor | None = None
    best_f1: float = float("-inf")  # the best validation figure (macro F1, P_VA...) so far
    best_state: dict | None = None
    best_epoch: int = 0
    stale: int = 0  # epochs since the last gain (early stopping)
    lr_stale: int = 0  # epochs without gain since the last gain or lr change
    history: list[dict] = field(default_factory=list)

    def save(self, path: Path) -> None:
        """Atomically: a kill during the write leaves the previous epoch's state."""
        with atomic_open(path, "wb") as fh:
            torch.save({f.name: getattr(self, f.name) for f in fields(self)}, fh)

    @classmethod
    def load(cls, path: Path) -> TrainState | None:
        if not Path(path).is_file():
            return None
        with reading(path, "delete it to train this stage from its first epoch"):
            saved = torch.load(path, map_location="cpu", weights_only=True)
        known = {f.name for f in fields(cls)}  # a state saved by an older version may hold more
        return cls(**{k: v for k, v in saved.items() if k in known})


@dataclass
class TrainResult:
    state: dict
    best_epoch: int
    best_val_f1: float  # the best epoch's validation figure of the selection metric
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def fit(model: nn.Module, optimizer: torch.optim.Optimizer, stage: Stage, schedule: Schedule,
        *, device: torch.device, state_file: Path | None = None, resume: bool = False,
        on_epoch: Callable[[list[dict]], None] | None = None, quiet: bool = False,
        clock: StageClock | None = None) -> TrainResult:
    """Train ``model`` (already on ``device``); returns and loads the best state.

    ``history`` rows: epoch, mean training loss, the validation figure (``val_macro_f1`` for
    EXPR, ``val_P_VA``...: ``stage.history_key``), the lr the epoch trained at (the first
    parameter group's), and items per second. Under torchrun the stage's batches
    are this rank's parts and the model trains in ``DistributedDataParallel``
    (``harness.distributed``); only rank 0 saves ``state_file``. ``clock`` records each epoch's
    training and validation time and memory.
    """
    gen = seed_everything(schedule.seed)
    net = distributed.wrap(model, device)
    state = TrainState.load(state_file) if (resume and state_file) else None
    if state is not None:
        model.load_state_dict(state.model)
        optimizer.load_state_dict(state.optimizer)
        gen.set_state(state.generator)
        torch.set_rng_state(state.torch_rng)
    state = state or TrainState()
    metric = getattr(stage, "metric", EXPR_METRIC)
    history_key = getattr(stage, "history_key", EXPR_HISTORY_KEY)
    t0 = time.perf_counter()
    with progress(stage.unit, disable=quiet) as bar:
        train_task = bar.add_task("train", total=None, info="")
        val_task = bar.add_task("validate", total=None, info="")
        for epoch in range(state.epoch + 1, schedule.max_epochs + 1):
            model.train()
            lr = optimizer.param_groups[0]["lr"]
            n_items, batches = stage.batches(epoch, gen)
            bar.reset(train_task, total=n_items, description=f"train epoch {epoch}")
            total, count, started = 0.0, 0, time.perf_counter()
            with measure.stage(clock, f"train epoch {epoch}"):
                for inputs, targets, weight in batches:
                    with autocast(device, cpu_bf16=schedule.cpu_bf16):
                        loss = stage.loss(net(inputs).float(), targets, weight)
                    optimizer_step(model, optimizer, loss, schedule.grad_clip)
                    total += loss.item() * len(targets)
                    count += len(targets)
                    bar.update(train_task, advance=len(targets), info=f"loss {total / count:.3f}")
            total, count = distributed.all_sum([total, count])
            rate = count / max(time.perf_counter() - started, 1e-9)
            distributed.sync_buffers(model)
            bar.reset(val_task, total=None)
            with measure.stage(clock, f"validate epoch {epoch}"):
                f1 = stage.validate(model, bar, val_task)
            bar.update(val_task, info=f"{metric} {f1:.3f} (best {max(state.best_f1, f1):.3f})")
            state.history.append({"epoch": epoch, "train_loss": total / max(count, 1),
                                  history_key: f1, "lr": lr,
                                  f"{stage.unit}_per_s": round(rate, 1)}
                                 | getattr(stage, "history_extra", dict)())
            if f1 > state.best_f1:
                state.best_f1, state.best_epoch, state.stale, state.lr_stale = f1, epoch, 0, 0
                state.best_state = copy.deepcopy(model.state_dict())
            else:
                state.stale += 1
                state.lr_stale += 1
            if schedule.lr_patience and state.lr_stale >= schedule.lr_patience:
                scale_lr(optimizer, schedule.lr_factor)  # x0.5 after 2 epochs without gain
                state.lr_stale = 0
            state.epoch = epoch
            if state_file is not None and distributed.is_main():
                state.model, state.optimizer = model.state_dict(), optimizer.state_dict()
                state.generator, state.torch_rng = gen.get_state(), torch.get_rng_state()
                state.save(state_file)
            if on_epoch is not None:
                on_epoch(state.history)
            if state.stale >= schedule.early_stop:
                break
    model.load_state_dict(state.best_state)
    return TrainResult(state.best_state, state.best_epoch, state.best_f1, state.history,
                       time.perf_counter() - t0)


#: The selection metric's progress-bar name and history column of EXPR (and of any stage
#: that names none): what every stage reported before other tasks existed.
EXPR_METRIC, EXPR_HISTORY_KEY = "macro F1", "val_macro_f1"


def selection_names(task: Task) -> tuple[str, str]:
    """A task's selection metric as the progress bar and the history name it: EXPR's as
    always ("macro F1", ``val_macro_f1``); ``P_VA``, ``val_P_VA`` for VA, and so on."""
    if task.classification:
        return EXPR_METRIC, EXPR_HISTORY_KEY
    return task.selection_metric, f"val_{task.selection_metric}"


def validation_figure(task: Task, truth: np.ndarray, outputs: np.ndarray) -> float:
    """The selection figure of a stage's validation ``outputs`` (N, output_size) against
    ``truth`` (the task's arrays; frames without a label are left out by the metric)."""
    if task.classification:
        keep = truth >= 0
        return scores(truth[keep], outputs[keep].argmax(1)).macro_f1
    return float(task.selection(task.scores([truth], [task.decisions(outputs)])))


def scale_lr(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Multiply every parameter group's learning rate by ``factor`` (groups keep their ratio)."""
    for group in optimizer.param_groups:
        group["lr"] *= factor


def optimizer_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss: Tensor,
                   grad_clip: float = 0.0, scaler: torch.amp.GradScaler | None = None) -> None:
    """Backward and one optimiser step: the only backward pass in the harness.

    ``scaler`` is for fp16 autocast (the bench on GPUs without bf16); ``grad_clip`` 0: none.
    """
    optimizer.zero_grad(set_to_none=True)
    (loss if scaler is None else scaler.scale(loss)).backward()
    if scaler is not None:
        scaler.unscale_(optimizer)
    if grad_clip:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()


def class_weights(labels: np.ndarray) -> torch.Tensor:
    """Inverse class frequency, mean 1 over present classes; absent classes weigh 0.

    Computed on the training split in use (the seed release took them from another split).
    """
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / np.maximum(counts, 1), 0.0)
    w = w / w[counts > 0].mean()
    return torch.tensor(w, dtype=torch.float32)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (buffers such as BatchNorm statistics are not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def history_csv(history: list[dict]) -> str:
    """The per-epoch log as CSV text (one row per epoch, floats to 6 decimals)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows({k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}
                     for row in history)
    return buf.getvalue()
