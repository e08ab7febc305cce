"""Timing, peak memory and machine facts: the measuring instruments every bench row shares.

Each measurement is warm-up runs (allocator, oneDNN primitive caches, lazy CUDA init and
``torch.compile`` all pay their one-off costs there), then repeated timed runs reported as the
median and the p10-p90 spread: one number alone hides how noisy a shared machine is.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class Timing:
    """Seconds per call: median and the 10th/90th percentiles over ``repeats`` timed calls."""

    median_s: float
    p10_s: float
    p90_s: float
    repeats: int


def sync(device: torch.device) -> None:
    """Wait for queued CUDA kernels, so that a timer measures work done, not work queued."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], object], device: torch.device, warmup: int, repeats: int
               ) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed (synchronised)."""
    for _ in range(warmup):
        fn()
    sync(device)
    samples = []
    for _ in range(max(repeats, 1)):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        samples.append(time.perf_counter() - start)
    arr = np.asarray(samples)
    return Timing(float(np.median(arr)), float(np.percentile(arr, 10)),
                  float(np.percentile(arr, 90)), len(samples))


def budget_repeats(fn: Callable[[], object], device: torch.device, warmup: int, repeats: int,
                   budget_s: float | None, min_repeats: int = 3) -> tuple[int, int]:
    """(warmup, repeats) cut so that the timed part fits ``budget_s`` seconds.

    The first warm-up call is timed to estimate one call; a 3 s training step at batch 1024
    would otherwise turn a 10-repeat bench into minutes. Never fewer than ``min_repeats``.
    """
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    once = time.perf_counter() - start
    if budget_s is None or once * (repeats + warmup - 1) <= budget_s:
        return max(warmup - 1, 0), repeats
    fit = int(budget_s // max(once, 1e-9))
    return min(max(warmup - 1, 0), 1), max(min_repeats, min(repeats, fit))


# --------------------------------------------------------------------------- memory


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak-memory window (CUDA allocator stats, or Linux's peak-RSS counter)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:  # writing "5" resets VmHWM (Linux >= 4.0); elsewhere the peak is the process's lifetime
        _CLEAR_REFS.write_text("5")
    except OSError:
        pass


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory since ``reset_peak_memory``, in MiB (see ``memory_kind`` for what it is)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    hwm = _vm_hwm_kb()
    if hwm is not None:
        return hwm / 1024
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**20 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB elsewhere


def memory_kind(device: torch.device) -> str:
    """What ``peak_mem_mb`` means on this device, written into the result."""
    if device.type == "cuda":
        return "torch.cuda.max_memory_allocated (tensors only), reset per row"
    if _vm_hwm_kb() is not None and os.access(_CLEAR_REFS, os.W_OK):
        return "process peak RSS (VmHWM), reset per row via /proc/self/clear_refs"
    return "process peak RSS (ru_maxrss) since start: monotone, not per row"


def _vm_hwm_kb() -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


# --------------------------------------------------------------------------- machine


def matmul_peak_gflops(device: torch.device, size: int | None = None, tries: int = 5) -> float:
    """fp32 matmul GFLOP/s, best of ``tries``: the ceiling each row's FLOP rate is compared to.

    2048^2 on the CPU (about 0.5 s a try on 2 cores), 8192^2 on CUDA; measured in this process
    with the same thread settings as the rows, so contention hits both alike.
    """
    n = size or (8192 if device.type == "cuda" else 2048)
    gen = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device)
    b = torch.randn(n, n, generator=gen).to(device)
    timing = time_calls(lambda: torch.mm(a, b), device, warmup=1, repeats=tries)
    best = min(timing.p10_s, timing.median_s)
    return 2.0 * n**3 / best / 1e9


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, else whatever ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({cpu_model()})"


def load_average() -> list[float] | None:
    """1/5/15-minute load: a load above the core count means the numbers were contended."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info(device: torch.device) -> dict:
    """Facts needed to compare two bench files: platform, CPU, torch and thread settings."""
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "load_average_start": load_average(),
        "torch": torch.__version__,
        "device": str(device),
        "device_name": device_name(device),
    }
