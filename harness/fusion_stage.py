"""The fusion stage: training any registered baseline on cached feature windows, and predicting.

The epoch loop is ``harness.train.fit``; this module gives it the stage's batches (one
labelled frame in ``frame_stride`` per epoch, a random phase each epoch, shuffled), its loss
(the task's, ``harness.losses.task_loss``: class-weighted cross-entropy for EXPR, inverse
frequency on the training split in use; 1 - CCC (or MSE) for VA; BCE with per-AU positive
weights for AU) and its validation (the task's selection metric, macro F1 for EXPR, on one
validation frame in ``val_stride``, fixed phase: deterministic). The windows' or chunks' task
(``WindowSet.task``) says which; frames without a label never reach the loss or the metric.

A sequence baseline (``register_baseline(..., sequence=chunk(L))``) trains through the same
loop with ``SequenceStage``: chunks of ``L`` frames (``harness.features.chunks``), every labelled
frame of every chunk in the loss, each epoch over every labelled frame; validation and
prediction read overlapping chunks and give one row of logits per frame, as windows do.

Batch size differs from the paper's 4 on purpose: 4 was an RTX3090 memory limit with the face
model inside the loop. On cached features a window is a few KB, so 256 windows per step keeps
the device busy and BatchNorm statistics sane.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress, TaskID
from torch import Tensor, nn

from harness import distributed
from harness.config_files import require
from harness.device import autocast, resolve_device
from harness.errors import HarnessError
from harness.features.chunks import ChunkSet
from harness.features.windows import WindowSet
from harness.losses import MTL_WEIGHTINGS, VA_LOSSES, UncertaintyWeights, task_loss
from harness.measure import StageClock
from harness.metrics import scores
from harness.train import Batch, Schedule, TrainResult, fit, selection_names, validation_figure

#: Optimizers of the fusion stage (``TrainConfig.optimizer``); the first is the default.
OPTIMIZERS: tuple[str, ...] = ("adamw", "sgd")


#: Command-line names of TrainConfig fields (the rest are named ``train.<field>``).
_FIELD = {"--batch-size": "batch_size", "--epochs": "max_epochs", "--frame-stride": "frame_stride"}


@dataclass
class TrainConfig:
    """Fusion-stage settings; defaults are the paper's where it gives them."""

    # The paper gives 0.02 for the fusion parts but not its optimizer; with AdamW, 0.02 made
    # attention_fusion unstable on the embedded corpus (validation macro F1 21.6 vs 45.0 at
    # 1e-3, same seed). ``--lr 0.02`` reproduces the paper's setting.
    lr: float = 1e-3
    weight_decay: float = 1e-4
    # "adamw" (ours) or "sgd" (momentum 0.9). The paper gives lr 0.02 and batch 4 but not its
    # optimizer; SGD is the one such an lr is usually meant for (``--optimizer sgd --lr 0.02
    # --batch-size 4`` is our reading of the paper's recipe; see the README's Results).
    optimizer: str = "adamw"
    batch_size: int = 256  # paper: 4, a memory limit of face-in-the-loop training (see above)
    max_epochs: int = 12
    lr_patience: int = 2  # paper: x0.5 after 2 epochs without validation-F1 gain
    lr_factor: float = 0.5
    early_stop: int = 5
    # Train on one labelled frame in k per epoch (random phase each epoch). Windows of
    # neighbouring frames overlap by 29/30 at 30 fps, so k=5 (the paper's face-stage sampling)
    # costs little signal and makes an epoch 5x cheaper.
    frame_stride: int = 5
    # Chunks per training step of a sequence baseline (4 x 300 frames; windows per step stay
    # ``batch_size``); prediction reads 4x as many per batch. 4 rather than 16: on the embedded
    # corpus (videos shorter than a chunk) dense_sequence scored 58.6 / 60.7 validation / test
    # macro F1 at 4 against 56.5 / 52.2 at 16 (docs/sequence-models.md).
    chunk_batch_size: int = 4
    # Model selection looks at one validation frame in k (fixed phase: deterministic); the
    # final metrics and predictions of a run always cover every frame.
    val_stride: int = 5
    eval_batch_size: int = 2048
    grad_clip: float = 5.0
    seed: int = 0
    device: str = "auto"
    # ours: bf16 autocast on the CPU (training and prediction); off by default, as every
    # figure in the README was measured in fp32. See device.autocast.
    cpu_bf16: bool = False
    # VA only (``--va-loss``): "ccc" (1 - CCC per dimension, the VA leaders' choice) or "mse".
    va_loss: str = "ccc"
    # MTL only (``--mtl-weighting``): "fixed" (1, 1, 1) or "uncertainty" (learned).
    mtl_weighting: str = "fixed"

    def __post_init__(self) -> None:
        """Refuse values that cannot train, named as the command line spells them."""
        for name, minimum in (("--batch-size", 1), ("--epochs", 1), ("--frame-stride", 1),
                              ("train.val_stride", 1), ("train.eval_batch_size", 1),
                              ("train.lr_patience", 0), ("train.early_stop", 1),
                              ("train.weight_decay", 0), ("train.grad_clip", 0)):
            require(name, getattr(self, _FIELD.get(name, name.removeprefix("train."))),
                    minimum=minimum)
        require("--lr", self.lr, positive=True)
        require("train.lr_factor", self.lr_factor, positive=True)
        if self.va_loss not in VA_LOSSES:
            raise HarnessError(f"unknown --va-loss {self.va_loss!r}: use one of "
                               f"{', '.join(VA_LOSSES)}")
        if self.mtl_weighting not in MTL_WEIGHTINGS:
            raise HarnessError(f"unknown --mtl-weighting {self.mtl_weighting!r}: use one of "
                               f"{', '.join(MTL_WEIGHTINGS)}")
        if self.optimizer not in OPTIMIZERS:
            raise HarnessError(f"unknown optimizer {self.optimizer!r}: use one of "
                               f"{', '.join(OPTIMIZERS)}")

    def schedule(self) -> Schedule:
        return Schedule(self.max_epochs, self.lr_patience, self.lr_factor, self.early_stop,
                        self.grad_clip, self.seed, self.cpu_bf16)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW or SGD over every parameter (the bench builds its training step with this too)."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9,
                               weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


