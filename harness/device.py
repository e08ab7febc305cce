"""Choosing the device once, the same way for every stage: CUDA when present, else the CPU."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

from harness.errors import HarnessError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise HarnessError(f"device {name!r} asked for, but this machine has no CUDA GPU")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise HarnessError(f"unknown device {name!r}; use auto, cpu or cuda[:N]")
    return torch.device(name)


def autocast(device: torch.device, enabled: bool = True, cpu_bf16: bool = False):
    """bf16 autocast on CUDA (when supported); on the CPU only when asked (``cpu_bf16``).

    On the CPU bf16 pays only where the chip has native bf16 (an attention_fusion training step
    ran 1.6x faster under CPU autocast on an AMD EPYC with avx512_bf16; without it bf16 is
    emulated and slower) and it changes every figure measured in fp32, so it is opt-in.
    """
    if enabled and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if enabled and cpu_bf16 and device.type == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` within the block (None or 0: left as they are)."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seed_everything(seed: int) -> torch.Generator:
    """Seed every source of randomness; returns a generator for data order."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    g = torch.Generator()
    g.manual_seed(seed)
    return g
