"""Stage 1 (the ``current_face`` model): fine-tune a face backbone on one labelled frame in five.

Recipe (paper, for a pretrained EmoNet): AdamW, weight decay 0.05, backbone lr 4e-5, head lr
4e-3, lr x0.5 after 2 epochs without validation-F1 gain, at most 30 epochs, best epoch chosen by
validation macro F1 alone (the release mixed in accuracy). Evaluation is deterministic: no flips,
no crops, a fixed frame phase (the release re-drew frames and flipped at evaluation). A backbone
trained from scratch (the default ``light`` one on the embedded corpus) needs a far larger
backbone lr: that default is ``SCRATCH_BACKBONE_LR``. The epoch loop is ``harness.train.fit``;
a killed fine-tune resumes from its last epoch the next time it is asked for.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress, TaskID
from torch import Tensor, nn

from harness import distributed
from harness.atomic import atomic_open, write_json
from harness.data.release import Release
from harness.data.splits import Split
from harness.device import autocast, resolve_device
from harness.errors import HarnessError, reading
from harness.features.face import finetune
from harness.features.face.config import (
    PRETRAINED_BACKBONE_LR,
    SCRATCH_BACKBONE_LR,
    FaceConfig,
)
from harness.features.face.images import (
    FaceFiles,
    FaceImages,
    FaceLoader,
    chunks,
    loader_size,
    stored_size,
    to_device,
    to_model_input,
)
from harness.features.face.inputs import training_faces
from harness.features.face.model import FaceModel, architecture_digest, build_face_model
from harness.losses import task_loss
from harness.metrics import scores
from harness.paths import file_digest
from harness.provenance import producer
from harness.train import Batch, class_weights, fit, selection_names, validation_figure


@dataclass
class FaceStage:
    """A finished stage-1 model: its checkpoint (state dict) and how its training went."""

    checkpoint: Path
    best_epoch: int
    best_val_f1: float
    history: list[dict] = field(default_factory=list)
    key: str = ""
    #: The checkpoint's digest and who trained it (``harness.provenance``): ``{"key",
    #: "digest", "made_by"}``; ``made_by`` is None for a model trained before it was recorded.
    provenance: dict = field(default_factory=dict)


#: (name index, 1-based frame, label) arrays of frames with a valid label and their own face;
#: labels in the release's task's layout (EXPR int64 classes, VA (n, 2), AU (n, 12)).
FaceItems = tuple[np.ndarray, np.ndarray, np.ndarray]


def labelled_face_frames(release: Release, names: tuple[str, ...]) -> FaceItems:
    """Every frame of ``names`` with a valid label (of ``release.task``) and its own face."""
    task = release.task
    idx, frames, labels = [], [], []
    for i, name in enumerate(names):
        lab = release.labels(name)
        have = release.faces.frames(name)
        have = have[have <= len(lab)]
        have = have[task.valid(lab)[have - 1]]
        idx.append(np.full(have.size, i))
        frames.append(have)
        labels.append(lab[have - 1])
    dtype = np.int64 if task.classification else task.dtype
    return np.concatenate(idx), np.concatenate(frames), np.concatenate(labels).astype(dtype)


class FaceFrameStage:
    """Stage 1's batches (augmented face crops), masked loss and validation for ``fit``."""

    unit = "images"

    def __init__(self, release: Release, split: Split, cfg: FaceConfig, model: FaceModel,
                 device: torch.device):
        self.release, self.split, self.cfg, self.device = release, split, cfg, device
        self.size = model.backbone.input_size
        self.train = labelled_face_frames(release, split.train)
        self.val = labelled_face_frames(release, split.val)
        if self.train[0].size == 0 or self.val[0].size == 0:
            raise HarnessError(f"split {split.name}: no labelled face frames to fine-tune on")
        self.task = release.task
        self.metric, self.history_key = selection_names(self.task)
        if self.task.classification:
            weights = class_weights(self.train[2]).to(device)
            self.loss_fn = nn.CrossEntropyLoss(weight=weights, reduction="none")
        else:  # the task's loss over the decodable images (``loss``)
            self.loss_fn = task_loss(self.task, self.train[2], device)  # VA: CCC
        self.train_images = self._loader(split.train, self.train)
        self.val_images = self._loader(split.val, self.val)

    def batches(self, epoch: int, gen: torch.Generator) -> tuple[int, Iterator[Batch]]:
        idx, frames, labels = self.train
        phase = int(torch.randint(self.cfg.frame_stride, (1,), generator=gen))
        keep = np.flatnonzero((frames - 1) % self.cfg.frame_stride == phase)
        keep = keep[torch.randperm(keep.size, generator=gen).numpy()]
        if keep.size % self.cfg.batch_size == 1:  # the head's BatchNorm1d cannot train on a
            keep = keep[:-1]  # last batch of one image: leave out that (randomly drawn) image
        plan = _ddp_plan([keep[b] for b in chunks(keep.size, self.cfg.batch_size)])

        def generate() -> Iterator[Batch]:
            parts = self.train_images.batches([distributed.local_part(b) for b in plan])
            for (img, ok, y), whole in zip(parts, plan):
                img = to_model_input(to_device(img, self.device), self.size)
                ok, y = ok.to(self.device), y.to(self.device)
                yield augment(img, gen, whole.size, distributed.part_offset(whole.size)), y, ok
        return sum(distributed.local_part(b).size for b in plan), generate()

    def loss(self, logits: Tensor, targets: Tensor, weight: Tensor | None) -> Tensor:
        """Class-weighted cross-entropy averaged over decodable images (``weight`` = ok); for
        VA/AU the task's loss over those images, on the task's outputs (VA: tanh)."""
        if not self.task.classification:
            ok = weight.bool()
            return self.loss_fn(self.task.activate(logits[ok]), targets[ok])
        return (self.loss_fn(logits, targets) * weight).sum() / weight.sum().clamp(min=1)

    @torch.inference_mode()
    def validate(self, model: nn.Module, bar: Progress, task: TaskID) -> float:
        idx, frames, labels = self.val
        keep = np.flatnonzero((frames - 1) % self.cfg.frame_stride == 0)  # fixed: repeatable
        mine = distributed.local_part(keep)  # under torchrun: this rank's part, gathered below
        model.eval()
        bar.update(task, total=mine.size)
        preds = [np.zeros((0, self.task.output_size), np.float32)]
        for img, *_ in self.val_images.batches([mine[b] for b in chunks(mine.size,
                                                                         self.cfg.batch_size)]):
            img = to_model_input(to_device(img, self.device), self.size)
            with autocast(self.device):
                preds.append(self.task.activate(model(img).float()).cpu().numpy())
            bar.advance(task, len(img))
        outputs = distributed.gather(np.concatenate(preds), keep.size)
        if self.task.classification:
            return scores(labels[keep], outputs.argmax(1)).macro_f1
        return validation_figure(self.task, labels[keep], outputs)

    def _loader(self, names: tuple[str, ...], items: FaceItems) -> FaceLoader:
        """Persistent decoding workers over every labelled face of ``names``."""
        files = FaceFiles.of(self.release.faces, names, items[0], items[1])
        size = loader_size(stored_size(files), self.size, self.device)
        return FaceLoader(FaceImages(files, size, items[2]), self.cfg.num_workers,
                          pin=self.device.type == "cuda")