class _LearnedWeights:
    """Each epoch's learned MTL term weights, for ``epochs.csv`` (``--mtl-weighting
    uncertainty``; nothing otherwise)."""

    learned: UncertaintyWeights | None

    def history_extra(self) -> dict[str, float]:
        if self.learned is None:
            return {}
        return {f"weight_{t}": round(w, 6) for t, w in zip(("va", "expr", "au"),
                                                            self.learned.weights())}


class WindowStage(_LearnedWeights):
    """The fusion stage's batches, loss and validation, for ``harness.train.fit``."""

    unit = "windows"

    def __init__(self, train_ws: WindowSet, val_ws: WindowSet, cfg: TrainConfig,
                 device: torch.device, learned: UncertaintyWeights | None = None):
        self.train_ws, self.cfg, self.device, self.learned = train_ws, cfg, device, learned
        if cfg.frame_stride < 1:
            raise HarnessError(f"--frame-stride must be 1 or more, got {cfg.frame_stride}")
        fewest = len(train_ws) // cfg.frame_stride  # windows of the epoch with the last phase
        if fewest < cfg.batch_size:  # the ragged last batch is dropped: no step at all
            raise HarnessError(
                f"{len(train_ws):,} training windows give at most {fewest:,} per epoch (one "
                f"frame in {cfg.frame_stride}), fewer than one batch of {cfg.batch_size}: the "
                f"model would not train; lower --batch-size or --frame-stride")
        self.task = train_ws.task
        # sparse images (MTL): every labelled image; the other frames are gaps between them
        self.val_ws = val_ws.subset(np.flatnonzero(val_ws.valid) if self.task.sparse_images
                                    else np.arange(0, len(val_ws), cfg.val_stride))
        self.metric, self.history_key = selection_names(self.task)
        self.labels = torch.from_numpy(train_ws.labels)
        self.loss_fn = task_loss(self.task, train_ws.labels[train_ws.valid], device,
                                 va_loss=cfg.va_loss, learned=learned)

    def batches(self, epoch: int, gen: torch.Generator) -> tuple[int, Iterator[Batch]]:
        stride, size = self.cfg.frame_stride, self.cfg.batch_size
        phase = int(torch.randint(stride, (1,), generator=gen))
        idx = np.arange(phase, len(self.train_ws), stride)
        idx = idx[torch.randperm(idx.size, generator=gen).numpy()]
        n_batches = idx.size // size  # drop the ragged last batch: BatchNorm needs > 1

        def generate() -> Iterator[Batch]:
            for b in range(n_batches):
                sel = distributed.local_part(idx[b * size:(b + 1) * size])  # torchrun: a part
                yield (self.train_ws.batch(sel, self.device), self.labels[sel].to(self.device),
                       None)
        return n_batches * distributed.local_part(np.arange(size)).size, generate()

    def loss(self, logits: Tensor, targets: Tensor, weight: Tensor | None) -> Tensor:
        return self.loss_fn(logits, targets)

    def validate(self, model: nn.Module, bar: Progress, task: TaskID) -> float:
        bar.update(task, total=len(self.val_ws))
        if self.task.classification:
            pred = predict(model, self.val_ws, self.cfg, on_batch=lambda n: bar.advance(task, n))
            return scores(self.val_ws.labels, pred).macro_f1
        out = predict_logits(model, self.val_ws, self.cfg, on_batch=lambda n: bar.advance(task, n))
        return validation_figure(self.task, self.val_ws.labels, out)


