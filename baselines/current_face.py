"""``current_face``: the stage-1 face classifier on the current frame alone (Table 2, row 1).

It does not train here: the runner loads the fine-tuned stage-1 head (``init_from="face_head"``)
into ``self.head``, so its scores are those of the fine-tuned face model on cached features.
"""

from __future__ import annotations

from torch import Tensor, nn

from harness.data.labels import NUM_CLASSES

from .layers import FaceHead, check_batch, current_face_feature
from .registry import register_baseline


class CurrentFace(nn.Module):
    """``FaceHead`` on ``batch["face"][:, 6]``; state dict keys ``head.0.weight``...``head.3.bias``.

    The keys are those of a bare ``FaceHead`` prefixed with ``head.``, so the stage-1 head loads
    with ``model.head.load_state_dict(face_head_state)``.
    """

    def __init__(self, face_dim: int, num_classes: int = NUM_CLASSES, hidden: int = 128):
        super().__init__()
        self.dims = {"face": face_dim}
        self.head = FaceHead(face_dim, num_classes, hidden)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Logits ``(B, num_classes)`` from the current face feature only."""
        check_batch(batch, self.dims)
        return self.head(current_face_feature(batch))


@register_baseline(
    "current_face",
    modalities=("face",),
    trains=False,
    init_from="face_head",
    description="Stage-1 fine-tuned face head on the current frame (no temporal context).",
)
def current_face(dims: dict[str, int], num_classes: int = NUM_CLASSES, hidden: int = 128
                 ) -> nn.Module:
    """Build ``CurrentFace`` for a face feature of size ``dims["face"]``."""
    return CurrentFace(dims["face"], num_classes, hidden)