def _ddp_plan(plan: list[np.ndarray]) -> list[np.ndarray]:
    """Under torchrun, drop a last batch too small to give every rank two images (BatchNorm)."""
    if distributed.world_size() > 1 and plan and plan[-1].size < 2 * distributed.world_size():
        return plan[:-1]
    return plan


def augment(img: Tensor, gen: torch.Generator, n: int | None = None, offset: int = 0) -> Tensor:
    """Training only: a horizontal flip and a brightness change per image (never at eval).

    The draws are made for the whole batch of ``n`` images (default: ``img``'s), of which
    ``img`` holds ``offset:offset + len(img)``: every rank of a torchrun job then draws alike
    and keeps the same epoch order, and an image gets the same change whatever the rank count.
    """
    n = img.shape[0] if n is None else n
    part = slice(offset, offset + img.shape[0])
    flip = (torch.rand(n, generator=gen) < 0.5)[part]
    img = torch.where(flip.to(img.device)[:, None, None, None], img.flip(-1), img)
    gain = (0.8 + 0.4 * torch.rand(n, generator=gen))[part]
    return (img * gain.to(img.device)[:, None, None, None]).clamp_(0, 1)


def warn_if_not_paper(cfg: FaceConfig) -> None:
    """EmoNet without pretrained weights trains from scratch: say it is not the paper's system."""
    if cfg.backbone == "emonet" and not cfg.weights:
        lr = SCRATCH_BACKBONE_LR if cfg.lr_backbone is None else cfg.lr_backbone
        warnings.warn(
            f"--backbone emonet without --face-weights trains EmoNet from scratch (backbone lr "
            f"{lr:g}): this is not the paper's system, an AffectNet-pretrained EmoNet fine-tuned "
            f"at {PRETRAINED_BACKBONE_LR:g}; pass --face-weights emonet_8.pth for that",
            stacklevel=2)


def face_stage_key(release: Release, split: Split, cfg: FaceConfig) -> str:
    """The stage-1 model's key: its own per task (EXPR's as it always was)."""
    what = {"cfg": cfg.identity(), "train": split.train, "val": split.val,
            "data": release.fingerprint, "arch": architecture_digest(cfg.backbone)}
    if not release.task.classification:
        what["task"] = release.task.name
    blob = json.dumps(what, sort_keys=True)
    return f"{finetune.key_name(cfg)}-{split.name}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"