class SequenceStage(_LearnedWeights):
    """A sequence baseline's batches, loss and validation, for ``harness.train.fit``.

    A batch's ``targets`` are the labels of its labelled frames only (so the loop's item counts
    and rates are in labelled frames) and its ``weight`` slot holds the ``(B, L)`` mask that
    picks them out of the ``(B, L, C)`` logits: frames outside the video and invalid labels
    never reach the loss. The loss is the window stage's (``task_loss`` fitted on the training
    split's labelled frames).
    """

    unit = "frames"

    def __init__(self, train_cs: ChunkSet, val_cs: ChunkSet, cfg: TrainConfig,
                 device: torch.device, learned: UncertaintyWeights | None = None):
        if cfg.chunk_batch_size < 1:
            raise HarnessError(f"chunk_batch_size must be 1 or more, got {cfg.chunk_batch_size}")
        self.train_cs, self.val_cs, self.cfg, self.device = train_cs, val_cs, cfg, device
        self.learned = learned
        self.task = train_cs.task
        self.metric, self.history_key = selection_names(self.task)
        labels = train_cs.labels[train_cs.frame_valid]
        if len(labels) == 0:
            raise HarnessError("the training names have no valid label: nothing to train on")
        self.loss_fn = task_loss(self.task, labels, device, va_loss=cfg.va_loss,
                                 learned=learned)

    def batches(self, epoch: int, gen: torch.Generator) -> tuple[int, Iterator[Batch]]:
        owner, start = self.train_cs.train_chunks(gen)
        order = torch.randperm(owner.size, generator=gen).numpy()
        owner, start = owner[order], start[order]
        size = self.cfg.chunk_batch_size
        n_items = int(self.train_cs.frame_valid.sum())

        def generate() -> Iterator[Batch]:
            for b in range(0, owner.size, size):  # BatchNorm sees B x L frames: none dropped
                if distributed.active() and owner.size - b < distributed.world_size():
                    break  # every rank must take the same number of steps (DDP)
                sel = distributed.local_part(np.arange(b, min(b + size, owner.size)))
                o, s = owner[sel], start[sel]
                targets = self.train_cs.targets(o, s)
                labelled = torch.from_numpy(self.train_cs.target_mask(targets))
                targets = torch.from_numpy(targets)
                yield (self.train_cs.batch(o, s, self.device),
                       targets[labelled].to(self.device), labelled.to(self.device))
        return n_items, generate()

    def loss(self, logits: Tensor, targets: Tensor, weight: Tensor | None) -> Tensor:
        """The task's loss over the labelled frames (``weight``: their mask)."""
        return self.loss_fn(logits[weight], targets)

    def validate(self, model: nn.Module, bar: Progress, task: TaskID) -> float:
        bar.update(task, total=len(self.val_cs))
        logits = predict_chunk_logits(model, self.val_cs, self.cfg,
                                      on_batch=lambda n: bar.advance(task, n))
        labels = self.val_cs.labels
        if not self.task.classification:
            return validation_figure(self.task, labels, logits)
        keep = labels >= 0
        return scores(labels[keep], logits[keep].argmax(1)).macro_f1


def train_baseline(model: nn.Module, train_ws: WindowSet | ChunkSet,
                   val_ws: WindowSet | ChunkSet, cfg: TrainConfig,
                   *, state_file: Path | None = None, resume: bool = False,
                   on_epoch: Callable[[list[dict]], None] | None = None,
                   quiet: bool = False, clock: StageClock | None = None) -> TrainResult:
    """Train ``model`` on windows (or chunks, for a sequence baseline); returns (and loads) the
    best state by the validation figure of the task's selection metric (EXPR: macro F1)."""
    device = resolve_device(cfg.device)
    model.to(device)
    learned = None
    if cfg.mtl_weighting == "uncertainty":  # trained, saved and resumed with the model
        learned = UncertaintyWeights().to(device)
        model.add_module(LEARNED_WEIGHTS, learned)
    stage = (SequenceStage if isinstance(train_ws, ChunkSet) else WindowStage)(
        train_ws, val_ws, cfg, device, learned)
    try:
        return fit(model, make_optimizer(model, cfg), stage, cfg.schedule(), device=device,
                   state_file=state_file, resume=resume, on_epoch=on_epoch, quiet=quiet,
                   clock=clock)
    finally:
        if learned is not None:  # the run's model is the baseline's own (its state dict)
            delattr(model, LEARNED_WEIGHTS)


