"""``only_video``: the face sequence alone through its BiLSTM, then the classifier (Table 2).

Summary of the sequence (``pool``): by default the BiLSTM output at the current step. That
output has read the whole 6 s window, the past forwards and the future backwards, and is aligned
with the frame being labelled; a mean over steps (``pool="mean"``) blurs which frame is meant.
"""

from __future__ import annotations

from torch import Tensor, nn

from harness.data.labels import NUM_CLASSES

from .layers import ClassifierHead, TemporalEncoder, batch_mask, check_batch, check_pool, pool_steps
from .registry import register_baseline


class OnlyVideo(nn.Module):
    """``TemporalEncoder`` on the face window -> pooled step -> ``ClassifierHead``."""

    def __init__(self, face_dim: int, num_classes: int = NUM_CLASSES, pool: str = "current"):
        super().__init__()
        self.dims = {"face": face_dim}
        self.pool = check_pool(pool)
        self.encoder = TemporalEncoder(face_dim)
        self.classifier = ClassifierHead(self.encoder.out_features, num_classes)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Logits ``(B, num_classes)``."""
        check_batch(batch, self.dims)
        observed = batch_mask(batch, batch["face"], "face")
        seq = self.encoder(batch["face"], observed)
        return self.classifier(pool_steps(seq, observed, self.pool))


@register_baseline(
    "only_video",
    modalities=("face",),
    description="Face window -> BiLSTM -> classifier (no audio, no pose, no attention).",
)
def only_video(dims: dict[str, int], num_classes: int = NUM_CLASSES, pool: str = "current"
               ) -> nn.Module:
    """Build ``OnlyVideo`` for a face feature of size ``dims["face"]``."""
    return OnlyVideo(dims["face"], num_classes, pool)
