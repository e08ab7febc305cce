"""The two fusion defects of the seed paper's release, put back: where Table 2's gap comes from.

The paper reports attention fusion 36.1 over concat fusion 31.8 (Aff-Wild2 validation). Its
release differs from the harness's fixed models in two places that bear on that gap
(``../shared/reference/rt-iai-system.md``, defects 4 and 12):

* ``concat_fusion_release``: ``concat_fusion`` ending in a softmax, so that cross-entropy
  takes the log-softmax of probabilities (defect 12). Predictions are unchanged (the argmax is
  the same); only training is hurt, as the loss's gradients are squashed.
* ``attention_fusion_release``: ``attention_fusion`` attending over each BiLSTM's final state
  alone (defect 4): one key, so every attention weight is 1 and the face query has no effect;
  the "attention output" is a linear map of the final state.

Run them beside the fixed baselines to see whether the paper's ordering comes from attention
or from the softmax of its concat model:

    harness run concat_fusion_release --baseline-module examples/release_defects.py
    harness run attention_fusion_release --baseline-module examples/release_defects.py

Both keep the harness's training recipe (AdamW, lr 1e-3, batch 256), not the paper's lr 0.02
and batch 4. Saved "logits" of ``concat_fusion_release`` are probabilities: post-process the
fixed baselines, not these.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from baselines import register_baseline
from baselines.attention_fusion import FUSED, AttentionFusion
from baselines.concat_fusion import ConcatFusion
from harness.data.labels import NUM_CLASSES


class ConcatFusionRelease(ConcatFusion):
    """``ConcatFusion`` returning softmax probabilities, which the loss then log-softmaxes."""

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        return super().forward(batch).softmax(dim=1)


def final_state(seq: Tensor) -> Tensor:
    """A BiLSTM's final state ``(B, 2H)`` from its per-step outputs ``(B, T, 2H)``.

    ``nn.LSTM``'s ``h_n`` of the last layer: the forward direction after the last step, the
    backward direction after the first (the encoder runs every step, padded or not).
    """
    half = seq.shape[-1] // 2
    return torch.cat([seq[:, -1, :half], seq[:, 0, half:]], dim=1)


class AttentionFusionRelease(AttentionFusion):
    """``AttentionFusion`` whose keys and values are each encoder's final state alone."""

    def keys(self, seq: Tensor, observed: Tensor) -> tuple[Tensor, None]:
        return final_state(seq).unsqueeze(1), None


@register_baseline("concat_fusion_release", modalities=FUSED,
                   description="concat_fusion with the release's softmax before cross-entropy.")
def concat_fusion_release(dims: dict[str, int], num_classes: int = NUM_CLASSES) -> nn.Module:
    return ConcatFusionRelease({m: dims[m] for m in FUSED}, num_classes)


@register_baseline("attention_fusion_release", modalities=FUSED,
                   description="attention_fusion over the BiLSTM final state alone (one key).")
def attention_fusion_release(dims: dict[str, int], num_classes: int = NUM_CLASSES
                             ) -> nn.Module:
    return AttentionFusionRelease({m: dims[m] for m in FUSED}, num_classes)