#: The submodule a learned MTL weighting lives in while the model trains.
LEARNED_WEIGHTS = "mtl_task_weights"


@torch.inference_mode()
def predict_logits(model: nn.Module, ws: WindowSet | ChunkSet, cfg: TrainConfig,
                   on_batch: Callable[[int], None] | None = None) -> np.ndarray:
    """Outputs ``(N, task.output_size)`` for every window (or every frame of a ``ChunkSet``),
    in order (EXPR's 8 logits; VA values after the model's tanh; AU logits); eval mode, no
    randomness.

    Under torchrun each rank predicts its contiguous part and every rank gets all the logits.
    """
    if isinstance(ws, ChunkSet):
        return predict_chunk_logits(model, ws, cfg, on_batch)
    device = next(model.parameters()).device
    model.eval()
    mine = distributed.local_part(np.arange(len(ws)))
    out = [torch.zeros((0, ws.task.output_size))]
    size = ws.eval_batch(cfg.eval_batch_size)  # memory: inputs within EVAL_BATCH_BYTES
    for start in range(0, mine.size, size):
        sel = mine[start:start + size]
        with autocast(device, cpu_bf16=cfg.cpu_bf16):
            out.append(model(ws.batch(sel, device)).float().cpu())
        if on_batch is not None:
            on_batch(sel.size)
    return distributed.gather(torch.cat(out).numpy(), len(ws))


def predict(model: nn.Module, ws: WindowSet, cfg: TrainConfig,
            on_batch: Callable[[int], None] | None = None) -> np.ndarray:
    """Labels ``(N,)``: the argmax of ``predict_logits``."""
    return predict_logits(model, ws, cfg, on_batch).argmax(1)


@torch.inference_mode()
def predict_chunk_logits(model: nn.Module, cs: ChunkSet, cfg: TrainConfig,
                         on_batch: Callable[[int], None] | None = None, shift: int = 0
                         ) -> np.ndarray:
    """Outputs ``(N, task.output_size)`` for every frame of ``cs`` in (name, frame) order
    (``predict_logits``), from overlapping
    evaluation chunks combined by the spec's overlap rule; eval mode, no randomness.

    ``shift`` moves the chunk grid (tests). Chunks wholly inside their video go first
    (``ChunkSet.eval_order``). Under torchrun each rank predicts its part of the chunks and
    the per-frame sums are added over ranks: every rank gets the same logits.
    """
    device = next(model.parameters()).device
    model.eval()
    owner, start = cs.eval_chunks(shift)
    if owner.size == 0:
        return np.zeros((0, cs.task.output_size), np.float32)
    order = cs.eval_order(owner, start)
    mine = distributed.local_part(order)
    total = count = None
    size = cs.eval_batch(4 * max(cfg.chunk_batch_size, 1))
    for b in range(0, max(mine.size, 1), size):
        sel = mine[b:b + size] if mine.size else order[:1]  # no chunk here: only sizes `total`
        o, s = owner[sel], start[sel]
        with autocast(device, cpu_bf16=cfg.cpu_bf16):
            logits = model(cs.batch(o, s, device)).float().cpu()
        if total is None:
            total = torch.zeros((len(cs), logits.shape[-1]))
            count = torch.zeros(len(cs))
        if not mine.size:
            break
        added = cs.combine(o, s, logits, total, count)
        if on_batch is not None:  # frames done (mean rule: each is added L / stride times)
            on_batch(added * cs.spec.eval_stride // cs.spec.frames
                     if cs.spec.overlap == "mean" else added)
    total, count = distributed.all_sum_tensor(total), distributed.all_sum_tensor(count)
    each = 1 if cs.spec.overlap == "centre" else cs.spec.frames // cs.spec.eval_stride
    if not torch.all(count == each):
        raise HarnessError(f"chunk grid: frames were predicted {int(count.min())} to "
                           f"{int(count.max())} times, not {each}; a bug in "
                           "harness.features.chunks")
    return (total / count.clamp(min=1)[:, None]).numpy()

