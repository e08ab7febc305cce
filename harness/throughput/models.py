"""Baseline rows: inference and training throughput of each registered baseline per batch size.

Inference is ``eval()`` + ``torch.inference_mode()``; a training step is what
the fusion stage does per batch: forward, cross-entropy, backward, gradient clipping,
AdamW step, in ``train()`` mode. Inputs are random but seeded and shaped like real cached
windows (``face (B,12,Df)``, ``audio (B,12,Da)``, ``pose (B,12,Dp)``, ``mask (B,12)``), with
the edge padding a real window has at the start of a video.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from baselines import WINDOW, get_baseline
from harness.data.labels import NUM_CLASSES
from harness.fusion_stage import TrainConfig, make_optimizer
from harness.train import optimizer_step

from .flops import TRAIN_FLOP_FACTOR, forward_flops
from .timing import Timing, budget_repeats, peak_memory_mb, reset_peak_memory, time_calls

MODES = ("infer", "train")
BN_SKIP = ("BatchNorm cannot train on 1 window per batch (the trainer drops a ragged last batch "
           "for the same reason)")


@dataclass(frozen=True)
class RowPlan:
    """How one baseline row is measured (a slice of ``BenchConfig``)."""

    batch: int
    warmup: int
    repeats: int
    amp: bool
    compile: bool
    budget_s: float | None


def make_batch(dims: Mapping[str, int], batch: int, device: torch.device, seed: int = 0,
               steps: int = WINDOW) -> dict[str, Tensor]:
    """Seeded random window batch; one window in 8 has its first 3 steps padded (mask False)."""
    gen = torch.Generator().manual_seed(seed)
    out = {m: torch.randn(batch, steps, d, generator=gen).to(device) for m, d in dims.items()}
    mask = torch.ones(batch, steps, dtype=torch.bool)
    mask[::8, :3] = False
    out["mask"] = mask.to(device)
    return out


def amp_context(device: torch.device, enabled: bool) -> tuple[Callable[[], object], str]:
    """(context factory, what it does): bf16 on CUDA, fp16 without bf16, ignored on the CPU.

    CPU bf16 autocast is not used: without AVX512-BF16/AMX (most laptops and cloud vCPUs) bf16
    matmuls are emulated and slower than fp32, and the fused LSTM kernels stay fp32 anyway.
    """
    if not enabled:
        return contextlib.nullcontext, "off"
    if device.type != "cuda":
        return contextlib.nullcontext, "ignored on cpu (fp32)"
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return (lambda: torch.autocast("cuda", dtype=dtype)), str(dtype).replace("torch.", "")


def infer_step(model: nn.Module, batch: dict[str, Tensor], amp: Callable[[], object]
               ) -> Callable[[], object]:
    """One inference forward (the caller has put the model in eval mode)."""
    def step() -> object:
        with torch.inference_mode(), amp():
            return model(batch)
    return step


def train_step(model: nn.Module, batch: dict[str, Tensor], amp: Callable[[], object]
               ) -> Callable[[], object]:
    """One optimiser step as the fusion stage takes it: its optimizer, its clipping, and
    ``harness.train.optimizer_step`` (the harness's only backward pass)."""
    cfg = TrainConfig()
    opt = make_optimizer(model, cfg)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(1)
    mask = batch["mask"]
    y = torch.randint(0, NUM_CLASSES, mask.shape, generator=gen).to(mask.device)
    scaler = torch.amp.GradScaler("cuda") if _is_fp16(amp) else None

    def step() -> object:
        with amp():
            out = model(batch).float()  # (B, C), or (B, L, C) from a sequence baseline
            target = y.reshape(-1) if out.dim() == 3 else y[:, 0]  # every frame, or the current
            loss = loss_fn(out.reshape(-1, out.shape[-1]), target)
        optimizer_step(model, opt, loss, cfg.grad_clip, scaler)
        return loss
    return step


def _is_fp16(amp: Callable[[], object]) -> bool:
    ctx = amp()
    return isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.float16


def build_model(name: str, dims: Mapping[str, int], device: torch.device, compile_: bool
                ) -> tuple[nn.Module, nn.Module]:
    """(model to run, plain module for FLOP counting); the first is compiled when asked."""
    torch.manual_seed(0)
    model = get_baseline(name).create(dims).to(device)
    return (torch.compile(model) if compile_ else model), model


def window_steps(name: str) -> int:
    """Steps per window of this baseline (the paper's 12, or a dense window's frames), or
    frames per chunk of a sequence baseline."""
    spec = get_baseline(name)
    return spec.sequence.frames if spec.sequence is not None else spec.window.steps


def items_per_input(name: str) -> int:
    """Frames one input yields: 1 per window; every frame of a sequence baseline's chunk. A
    sequence baseline's rows count ``batch`` in frames (``ceil(batch / L)`` chunks, at least
    one) and its rates in frames computed, so they compare with windows' at equal batch."""
    spec = get_baseline(name)
    return spec.sequence.frames if spec.sequence is not None else 1


def model_dims(name: str, dims: Mapping[str, int]) -> dict[str, int]:
    """The dims of the modalities this baseline declares (the batch carries only those)."""
    return {m: int(dims[m]) for m in get_baseline(name).modalities}


def flops_per_window(name: str, dims: Mapping[str, int], device: torch.device) -> int:
    """Forward FLOPs of one window, counted on a batch of 8 in eval mode (BatchNorm frozen)."""
    _, plain = build_model(name, dims, device, False)
    plain.eval()
    batch = make_batch(model_dims(name, dims), 8, device, steps=window_steps(name))
    return forward_flops(plain, lambda: plain(batch), device) // (8 * items_per_input(name))


def measure_row(name: str, mode: str, plan: RowPlan, dims: Mapping[str, int],
                device: torch.device) -> dict:
    """One (baseline, batch, mode) row; a failure (e.g. ``torch.compile``) becomes ``error``."""
    row: dict = {"baseline": name, "mode": mode, "batch": plan.batch}
    try:
        model, plain = build_model(name, dims, device, plan.compile)
        per = items_per_input(name)
        if mode == "train" and plan.batch < 2 and per == 1 and _has_batchnorm(plain):
            row["skipped"] = BN_SKIP
            return row
        amp, row["amp"] = amp_context(device, plan.amp)
        inputs = -(-plan.batch // per)
        batch = make_batch(model_dims(name, dims), inputs, device, steps=window_steps(name))
        model.train(mode == "train")
        step = (train_step if mode == "train" else infer_step)(model, batch, amp)
        reset_peak_memory(device)
        warmup, repeats = budget_repeats(step, device, plan.warmup, plan.repeats, plan.budget_s)
        timing = time_calls(step, device, warmup, repeats)
        row["peak_mem_mb"] = round(peak_memory_mb(device), 1)
    except Exception as exc:  # noqa: BLE001  (a row that cannot run is reported, not fatal)
        row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        return row
    row.update(timing_fields(timing, inputs * per))
    if per > 1:
        row["chunks"] = inputs
        row["note"] = f"frames/s: {inputs} chunk(s) of {per} frames"
    return row


def _has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def timing_fields(timing: Timing, items: int, unit: str = "windows") -> dict:
    """Median rate, p10/p90 rate (from the p90/p10 times) and ms per call."""
    return {
        f"{unit}_per_s": items / timing.median_s,
        f"{unit}_per_s_p10": items / timing.p90_s,
        f"{unit}_per_s_p90": items / timing.p10_s,
        "ms_per_batch": timing.median_s * 1e3,
        "ms_per_batch_p10": timing.p10_s * 1e3,
        "ms_per_batch_p90": timing.p90_s * 1e3,
        "repeats": timing.repeats,
    }


def add_flop_fields(row: dict, fwd_flops: float, peak_gflops: float, rate_key: str) -> dict:
    """FLOPs per item (x3 for training), achieved GFLOP/s and the fraction of matmul peak."""
    if "error" in row or "skipped" in row:
        return row
    flops = fwd_flops * (TRAIN_FLOP_FACTOR if row.get("mode") == "train" else 1.0)
    row["flops_per_window" if rate_key == "windows_per_s" else "flops_per_image"] = flops
    achieved = flops * row[rate_key] / 1e9
    row["achieved_gflops"] = achieved
    row["fraction_of_peak"] = achieved / peak_gflops if peak_gflops > 0 else None
    return row
