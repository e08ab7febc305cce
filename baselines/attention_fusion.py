"""``attention_fusion``: the RT-IAI fusion model (Table 2, best row), with working attention.

Per modality a ``TemporalEncoder`` gives T = 12 per-step outputs of 256; a ``CrossAttention``
whose query is the current face feature attends over all of them (the release attended over the
LSTM's final state alone: one key, weight always 1, query without effect). The classifier reads
concat[current face (Df), three attention outputs (256 each)].

After each forward the head-averaged weights are kept in ``last_attention[modality]`` (B, T),
detached; ``forward(batch, return_attention=True)`` returns them with the logits instead.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from harness.data.labels import NUM_CLASSES
from harness.features.modalities import MODALITIES

from .layers import (
    ClassifierHead,
    CrossAttention,
    TemporalEncoder,
    batch_mask,
    check_batch,
    current_face_feature,
)
from .registry import register_baseline

FUSED = MODALITIES  # face, audio, pose


class AttentionFusion(nn.Module):
    """Per-modality BiLSTM + cross-attention queried by the current face -> classifier."""

    def __init__(self, dims: dict[str, int], num_classes: int = NUM_CLASSES, heads: int = 8):
        super().__init__()
        self.dims = dict(dims)
        self.encoders = nn.ModuleDict({m: TemporalEncoder(d) for m, d in self.dims.items()})
        self.attention = nn.ModuleDict({
            m: CrossAttention(self.dims["face"], enc.out_features, heads)
            for m, enc in self.encoders.items()
        })
        width = self.dims["face"] + sum(e.out_features for e in self.encoders.values())
        self.classifier = ClassifierHead(width, num_classes)
        self.last_attention: dict[str, Tensor] = {}

    def forward(self, batch: dict[str, Tensor], return_attention: bool = False
                ) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        """Logits ``(B, num_classes)``; with ``return_attention`` also ``{modality: (B, T)}``."""
        check_batch(batch, self.dims)
        face = current_face_feature(batch)
        parts, weights = [face], {}
        for m, enc in self.encoders.items():
            observed = batch_mask(batch, batch[m], m)
            out, weights[m] = self.attention[m](face, *self.keys(enc(batch[m], observed), observed))
            parts.append(out)
        logits = self.classifier(torch.cat(parts, dim=1))
        self.last_attention = {m: w.detach() for m, w in weights.items()}
        return (logits, weights) if return_attention else logits

    def keys(self, seq: Tensor, observed: Tensor) -> tuple[Tensor, Tensor | None]:
        """What attention weighs: every step of the encoder's output, padded steps masked.

        A hook so that a variant can attend over something else (examples/release_defects.py
        puts back the release's single key) without writing the forward pass again.
        """
        return seq, observed


@register_baseline(
    "attention_fusion",
    modalities=FUSED,
    optional=("audio", "pose"),  # MTL: the face sequence alone
    description="Per-modality BiLSTM + cross-attention over time queried by the current face.",
)
def attention_fusion(dims: dict[str, int], num_classes: int = NUM_CLASSES, heads: int = 8
                     ) -> nn.Module:
    """Build ``AttentionFusion`` for the face, audio and pose sizes in ``dims``."""
    return AttentionFusion({m: dims[m] for m in FUSED if m in dims}, num_classes, heads)
