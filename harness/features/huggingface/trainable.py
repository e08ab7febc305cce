"""An ``hf:`` vision model as a module stage 1 can fine-tune (``--backbone hf:PATH --finetune``).

``HfImageBackbone`` runs the model frozen, under ``inference_mode``; this wraps the same loaded
model as an ``nn.Module`` (so its weights are the stage-1 model's, in its state dict and its
optimiser) with the same forward: the face (RGB in [0, 1]) rounded to the 8-bit pixels the
processor reads, the model's own preprocessing in float32 (no gradient: it has no weights),
the model, then the same pooling and layer choice. In eval mode and without gradients its
features equal ``HfImageBackbone``'s on the same weights. Which blocks train and at which lr is
``harness.features.face.finetune``'s business.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.features.huggingface.image import HfImageBackbone, HfImageConfig


class HfFaceEncoder(nn.Module):
    """``(B, 3, S, S)`` RGB in [0, 1] -> ``(B, D)`` float32, differentiable in the weights."""

    def __init__(self, spec: str, cfg: HfImageConfig | None = None):
        super().__init__()
        frozen = HfImageBackbone(spec, cfg, torch.device("cpu"))  # probes pooling and size
        self.model = frozen.model
        self.model.requires_grad_(True)
        self._frozen = frozen  # its preprocessing and pooling (not a module: not registered)
        self.input_size, self.feature_dim = frozen.input_size, frozen.feature_dim
        self.digest = frozen.digest

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        f = self._frozen
        u8 = (images.detach().float() * 255.0).round_().clamp_(0, 255).to(torch.uint8)
        with torch.no_grad(), torch.autocast(images.device.type, enabled=False):
            pixels = f.preprocess(u8.permute(0, 2, 3, 1))  # exact pixels, in float32
        out = self.model(pixel_values=pixels, output_hidden_states=f.choice.needs_hidden_states,
                         return_dict=True)
        return f.pool_output(out).float().reshape(len(pixels), -1)
