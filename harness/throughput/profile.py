"""Where a training step's time goes: ``torch.profiler`` over one step, top operators by self time.

Used to explain the gap between a row's achieved GFLOP/s and the matmul peak (on the CPU the
fused LSTM kernels dominate ``attention_fusion``; see the bench report).
"""

from __future__ import annotations

import contextlib

import torch
from torch.profiler import ProfilerActivity, profile

from .models import build_model, make_batch, model_dims, train_step, window_steps


def profile_train_step(name: str, dims: dict[str, int], batch: int, device: torch.device,
                       top: int = 12) -> dict:
    """Top operators (self time, share of the step) of one warm training step of ``name``."""
    model, _ = build_model(name, dims, device, False)
    model.train()
    step = train_step(model, make_batch(model_dims(name, dims), batch, device,
                                        steps=window_steps(name)),
                      contextlib.nullcontext)
    step()
    step()
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        step()
    return {"baseline": name, "batch": batch, "ops": _top_ops(prof, device, top)}


def _top_ops(prof, device: torch.device, top: int) -> list[dict]:
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    events = [e for e in prof.key_averages() if getattr(e, attr, 0) > 0]
    total = sum(getattr(e, attr) for e in events) or 1.0
    events.sort(key=lambda e: getattr(e, attr), reverse=True)
    return [{"op": e.key, "self_ms": getattr(e, attr) / 1e3, "share": getattr(e, attr) / total,
             "calls": e.count} for e in events[:top]]
