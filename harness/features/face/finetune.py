"""Fine-tuning a pretrained model's backbone in stage 1 (``--backbone hf:PATH --finetune``).

ORA10 (DINOv2) and CtyunAI (CLIP) fine-tuned their foundation model on the faces before
extracting features; this is that, through stage 1 and the one training loop
(``harness.train.fit``): the model (a scheme's ``trainable`` module) under the stage-1 head.

- ``--finetune-blocks all`` (default) trains every parameter; ``lastK`` trains the last K blocks
  and what follows them (the final norm, a pooler), the embeddings and earlier blocks frozen.
- ``--layer-decay D`` (default 1: none): the top block and what follows it train at the
  backbone lr, block ``d`` places below the top at ``lr x D^d``, the embeddings (and anything
  before the first block) at ``lr x D^L`` for ``L`` blocks; the head at ``--lr-head``.

The blocks are the model's longest run of layers: the ``nn.ModuleList`` holding the most
parameters (``encoder.layer`` of ViT, DINOv2, BEiT; ``encoder.layers`` of CLIP/SigLIP towers;
the stages of ConvNeXt and Swin). Parameters registered before the first block are the stem
(depth L), after the last one the top (depth 0).

A registered backbone (``light``, ``emonet``) keeps the paper's two groups (backbone, head).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from torch import nn

from harness.errors import HarnessError, reading
from harness.features.face.backbones import create_backbone
from harness.features.face.config import (
    PRETRAINED_BACKBONE_LR,
    SCHEME_OPTIONS,
    SCRATCH_BACKBONE_LR,
    FaceConfig,
)
from harness.features.face.schemes import location, scheme_of

_LAST = re.compile(r"last([1-9][0-9]*)")


def parse_blocks(text: str) -> int | None:
    """``all`` -> None; ``lastK`` -> K (K >= 1)."""
    if text == "all":
        return None
    m = _LAST.fullmatch(str(text))
    if m is None:
        raise HarnessError(f"--finetune-blocks takes all or lastK (e.g. last4), not {text!r}")
    return int(m.group(1))


def key_name(cfg: FaceConfig) -> str:
    """How stage-1 models and their feature caches are named on disk: a registered backbone by
    its name (as always), a fine-tuned scheme's model by its scheme (``hf-finetuned``; the
    model itself is in the key's hash, by content)."""
    scheme = scheme_of(cfg.backbone)
    return cfg.backbone if scheme is None else f"{scheme.prefix}-finetuned"


def backbone_lr(cfg: FaceConfig) -> float:
    """The backbone's lr: ``--lr-backbone``, else the paper's for pretrained weights (a scheme's
    model is pretrained), else ours from scratch."""
    if cfg.lr_backbone is not None:
        return cfg.lr_backbone
    pretrained = cfg.weights or scheme_of(cfg.backbone) is not None
    return PRETRAINED_BACKBONE_LR if pretrained else SCRATCH_BACKBONE_LR


def build_backbone(cfg: FaceConfig, *, for_training: bool = True) -> nn.Module:
    """The backbone stage 1 trains (or a fine-tuned one's skeleton to load a checkpoint into):
    a registered backbone with its weights, or a scheme's trainable module with only the
    chosen blocks requiring gradients."""
    scheme = scheme_of(cfg.backbone)
    if scheme is None:
        return create_backbone(cfg.backbone, weights=cfg.weights if for_training else None)
    if scheme.trainable is None:
        raise HarnessError(f"--finetune: a {scheme.prefix}: backbone cannot be fine-tuned")
    module = scheme.trainable(location(cfg.backbone), cfg)
    if for_training:
        freeze_below(module, parse_blocks(cfg.finetune_blocks), cfg.backbone)
    return module


