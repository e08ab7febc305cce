"""``only_audio`` and ``only_pose``: one modality's window through its BiLSTM (ablations).

The same model as ``only_video`` on another modality: how much each modality carries alone,
the question behind "fusion beats every single modality". Register them with

    harness run only_audio --baseline-module examples/single_modality.py
    harness run only_pose --baseline-module examples/single_modality.py
"""

from __future__ import annotations

from torch import Tensor, nn

from baselines import register_baseline
from baselines.layers import (
    ClassifierHead,
    TemporalEncoder,
    batch_mask,
    check_batch,
    check_pool,
    pool_steps,
)
from harness.data.labels import NUM_CLASSES


class OnlyOne(nn.Module):
    """``TemporalEncoder`` on one modality's window -> the current step -> ``ClassifierHead``."""

    def __init__(self, modality: str, dim: int, num_classes: int = NUM_CLASSES,
                 pool: str = "current"):
        super().__init__()
        self.modality, self.dims = modality, {modality: dim}
        self.pool = check_pool(pool)
        self.encoder = TemporalEncoder(dim)
        self.classifier = ClassifierHead(self.encoder.out_features, num_classes)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        check_batch(batch, self.dims)
        x = batch[self.modality]
        observed = batch_mask(batch, x, self.modality)
        return self.classifier(pool_steps(self.encoder(x, observed), observed, self.pool))


@register_baseline("only_audio", modalities=("audio",),
                   description="Audio window -> BiLSTM -> classifier (ablation).")
def only_audio(dims: dict[str, int], num_classes: int = NUM_CLASSES) -> nn.Module:
    return OnlyOne("audio", dims["audio"], num_classes)


@register_baseline("only_pose", modalities=("pose",),
                   description="Pose window -> BiLSTM -> classifier (ablation).")
def only_pose(dims: dict[str, int], num_classes: int = NUM_CLASSES) -> nn.Module:
    return OnlyOne("pose", dims["pose"], num_classes)
