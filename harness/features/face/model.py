"""The stage-1 face model: a registered backbone under the paper's 8-class head.

The head is defined once, here: stage 1 fine-tunes it, and the ``current_face`` baseline loads
its state dict as is, so the two can never drift apart.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from harness.data.labels import NUM_CLASSES
from harness.errors import reading
from harness.features.face.backbones import create_backbone
from harness.features.face.schemes import location, scheme_of

if TYPE_CHECKING:
    from harness.features.face.config import FaceConfig


class FaceHead(nn.Sequential):
    """The paper's new face classifier: Linear(d -> 128) -> BatchNorm1d -> ReLU -> Linear(-> 8).

    An ``nn.Sequential`` so its state dict reads ``0.weight``, ``1.running_mean``, ``3.bias``...:
    the face fine-tune stage trains this class and ``current_face`` loads that state dict as is.
    """

    def __init__(self, in_features: int = 256, num_classes: int = NUM_CLASSES,
                 hidden: int = 128):
        super().__init__(
            nn.Linear(in_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )


class FaceModel(nn.Module):
    """Backbone + ``FaceHead``: face crops ``(B, 3, S, S)`` in [0, 1] -> logits ``(B, 8)``."""

    def __init__(self, backbone: nn.Module, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.backbone = backbone
        self.head = FaceHead(backbone.feature_dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))


def build_face_model(backbone: str | FaceConfig, weights: str | None = None,
                     num_classes: int = NUM_CLASSES) -> FaceModel:
    """The backbone (with checked pretrained weights, if given) under a fresh head of
    ``num_classes`` outputs (the task's ``output_size``: EXPR's 8 classes by default); given the
    face settings, a scheme's model to fine-tune (``finetune.build_backbone``)."""
    if isinstance(backbone, str):
        return FaceModel(create_backbone(backbone, weights=weights), num_classes)
    from harness.features.face.finetune import build_backbone

    return FaceModel(build_backbone(backbone), num_classes)


def load_face_model(backbone: str | FaceConfig, checkpoint: Path,
                    device: torch.device) -> FaceModel:
    """A fine-tuned face model from its stage-1 state dict, in eval mode on ``device``.

    A scheme's fine-tuned model (``hf:PATH --finetune``) is rebuilt from its folder with the
    settings given, or (a name only) those recorded beside the checkpoint. The head's width is
    the task's it was fine-tuned on (8 EXPR classes, 2 VA values...)."""
    with reading(checkpoint, "delete it (and its .json beside it) to train the face model again"):
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        width = int(state[_HEAD_OUT].shape[0]) if _HEAD_OUT in state else NUM_CLASSES
        name = backbone if isinstance(backbone, str) else backbone.backbone
        if scheme_of(name) is None:
            model = FaceModel(create_backbone(name), width)
        else:
            from harness.features.face.finetune import build_backbone, checkpoint_config

            cfg = checkpoint_config(name, checkpoint) if isinstance(backbone, str) else backbone
            model = FaceModel(build_backbone(cfg, for_training=False), width)
        model.load_state_dict(state)
    return model.to(device).eval()


#: The head's last layer's weight in a face model's state dict: its rows are the outputs.
_HEAD_OUT = "head.3.weight"


def architecture_digest(backbone: str) -> str:
    """Parameter names and shapes: a changed backbone definition must not reuse old models
    (a scheme's model: its content digest, which covers its configuration)."""
    scheme = scheme_of(backbone)
    if scheme is not None:
        return scheme.digest(location(backbone))
    shapes = [(k, tuple(v.shape)) for k, v in create_backbone(backbone).state_dict().items()]
    return hashlib.sha256(repr(shapes).encode()).hexdigest()[:10]
