"""``concat_fusion``: current face + the three temporal encodings, concatenated (Table 2).

The no-attention ablation of ``attention_fusion``: same encoders and classifier, but each
modality's sequence is summarised by a fixed pooling (``pool``, default the BiLSTM output at the
current step, as in ``only_video``) instead of attention queried by the current face. Ends in
logits; the release applied a softmax before cross-entropy here, which the harness does not.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from harness.data.labels import NUM_CLASSES
from harness.features.modalities import MODALITIES

from .layers import (
    ClassifierHead,
    TemporalEncoder,
    batch_mask,
    check_batch,
    check_pool,
    current_face_feature,
    pool_steps,
)
from .registry import register_baseline

FUSED = MODALITIES  # face, audio, pose


class ConcatFusion(nn.Module):
    """concat[current face (Df), pooled encoding of each modality (256 each)] -> classifier."""

    def __init__(self, dims: dict[str, int], num_classes: int = NUM_CLASSES,
                 pool: str = "current"):
        super().__init__()
        self.dims = dict(dims)
        self.pool = check_pool(pool)
        self.encoders = nn.ModuleDict({m: TemporalEncoder(d) for m, d in self.dims.items()})
        width = self.dims["face"] + sum(e.out_features for e in self.encoders.values())
        self.classifier = ClassifierHead(width, num_classes)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Logits ``(B, num_classes)``."""
        check_batch(batch, self.dims)
        face = current_face_feature(batch)
        parts = [face]
        for m, enc in self.encoders.items():
            observed = batch_mask(batch, batch[m], m)
            parts.append(pool_steps(enc(batch[m], observed), observed, self.pool))
        return self.classifier(torch.cat(parts, dim=1))


@register_baseline(
    "concat_fusion",
    modalities=FUSED,
    optional=("audio", "pose"),  # MTL: the face sequence alone
    description="Current face + face/audio/pose BiLSTM encodings concatenated -> classifier.",
)
def concat_fusion(dims: dict[str, int], num_classes: int = NUM_CLASSES, pool: str = "current"
                  ) -> nn.Module:
    """Build ``ConcatFusion`` for the face, audio and pose sizes in ``dims``."""
    return ConcatFusion({m: dims[m] for m in FUSED if m in dims}, num_classes, pool)
