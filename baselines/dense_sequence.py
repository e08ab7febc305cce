"""``dense_sequence``: ``dense_temporal``'s layers under the sequence contract.

CtyunAI (ABAW6) ran a TCN and a transformer encoder over 300-frame windows and FUXI a GRU or
transformer over 100-frame segments, both predicting every frame of the window. This baseline
does the same with ``dense_temporal``'s layers (per-frame fusion with a learned "missing"
vector, dilated residual TCN, transformer encoder with sinusoidal positions): it reads chunks of
300 consecutive frames (``harness run dense_sequence --chunk-frames N`` changes it) and returns
logits for every frame, so a frame's features pass through the encoder about twice in
prediction (overlapping chunks, centre kept) instead of 75 times. Chunk geometry, batching and
how overlaps combine: ``harness.features.chunks``; measurements: docs/sequence-models.md.
"""

from __future__ import annotations

from torch import nn

from harness.data.labels import NUM_CLASSES
from harness.features.chunks import CHUNK_FRAMES, chunk
from harness.features.modalities import MODALITIES

from .dense_temporal import DenseTemporal
from .registry import register_baseline


@register_baseline(
    "dense_sequence",
    modalities=MODALITIES,
    sequence=chunk(CHUNK_FRAMES),
    description="dense_temporal's layers over 300-frame chunks, logits for every frame.",
)
def dense_sequence(dims: dict[str, int], num_classes: int = NUM_CLASSES, width: int = 64
                   ) -> nn.Module:
    """Build ``DenseTemporal`` classifying every frame of its input."""
    return DenseTemporal(dict(dims), num_classes, width, per_frame=True)
