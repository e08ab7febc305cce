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

Window contract: it predicts the window's centre frame, like every baseline. The encoder has an
output for every frame of the window, but only the centre one is classified: one prediction per
window keeps one contract for the trainer, the metric and the prediction writers (every frame
predicted exactly once, always with the same context on both sides), where a sequence output
would leave frames near window edges with one-sided context or predicted several times and
reconciled. The price is recomputing overlapping windows, which is cheap on cached features.
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
    """Per-frame fusion -> dilated TCN -> transformer encoder -> centre frame -> classifier."""

    def __init__(self, dims: dict[str, int], num_classes: int = NUM_CLASSES, width: int = 64,
                 tcn_layers: int = 3, kernel: int = 5, heads: int = 4, layers: int = 2,
                 dropout: float = 0.1):
        super().__init__()
        self.dims = dict(dims)
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
        """Logits ``(B, num_classes)`` of the centre frame of each window ``(B, T, d)``."""
        steps = next(iter(batch[m] for m in self.dims)).shape[1]
        check_batch(batch, self.dims, steps)
        h = 0
        for m, proj in self.proj.items():
            observed = batch_mask(batch, batch[m], m).unsqueeze(-1)
            h = h + torch.where(observed, proj(batch[m]), self.missing[m].to(batch[m].dtype))
        for block in self.tcn:
            h = h + block(h.transpose(1, 2)).transpose(1, 2)
        h = h + _positions(steps, h.shape[-1], h.device, h.dtype)
        current = steps // 2
        pad = ~batch_mask(batch, h)
        pad[:, current] = False  # the predicted frame is inside its video by construction
        h = self.encoder(h, src_key_padding_mask=pad)
        return self.classifier(h[:, current])


def _positions(steps: int, width: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Sinusoidal encodings of the steps, centred on the predicted frame (any window length)."""
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
