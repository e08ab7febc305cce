"""Stage 1 (the ``current_face`` model): fine-tune a face backbone on one frame in five, then use
it frozen to give every frame of every video a face feature.

Recipe (paper, for a pretrained EmoNet): AdamW, weight decay 0.05, backbone lr 4e-5, head lr
4e-3, lr x0.5 after 2 epochs without validation-F1 gain, at most 30 epochs, best epoch chosen by
validation macro F1 alone (the release mixed in accuracy). Evaluation is deterministic: no flips,
no crops, a fixed frame phase (the release re-drew frames and flipped at evaluation). A backbone
trained from scratch (the default ``light`` one on the embedded corpus) needs a far larger
backbone lr: that default is ``SCRATCH_BACKBONE_LR``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from filelock import FileLock
from torch import nn
from torch.utils.data import DataLoader, Dataset

from harness.atomic import atomic_open, write_json
from harness.console import progress
from harness.data.face_index import nearest_frames
from harness.data.labels import NUM_CLASSES
from harness.data.release import Release
from harness.data.splits import Split
from harness.device import autocast, resolve_device, seed_everything
from harness.errors import HarnessError
from harness.features.backbones import create_backbone
from harness.features.cache import FeatureCache
from harness.features.timeline import frame_times
from harness.metrics import scores

PRETRAINED_BACKBONE_LR = 4e-5
SCRATCH_BACKBONE_LR = 2e-3


@dataclass
class FaceConfig:
    """Stage-1 settings; defaults are the paper's unless marked."""

    backbone: str = "light"  # ours, for CPUs; the paper's is "emonet" (pass --face-weights)
    weights: str | None = None  # local EmoNet-style state dict; none can be downloaded
    lr_backbone: float | None = None  # None: 4e-5 with pretrained weights, 2e-3 from scratch
    lr_head: float = 4e-3
    weight_decay: float = 0.05
    max_epochs: int = 30
    lr_patience: int = 2
    lr_factor: float = 0.5
    early_stop: int = 5  # ours: the paper gives no patience; its best epoch was about 15
    frame_stride: int = 5  # one labelled frame in five
    batch_size: int = 128
    seed: int = 0
    device: str = "auto"
    num_workers: int = 0

    def identity(self) -> dict:
        """Fields the trained model depends on (not where or how fast it ran)."""
        d = asdict(self)
        for k in ("device", "num_workers"):
            d.pop(k)
        if self.weights:
            d["weights"] = _file_digest(Path(self.weights))
        return d


class FaceModel(nn.Module):
    """Backbone + the paper's new head: feature -> 128 -> BN -> ReLU -> 8."""

    def __init__(self, backbone: nn.Module, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Sequential(
            nn.Linear(backbone.feature_dim, 128), nn.BatchNorm1d(128), nn.ReLU(),
            nn.Linear(128, num_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))


class FaceImages(Dataset):
    """Decodes jpgs on demand (the real set has 2.6 M of them: never all in memory).

    A corrupt or zero-byte jpg yields a black image with ``ok=False``; training masks it out and
    extraction treats it as a frame without a face.
    """

    def __init__(self, paths: list[Path], size: int):
        self.paths = paths
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, bool]:
        img = cv2.imread(str(self.paths[i]), cv2.IMREAD_COLOR)
        if img is None:
            return torch.zeros(3, self.size, self.size), False
        if img.shape[0] != self.size or img.shape[1] != self.size:
            interp = cv2.INTER_AREA if img.shape[0] > self.size else cv2.INTER_LINEAR
            img = cv2.resize(img, (self.size, self.size), interpolation=interp)
        rgb = np.ascontiguousarray(img[:, :, ::-1])
        return torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255.0), True


@dataclass
class FaceStage:
    checkpoint: Path
    best_epoch: int
    best_val_f1: float
    history: list[dict] = field(default_factory=list)
    key: str = ""


# --------------------------------------------------------------------------- frame selection

def labelled_face_frames(release: Release, names: tuple[str, ...]):
    """(name index, frame, label) of every frame with a valid label and its own face image."""
    idx, frames, labels = [], [], []
    for i, name in enumerate(names):
        lab = release.labels(name)
        have = release.faces.frames(name)
        have = have[have <= lab.size]
        have = have[lab[have - 1] >= 0]
        idx.append(np.full(have.size, i))
        frames.append(have)
        labels.append(lab[have - 1])
    return np.concatenate(idx), np.concatenate(frames), np.concatenate(labels).astype(np.int64)


def class_weights(labels: np.ndarray) -> torch.Tensor:
    """Inverse class frequency, mean 1 over present classes; absent classes weigh 0."""
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / np.maximum(counts, 1), 0.0)
    w = w / w[counts > 0].mean()
    return torch.tensor(w, dtype=torch.float32)


# --------------------------------------------------------------------------- stage 1

