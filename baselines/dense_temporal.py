"""``dense_temporal``: every frame of a window through a temporal convolution stack and a small
transformer encoder.

The seed paper reads 12 steps over 6 s; the ABAW6 and ABAW10 leaders read dense sequences
(CtyunAI: a TCN per modality and a transformer encoder over 300-frame windows; FUXI: a GRU or
transformer over 100-frame segments; ORA10: a temporal model over frame-level fused features).
This baseline reads ``DENSE_FRAMES`` consecutive frames (75: 2.5 s at 30 fps, 3 s at 25 fps;
``harness run dense_temporal --window-frames N`` changes it): per frame, each modality is
projected to ``width`` (a learned "missing" vector where it was not observed) and the modalities
are summed; dilated residual convolutions mix neighbouring frames; a transformer encoder with
sinusoidal positions attends over the whole window (steps outside the video masked).

Window contract: it predicts the window's centre frame, like every window baseline, so each
frame's features pass through the encoder once per window that holds it (75 times in
prediction). The same layers with ``per_frame=True`` classify every frame of their input: that
is ``dense_sequence`` (baselines/dense_sequence.py), which reads chunks of consecutive frames
under the sequence contract (harness/features/chunks.py) and predicts every frame of a chunk at
once; docs/sequence-models.md compares the two.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from harness.data.labels import NUM_CLASSES
from harness.features.modalities import MODALITIES
from harness.features.timeline import dense_window

from .layers import ClassifierHead, batch_mask, check_batch
from .registry import register_baseline

DENSE_FRAMES = 75


class DenseTemporal(nn.Module):
    """Per-frame fusion -> dilated TCN -> transformer encoder -> centre frame -> classifier
    (``per_frame``: every frame of the input inside its video -> classifier)."""

    def __init__(self, dims: dict[str, int], num_classes: int = NUM_CLASSES, width: int = 64,
                 tcn_layers: int = 3, kernel: int = 5, heads: int = 4, layers: int = 2,
                 dropout: float = 0.1, per_frame: bool = False):
        super().__init__()
        self.dims = dict(dims)
        self.per_frame = per_frame
        self.num_classes = num_classes
        self.proj = nn.ModuleDict({m: nn.Linear(d, width) for m, d in self.dims.items()})
        self.missing = nn.ParameterDict({m: nn.Parameter(torch.zeros(width)) for m in self.dims})
        self.tcn = nn.ModuleList(
            nn.Sequential(nn.Conv1d(width, width, kernel, padding=(kernel // 2) * 2 ** i,
                                    dilation=2 ** i),
                          nn.BatchNorm1d(width), nn.GELU())
            for i in range(tcn_layers))
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.classifier = ClassifierHead(width, num_classes)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Logits ``(B, num_classes)`` of the centre frame of each window ``(B, T, d)``, or
        with ``per_frame`` ``(B, T, num_classes)`` (zeros for steps outside the video)."""
        steps = next(iter(batch[m] for m in self.dims)).shape[1]
        check_batch(batch, self.dims, steps)
        h = self._encode(batch, steps)
        if not self.per_frame:
            return self.classifier(h[:, steps // 2])
        inside = batch_mask(batch, h)
        # only frames inside the video reach the head (its BatchNorm statistics included)
        out = h.new_zeros(*h.shape[:2], self.num_classes)
        out[inside] = self.classifier(h[inside]).to(out.dtype)
        return out

    def _encode(self, batch: dict[str, Tensor], steps: int) -> Tensor:
        """``(B, T, width)``: fused, convolved and attended features of every step."""
        h = 0
        for m, proj in self.proj.items():
            observed = batch_mask(batch, batch[m], m).unsqueeze(-1)
            h = h + torch.where(observed, proj(batch[m]), self.missing[m].to(batch[m].dtype))
        for block in self.tcn:
            h = h + block(h.transpose(1, 2)).transpose(1, 2)
        h = h + _positions(steps, h.shape[-1], h.device, h.dtype)
        pad = ~batch_mask(batch, h)
        if not self.per_frame:
            pad[:, steps // 2] = False  # the predicted frame is inside its video by construction
        pad &= ~pad.all(dim=1, keepdim=True)  # a row with no step to attend to would be NaN
        # no step masked: the same attention without a mask to add (exact; faster kernels)
        return self.encoder(h, src_key_padding_mask=pad if bool(pad.any()) else None)


def _positions(steps: int, width: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Sinusoidal encodings of the steps, centred on the window's (or chunk's) middle."""
    pos = torch.arange(steps, device=device, dtype=torch.float32) - steps // 2
    freq = torch.exp(torch.arange(0, width, 2, device=device, dtype=torch.float32)
                     * (-math.log(10000.0) / width))
    enc = torch.zeros(steps, width, device=device)
    enc[:, 0::2] = torch.sin(pos[:, None] * freq)
    enc[:, 1::2] = torch.cos(pos[:, None] * freq)
    return enc.to(dtype).unsqueeze(0)


@register_baseline(
    "dense_temporal",
    modalities=MODALITIES,
    window=dense_window(DENSE_FRAMES),
    description="Every frame of a 75-frame window: per-frame fusion, dilated TCN, transformer.",
)
def dense_temporal(dims: dict[str, int], num_classes: int = NUM_CLASSES, width: int = 64
                   ) -> nn.Module:
    """Build ``DenseTemporal`` for the modality sizes in ``dims``."""
    return DenseTemporal(dict(dims), num_classes, width)