def finetune_face(release: Release, split: Split, cfg: FaceConfig, models_dir: Path,
                  *, show_progress: bool = True) -> FaceStage:
    """Train (or reuse) the stage-1 face model of ``split``; returns its checkpoint.

    A file lock per model key means concurrent runs that need the same model train it once:
    the others wait, then reuse it. A fine-tune killed mid-way left its last epoch's state
    beside the model; the next call resumes from there.
    """
    key = face_stage_key(release, split, cfg)
    faces = training_faces(release, split)
    models_dir.mkdir(parents=True, exist_ok=True)
    with distributed.main_lock(models_dir / f"{key}.lock"):  # torchrun: all ranks train it
        done = distributed.broadcast(_load_stage(models_dir, key, faces)
                                     if distributed.is_main() else None)
        if done is None:
            _train_stage(release, split, cfg, models_dir, key, faces, show_progress)
            distributed.barrier()
            done = _load_stage(models_dir, key, faces)
    return done


def _load_stage(models_dir: Path, key: str, faces: tuple[str, str]) -> FaceStage | None:
    """The finished model ``key``, or None to train it: absent, or trained on other faces
    (``faces``: digest and description of its split's face images, see ``training_faces``)."""
    ckpt, meta_path = models_dir / f"{key}.pt", models_dir / f"{key}.json"
    state_file = models_dir / f"{key}.state.pt"
    if not (ckpt.is_file() and meta_path.is_file()):
        if _trained_on(state_file.with_suffix(".json")) not in (None, faces[0]):
            state_file.unlink(missing_ok=True)  # a killed fine-tune on other faces: start over
        return None
    with reading(meta_path, f"delete it and {ckpt.name} to train the face model again"):
        meta = json.loads(meta_path.read_text())
        stage = FaceStage(ckpt, meta["best_epoch"], meta["best_val_f1"], meta["history"], key)
        stage.provenance = _provenance(ckpt, key, meta.get("provenance"))
    was = meta.get("inputs") if isinstance(meta, dict) else None
    if not (isinstance(was, list) and len(was) == 2 and was[0] == faces[0]):
        why = (f"{was[1]} -> {faces[1]}" if isinstance(was, list) and len(was) == 2
               else "no record of them (trained by an older harness)")
        warnings.warn(f"stage-1 face model {key}: its training and validation faces changed "
                      f"since it was trained ({why}); training it again", stacklevel=2)
        meta_path.unlink(missing_ok=True)  # the .pt is replaced when the new one is done
        state_file.unlink(missing_ok=True)
        return None
    return stage


def _provenance(ckpt: Path, key: str, recorded: object) -> dict:
    """The model's digest and maker as recorded beside it; a model trained before they were
    recorded gets its digest from its file and no maker."""
    rec = recorded if isinstance(recorded, dict) else {}
    digest = rec.get("digest") if isinstance(rec.get("digest"), str) else file_digest(ckpt)
    made_by = rec.get("made_by") if isinstance(rec.get("made_by"), dict) else None
    return {"key": key, "digest": digest, "made_by": made_by}


def _trained_on(marker: Path) -> str | None:
    try:
        return json.loads(marker.read_text())["faces"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _train_stage(release: Release, split: Split, cfg: FaceConfig, models_dir: Path, key: str,
                 faces: tuple[str, str], show_progress: bool) -> None:
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)  # the head's initial weights
    model = build_face_model(cfg, num_classes=release.task.output_size).to(device)
    stage = FaceFrameStage(release, split, cfg, model, device)
    state_file = models_dir / f"{key}.state.pt"
    if distributed.is_main():  # which faces a resumed fine-tune was started on
        write_json(state_file.with_suffix(".json"), {"faces": faces[0]})
    result = fit(model, _optimizer(model, cfg), stage, cfg.schedule(), device=device,
                 state_file=state_file, resume=True, quiet=not show_progress)
    if not distributed.is_main():
        return
    with atomic_open(models_dir / f"{key}.pt", "wb") as fh:
        torch.save(result.state, fh)
    made_by = producer() | {"device": str(device), "seed": cfg.seed}
    write_json(models_dir / f"{key}.json", {  # written last: marks the model done
        "best_epoch": result.best_epoch, "best_val_f1": result.best_val_f1,
        "history": result.history, "config": cfg.identity(), "split": split.name,
        "inputs": list(faces),
        "provenance": {"digest": file_digest(models_dir / f"{key}.pt"), "made_by": made_by}})
    state_file.unlink(missing_ok=True)
    state_file.with_suffix(".json").unlink(missing_ok=True)


def _optimizer(model: FaceModel, cfg: FaceConfig) -> torch.optim.Optimizer:
    return finetune.optimizer(model, cfg)  # the paper's groups; per block for a scheme's model

