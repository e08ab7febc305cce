"""Face-backbone rows and the seed-design comparison (face model inside the training loop).

The seed paper trained its fusion model with EmoNet inside the loop: every step ran the face
model on 12 crops per window, at batch 4. The harness extracts face features once and trains on
the cache at batch 256. The comparison times one training step of each and scales both to a
nominal epoch, so the gap is stated in seconds per epoch rather than argued.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from baselines import WINDOW
from harness.features.face.backbones import create_backbone, get_backbone_spec

from .flops import forward_flops
from .models import build_model, make_batch, timing_fields, train_step
from .timing import budget_repeats, peak_memory_mb, reset_peak_memory, time_calls

#: Valid (labelled) frames of the real Aff-Wild2 EXPR training set: one window each per epoch.
REAL_TRAIN_WINDOWS = 592_216
#: Backbones too slow on the CPU for the configured repeats; measured with ``SLOW_REPEATS``.
SLOW_BACKBONES = ("emonet",)
SLOW_REPEATS = 2


def backbone_images(size: int, batch: int, device: torch.device, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, size, size, generator=gen).to(device)


def backbone_row(name: str, batch: int, device: torch.device, warmup: int, repeats: int,
                 budget_s: float | None) -> dict:
    """Extraction throughput (images/s) of one backbone at its own input size, eval mode."""
    spec = get_backbone_spec(name)
    row: dict = {"backbone": name, "mode": "extract", "batch": batch,
                 "input_size": spec.input_size}
    try:
        torch.manual_seed(0)
        model = create_backbone(name).to(device).eval()
        images = backbone_images(spec.input_size, batch, device)
        row["flops_fwd"] = forward_flops(model, lambda: model(images[:1]), device)
        if name in SLOW_BACKBONES and device.type == "cpu":
            warmup, repeats = min(warmup, 1), min(repeats, SLOW_REPEATS)

        def step() -> object:
            with torch.inference_mode():
                return model(images)
        reset_peak_memory(device)
        warmup, repeats = budget_repeats(step, device, warmup, repeats, budget_s, min_repeats=2)
        timing = time_calls(step, device, warmup, repeats)
        row["peak_mem_mb"] = round(peak_memory_mb(device), 1)
    except Exception as exc:  # noqa: BLE001  (reported in the row)
        row["error"] = f"{type(exc).__name__}: {exc}"[:300]
        return row
    row.update(timing_fields(timing, batch, unit="images"))
    return row


class FaceInTheLoop(nn.Module):
    """The paper design: frozen face backbone on 12 crops per window, then the fusion model.

    The backbone is frozen (eval, no gradients), as in the paper's fusion stage; that makes this
    the cheapest version of face-in-the-loop training, so the measured ratio is a lower bound
    (JPEG decoding and resizing of the crops, also per step in the seed code, are not counted).
    """

    def __init__(self, backbone: nn.Module, fusion: nn.Module):
        super().__init__()
        self.backbone = backbone.eval().requires_grad_(False)
        self.fusion = fusion

    def train(self, mode: bool = True) -> FaceInTheLoop:
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        images = batch["images"]  # (B, 12, 3, S, S)
        b = images.shape[0]
        with torch.no_grad():
            face = self.backbone(images.flatten(0, 1)).view(b, WINDOW, -1)
        fused = {k: v for k, v in batch.items() if k != "images"}
        return self.fusion(fused | {"face": face})


def paper_design(backbone_name: str, dims: dict[str, int], device: torch.device,
                cached_step_s: float | None, repeats: int, n_windows: int = REAL_TRAIN_WINDOWS,
                in_loop_batch: int = 4, cached_batch: int = 256) -> dict:
    """Seconds per epoch: paper design (face model in the loop, batch 4) vs cached features."""
    spec = get_backbone_spec(backbone_name)
    dims = dict(dims) | {"face": spec.feature_dim}
    out: dict = {"backbone": backbone_name, "fusion": "attention_fusion",
                 "epoch_windows": n_windows, "in_loop_batch": in_loop_batch,
                 "cached_batch": cached_batch, "face_model": "frozen, forward only "
                 "(lower bound: no JPEG decoding, no gradients through the face model)"}
    in_loop = _in_loop_step_s(backbone_name, dims, device, in_loop_batch, repeats)
    if cached_step_s is None:
        cached_step_s = _cached_step_s(dims, device, cached_batch, repeats)
    out["in_loop_step_s"] = in_loop
    out["cached_step_s"] = cached_step_s
    out["in_loop_epoch_s"] = n_windows / in_loop_batch * in_loop
    out["cached_epoch_s"] = n_windows / cached_batch * cached_step_s
    out["ratio"] = out["in_loop_epoch_s"] / out["cached_epoch_s"]
    return out


def _in_loop_step_s(backbone_name: str, dims: dict[str, int], device: torch.device,
                    batch: int, repeats: int) -> float:
    torch.manual_seed(0)
    backbone = create_backbone(backbone_name).to(device)
    fusion, _ = build_model("attention_fusion", dims, device, False)
    model = FaceInTheLoop(backbone, fusion).train()
    size = get_backbone_spec(backbone_name).input_size
    inputs = make_batch({m: dims[m] for m in ("audio", "pose")}, batch, device)
    inputs["images"] = backbone_images(size, batch * WINDOW, device).view(
        batch, WINDOW, 3, size, size)
    step = train_step(model, inputs, contextlib.nullcontext)
    warmup, reps = (1, min(repeats, SLOW_REPEATS)) if backbone_name in SLOW_BACKBONES \
        else (2, repeats)
    return time_calls(step, device, warmup, reps).median_s


def _cached_step_s(dims: dict[str, int], device: torch.device, batch: int, repeats: int
                   ) -> float:
    model, _ = build_model("attention_fusion", dims, device, False)
    model.train()
    step = train_step(model, make_batch(dims, batch, device), contextlib.nullcontext)
    return time_calls(step, device, 1, repeats).median_s

