"""Several processes, one result: ``torchrun --nproc_per_node N -m harness run ...``.

torchrun starts N copies of the command with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (and a
rendezvous address) in their environment; ``setup`` joins them into one process group, NCCL
when the run uses CUDA (each rank on GPU ``LOCAL_RANK``), gloo on the CPU. Then:

- training (stage 1 and the fusion stage): every rank draws the same epoch order from the same
  seed and takes its contiguous part of each batch a single process would take
  (``local_part``); ``DistributedDataParallel`` (``wrap``) averages the gradients, so every rank
  takes the same optimiser step and the model stays one model. BatchNorm statistics are per
  rank during the step; rank 0's are copied to all before each validation (``sync_buffers``).
- validation and prediction: every rank predicts its contiguous part of the items and
  ``gather`` puts the parts back together, in order, on every rank, so every rank sees the
  same validation F1 and takes the same decisions (lr, early stop). A sequence baseline's
  ranks each predict their part of the chunks and ``all_sum_tensor`` adds the per-frame
  totals (each chunk is predicted on one rank; the others add zeros).
- extraction: the names are cut by video (``shard``), each rank extracts its own, then all wait
  for all (``barrier``).
- files: rank 0 alone writes the stage-1 model, packed tables, the run folder and the
  leaderboard row (``is_main``, ``rank_zero_first``); the others compute and wait.

The same seed gives the same result for the same N (gloo and NCCL reduce in a fixed order), not
across different N: batch statistics and gradient averaging change with the cut. Without
torchrun every function here is the identity or a no-op, so the single-process path is exactly
what it was.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from filelock import FileLock
from torch import distributed as dist
from torch import nn

from harness.device import resolve_device

T = TypeVar("T")
#: Collectives may wait this long: rank 0 packing tables or a slow extraction shard at real
#: scale can keep the others at a barrier for many minutes (NCCL's default is 10).
TIMEOUT = dt.timedelta(hours=6)


def launched() -> bool:
    """Started by torchrun (or any launcher that sets ``WORLD_SIZE``) with more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: str = "auto") -> None:
    """Join the process group once (no-op for a single process or when already joined)."""
    if not launched() or dist.is_initialized():
        return
    on_cuda = resolve_device(device).type == "cuda"
    if on_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if on_cuda else "gloo", timeout=TIMEOUT)
    atexit.register(_teardown)


def _teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (from the environment before ``setup``; 0 without torchrun)."""
    if active():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0")) if launched() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def barrier() -> None:
    if active():
        dist.barrier()


def broadcast(obj: T) -> T:
    """Rank 0's ``obj`` on every rank (any picklable object)."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@contextlib.contextmanager
def rank_zero_first() -> Iterator[None]:
    """Rank 0 runs the block first (building what is cached), then the others (reading it)."""
    if is_main():
        yield
        barrier()
    else:
        barrier()
        yield


@contextlib.contextmanager
def main_lock(path: Path) -> Iterator[None]:
    """A file lock held by rank 0 alone (against other jobs); the ranks of this job must not
    wait on each other's lock while they train together."""
    if is_main():
        with FileLock(str(path)):
            yield
    else:
        yield


def shard() -> tuple[int, int] | None:
    """``(i, n)`` for ``harness.features.extract.shard_names``: this rank's share of the names."""
    return (rank() + 1, world_size()) if active() else None


def local_part(items: np.ndarray) -> np.ndarray:
    """This rank's contiguous part of ``items`` (parts differ in length by at most one)."""
    if not active():
        return items
    return np.array_split(items, world_size())[rank()]


def part_offset(n: int) -> int:
    """Where this rank's part of ``n`` items starts (see ``local_part``)."""
    return sum(_part_sizes(n)[:rank()])


def _part_sizes(n: int) -> list[int]:
    w = world_size()
    return [n // w + (1 if r < n % w else 0) for r in range(w)]


def gather(local: np.ndarray, n: int) -> np.ndarray:
    """Every rank's part (``local_part`` of ``n`` rows) back in order, on every rank."""
    if not active():
        return local
    sizes = _part_sizes(n)
    device = _comm_device()
    width = max(sizes)
    t = torch.zeros((width, *local.shape[1:]), dtype=_torch_dtype(local), device=device)
    t[:local.shape[0]] = torch.from_numpy(np.ascontiguousarray(local)).to(device)
    parts = [torch.empty_like(t) for _ in sizes]
    dist.all_gather(parts, t)
    out = torch.cat([p[:s] for p, s in zip(parts, sizes)]).cpu().numpy()
    return out.astype(local.dtype, copy=False)


def _torch_dtype(a: np.ndarray) -> torch.dtype:
    return torch.uint8 if a.dtype == np.bool_ else torch.from_numpy(a[:0].copy()).dtype


def all_sum(values: list[float]) -> list[float]:
    """Element-wise sums over ranks (epoch loss totals and item counts)."""
    if not active():
        return values
    t = torch.tensor(values, dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t)
    return t.cpu().tolist()


def all_sum_tensor(t: torch.Tensor) -> torch.Tensor:
    """``t`` summed element-wise over ranks, on every rank (in place; ``t`` itself without
    torchrun). Sequence prediction: each rank adds its chunks' logits into per-frame totals
    that are zero elsewhere."""
    if not active():
        return t
    device = _comm_device()
    moved = t.to(device)
    dist.all_reduce(moved)
    if moved is not t:
        t.copy_(moved)
    return t


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` in ``DistributedDataParallel`` when several ranks train; else ``model``.

    ``static_graph``: the graph is learned in the first step, so a baseline may leave some
    parameters out of its loss (as long as it leaves out the same ones every step) at no cost
    per step.
    """
    if not active():
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, static_graph=True)


def sync_buffers(model: nn.Module) -> None:
    """Rank 0's buffers (BatchNorm running statistics) on every rank."""
    if not active():
        return
    for buf in model.buffers():
        dist.broadcast(buf.data, src=0)


def _comm_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