def face_stage_key(release: Release, split: Split, cfg: FaceConfig) -> str:
    blob = json.dumps({"cfg": cfg.identity(), "train": split.train, "val": split.val,
                       "data": release.fingerprint, "arch": _architecture(cfg.backbone)},
                      sort_keys=True)
    return f"{cfg.backbone}-{split.name}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"


def finetune_face(release: Release, split: Split, cfg: FaceConfig, models_dir: Path,
                  *, show_progress: bool = True) -> FaceStage:
    """Train (or reuse) the stage-1 face model of ``split``; returns its checkpoint.

    A file lock per model key means concurrent runs that need the same model train it once:
    the others wait, then reuse it.
    """
    key = face_stage_key(release, split, cfg)
    models_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(models_dir / f"{key}.lock")):
        done = _load_stage(models_dir, key)
        if done is None:
            _train_stage(release, split, cfg, models_dir, key, show_progress)
            done = _load_stage(models_dir, key)
    return done


def _load_stage(models_dir: Path, key: str) -> FaceStage | None:
    ckpt, meta_path = models_dir / f"{key}.pt", models_dir / f"{key}.json"
    if not (ckpt.is_file() and meta_path.is_file()):
        return None
    meta = json.loads(meta_path.read_text())
    return FaceStage(ckpt, meta["best_epoch"], meta["best_val_f1"], meta["history"], key)


def _train_stage(release, split, cfg, models_dir, key, show_progress) -> None:
    device = resolve_device(cfg.device)
    gen = seed_everything(cfg.seed)
    model = build_face_model(cfg).to(device)
    train = labelled_face_frames(release, split.train)
    val = labelled_face_frames(release, split.val)
    if train[0].size == 0 or val[0].size == 0:
        raise HarnessError(f"split {split.name}: no labelled face frames to fine-tune on")
    weights = class_weights(train[2]).to(device)
    opt = _optimizer(model, cfg)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="max", factor=cfg.lr_factor, patience=cfg.lr_patience)
    best, best_state, history, stale = -1.0, None, [], 0
    with progress("images", disable=not show_progress) as bar:
        for epoch in range(1, cfg.max_epochs + 1):
            phase = int(torch.randint(cfg.frame_stride, (1,), generator=gen))
            loss = _train_epoch(model, release, split.train, train, phase, cfg, weights,
                                opt, device, gen, bar, epoch)
            f1 = _evaluate(model, release, split.val, val, cfg, device, bar)
            sched.step(f1)
            history.append({"epoch": epoch, "loss": loss, "val_macro_f1": f1,
                            "lr_backbone": opt.param_groups[0]["lr"]})
            if f1 > best:
                best, best_state, stale = f1, copy.deepcopy(model.state_dict()), 0
            else:
                stale += 1
            if stale >= cfg.early_stop:
                break
    best_epoch = max(history, key=lambda h: h["val_macro_f1"])["epoch"]
    with atomic_open(models_dir / f"{key}.pt", "wb") as fh:
        torch.save(best_state, fh)
    write_json(models_dir / f"{key}.json", {  # written last: marks the model done
        "best_epoch": best_epoch, "best_val_f1": best, "history": history,
        "config": cfg.identity(), "split": split.name})


def build_face_model(cfg: FaceConfig) -> FaceModel:
    """The backbone (with checked pretrained weights, if given) under a fresh 8-class head."""
    return FaceModel(create_backbone(cfg.backbone, weights=cfg.weights))


def load_face_model(cfg: FaceConfig, checkpoint: Path, device: torch.device) -> FaceModel:
    model = FaceModel(create_backbone(cfg.backbone))
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    return model.to(device).eval()


def _optimizer(model: FaceModel, cfg: FaceConfig) -> torch.optim.Optimizer:
    lr_b = cfg.lr_backbone
    if lr_b is None:
        lr_b = PRETRAINED_BACKBONE_LR if cfg.weights else SCRATCH_BACKBONE_LR
    return torch.optim.AdamW(
        [{"params": model.backbone.parameters(), "lr": lr_b},
         {"params": model.head.parameters(), "lr": cfg.lr_head}],
        weight_decay=cfg.weight_decay,
    )


def _paths(release: Release, names, idx, frames) -> list[Path]:
    return [release.faces.path(names[i], f) for i, f in zip(idx.tolist(), frames.tolist())]


def _loader(paths: list[Path], size: int, cfg: FaceConfig, labels=None) -> DataLoader:
    ds = FaceImages(paths, size)
    if labels is not None:
        ds = _Labelled(ds, labels)
    return DataLoader(ds, batch_size=cfg.batch_size, shuffle=False, num_workers=cfg.num_workers)


class _Labelled(Dataset):
    def __init__(self, images: FaceImages, labels: np.ndarray):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        img, ok = self.images[i]
        return img, ok, int(self.labels[i])