@dataclass
class Layout:
    """A backbone's parameters by place: before the blocks, per block, after them."""

    stem: list[tuple[str, nn.Parameter]]
    blocks: list[list[tuple[str, nn.Parameter]]]
    top: list[tuple[str, nn.Parameter]]
    where: str  # the blocks' module name, for messages and docs

    def depths(self) -> list[tuple[int, list[tuple[str, nn.Parameter]]]]:
        """(depth below the top, parameters), top first: the top and last block at 0."""
        n = len(self.blocks)
        out = [(0, self.top + self.blocks[-1])]
        out += [(n - 1 - i, self.blocks[i]) for i in range(n - 2, -1, -1)]
        out.append((n, self.stem))
        return [(d, ps) for d, ps in out if ps]


def layout(module: nn.Module, where: str = "backbone") -> Layout:
    """Split ``module``'s parameters around its blocks (see the module docstring)."""
    lists = [(name, m) for name, m in module.named_modules()
             if isinstance(m, nn.ModuleList) and len(m) > 0]
    if not lists:
        raise HarnessError(f"{where}: no list of blocks (nn.ModuleList) to fine-tune by block")
    size = {name: sum(p.numel() for p in m.parameters()) for name, m in lists}
    name, blocks = max(lists, key=lambda item: (size[item[0]], -item[0].count(".")))
    owner = {id(p): i for i, block in enumerate(blocks) for p in block.parameters()}
    stem, top = [], []
    per_block: list[list[tuple[str, nn.Parameter]]] = [[] for _ in blocks]
    seen_block = False
    for pname, p in module.named_parameters():
        i = owner.get(id(p))
        if i is not None:
            per_block[i].append((pname, p))
            seen_block = True
        else:
            (top if seen_block else stem).append((pname, p))
    return Layout(stem, per_block, top, name)


def freeze_below(module: nn.Module, last: int | None, where: str) -> None:
    """Train everything (``last`` None) or only the last ``last`` blocks and the top."""
    module.requires_grad_(True)
    if last is None:
        return
    lay = layout(module, where)
    if last > len(lay.blocks):
        raise HarnessError(f"{where}: --finetune-blocks last{last}: the model has only "
                           f"{len(lay.blocks)} blocks ({lay.where})")
    for _, p in lay.stem + [item for b in lay.blocks[:len(lay.blocks) - last] for item in b]:
        p.requires_grad_(False)


def param_groups(model: nn.Module, cfg: FaceConfig) -> list[dict]:
    """The optimiser's groups: a registered backbone's one group (the paper's), or one per depth
    below the top (``--layer-decay``), top first; then the head at ``lr_head``. Frozen
    parameters are in no group. Each group of a scheme's model carries its ``depth``."""
    lr = backbone_lr(cfg)
    head = {"params": list(model.head.parameters()), "lr": cfg.lr_head}
    if scheme_of(cfg.backbone) is None:
        return [{"params": list(model.backbone.parameters()), "lr": lr}, head]
    groups = []
    for depth, params in layout(model.backbone, cfg.backbone).depths():
        trained = [p for _, p in params if p.requires_grad]
        if trained:
            groups.append({"params": trained, "lr": lr * cfg.layer_decay ** depth,
                           "depth": depth})
    return [*groups, head]


def optimizer(model: nn.Module, cfg: FaceConfig) -> torch.optim.Optimizer:
    """Stage 1's AdamW (the paper's weight decay) over ``param_groups``."""
    return torch.optim.AdamW(param_groups(model, cfg), weight_decay=cfg.weight_decay)


def checkpoint_config(backbone: str, checkpoint: Path) -> FaceConfig:
    """The face settings a scheme's fine-tuned checkpoint was built with (its scheme options,
    e.g. ``--hf-pool``, decide the feature size), read from the stage record beside it."""
    record = Path(checkpoint).with_suffix(".json")
    with reading(record, f"delete it and {Path(checkpoint).name} to train the face model again"):
        saved = json.loads(record.read_text())["config"]
    cfg = FaceConfig(backbone=backbone, finetune=True)
    for prefix in SCHEME_OPTIONS:
        if isinstance(saved.get(prefix), dict):
            kind = type(getattr(cfg, prefix))
            known = {f.name for f in fields(kind)}
            setattr(cfg, prefix, kind(**{k: v for k, v in saved[prefix].items() if k in known}))
    return cfg