def _train_epoch(model, release, names, items, phase, cfg, weights, opt, device, gen, bar,
                 epoch) -> float:
    idx, frames, labels = items
    keep = np.flatnonzero((frames - 1) % cfg.frame_stride == phase)
    keep = keep[torch.randperm(keep.size, generator=gen).numpy()]
    loader = _loader(_paths(release, names, idx[keep], frames[keep]),
                     model.backbone.input_size, cfg, labels[keep])
    model.train()
    task = bar.add_task(f"face epoch {epoch}", total=keep.size, info="")
    total, count = 0.0, 0
    loss_fn = nn.CrossEntropyLoss(weight=weights, reduction="none")
    for img, ok, y in loader:
        img, ok, y = img.to(device), ok.to(device), y.to(device)
        img = _augment(img, gen)
        with autocast(device):
            loss = (loss_fn(model(img), y) * ok).sum() / ok.sum().clamp(min=1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * len(y)
        count += len(y)
        bar.update(task, advance=len(y), info=f"loss {total / count:.3f}")
    return total / max(count, 1)


def _augment(img: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Training only: a horizontal flip and a brightness change per image (never at eval)."""
    n = img.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    img = torch.where(flip.to(img.device)[:, None, None, None], img.flip(-1), img)
    gain = 0.8 + 0.4 * torch.rand(n, generator=gen)
    return (img * gain.to(img.device)[:, None, None, None]).clamp_(0, 1)


@torch.inference_mode()
def _evaluate(model, release, names, items, cfg, device, bar) -> float:
    idx, frames, labels = items
    keep = np.flatnonzero((frames - 1) % cfg.frame_stride == 0)  # fixed phase: repeatable
    loader = _loader(_paths(release, names, idx[keep], frames[keep]),
                     model.backbone.input_size, cfg)
    model.eval()
    task = bar.add_task("face validation", total=keep.size, info="")
    preds = []
    for img, _ok in loader:
        with autocast(device):
            preds.append(model(img.to(device)).argmax(1).cpu())
        bar.update(task, advance=len(img))
    f1 = scores(labels[keep], torch.cat(preds).numpy()).macro_f1
    bar.update(task, info=f"macro F1 {f1:.3f}")
    return f1


# --------------------------------------------------------------------------- extraction

def extract_face_features(release: Release, names: list[str], stage: FaceStage,
                          cfg: FaceConfig, cache: FeatureCache,
                          *, show_progress: bool = True) -> None:
    """Cache one feature per frame 1..N for every name; frames with no usable face take the
    nearest usable frame's feature and are flagged."""
    todo = cache.missing(names)
    if not todo:
        return
    device = resolve_device(cfg.device)
    model = load_face_model(cfg, stage.checkpoint, device)
    with progress("frames", disable=not show_progress) as bar:
        sizes = {name: release.n_frames(name) for name in todo}
        task = bar.add_task("face features", total=sum(sizes.values()), info="")
        for name in todo:
            if cache.has(name):  # another process got there first
                bar.update(task, advance=sizes[name], info=name)
                continue
            feat, flag, bad = _name_features(release, name, model, cfg, device)
            cache.save(name, feat, frame_times(np.arange(1, feat.shape[0] + 1),
                                               release.fps(name)), flag)
            if bad.size:
                warnings.warn(f"{name}: {bad.size} unreadable face image(s) (corrupt or empty), "
                              f"treated as frames without a face, first: frame {bad[0]}",
                              stacklevel=2)
            bar.update(task, advance=sizes[name], info=name)


@torch.inference_mode()
def _name_features(release, name, model, cfg, device):
    """Features and flags of frames 1..N, and the frames whose jpg could not be decoded."""
    n = release.n_frames(name)
    have = release.faces.frames(name)
    have = have[have <= n]
    feats, oks = [], []
    for img, ok in _loader([release.faces.path(name, f) for f in have.tolist()],
                           model.backbone.input_size, cfg):
        with autocast(device):
            feats.append(model.backbone(img.to(device)).float().cpu())
        oks.append(ok)
    dim = model.backbone.feature_dim
    if not feats:
        return np.zeros((n, dim), np.float32), np.ones(n, bool), have[:0]
    feat = torch.cat(feats).numpy()
    ok = torch.cat(oks).numpy().astype(bool)
    return (*fill_from_nearest(feat[ok], have[ok], n, dim), have[~ok])


def fill_from_nearest(feat: np.ndarray, have: np.ndarray, n: int, dim: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Rows for frames 1..n from features of frames ``have``; others copy the nearest, flagged."""
    if have.size == 0:
        return np.zeros((n, dim), np.float32), np.ones(n, bool)
    near = nearest_frames(have, n)
    rows = np.searchsorted(have, near)
    flag = np.ones(n, bool)
    flag[have - 1] = False
    return feat[rows].astype(np.float32), flag


def _architecture(backbone: str) -> str:
    """Parameter names and shapes: a changed backbone definition must not reuse old models."""
    shapes = [(k, tuple(v.shape)) for k, v in create_backbone(backbone).state_dict().items()]
    return hashlib.sha256(repr(shapes).encode()).hexdigest()[:10]


def _file_digest(path: Path) -> str:
    if not path.is_file():
        raise HarnessError(f"face weights {path} not found")
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]

