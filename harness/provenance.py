"""Provenance: what made a cached stage-1 model or feature entry, and a digest of its content.

A cache key says what a model or a feature set is meant to depend on (configuration, inputs);
it cannot say what else moved its numbers: the thread count (floats summed in another order),
the CPU's instruction set (another kernel), the torch version, the code. So every cached model
and entry records beside its key who made it (``producer``) and a digest of its content, and a
run records the digests it read: two runs that read different stage-1 models are not one
configuration even where their keys agree. The keys themselves never change with any of this.

What a record holds is gathered where it is written; a stage that knows more than the process
(the device it trains on, its seed, the stage-1 model behind face features) says so with
``producing``, and everything cached inside that block records it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

#: A digest's length in hex digits (the same as ``harness.paths.file_digest``'s).
DIGEST_CHARS = 16
#: What a record of something cached before provenance was recorded says of its maker.
UNKNOWN = "unknown (cached before the harness recorded provenance)"

_CONTEXT: contextvars.ContextVar[tuple[tuple[str, Any], ...]] = contextvars.ContextVar(
    "producing", default=())


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the harness's source when it is a git checkout (None otherwise)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def producer() -> dict[str, Any]:
    """Who is making something now: harness version and commit, torch, the CPU's capability
    (the kernels torch dispatches to), the thread count, and what ``producing`` added."""
    import torch

    from harness.version import __version__

    return {"version": __version__, "commit": git_commit(), "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads()} | dict(_CONTEXT.get())


@contextlib.contextmanager
def producing(**fields: Any) -> Iterator[None]:
    """Within the block, ``producer()`` also records ``fields`` (e.g. device, seed)."""
    merged = dict(_CONTEXT.get()) | {k: v for k, v in fields.items() if v is not None}
    token = _CONTEXT.set(tuple(merged.items()))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def digest_arrays(*arrays: np.ndarray) -> str:
    """Digest of arrays' dtypes, shapes and bytes: equal arrays, equal digests."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:DIGEST_CHARS]


def digest_of(parts: Iterable[str]) -> str:
    """One digest of several (a feature set's, from its entries' ``name:digest`` lines)."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:DIGEST_CHARS]


def describe(made_by: dict[str, Any] | None) -> str:
    """One line of a producer record, e.g. ``torch 2.13.0+cpu, AVX2, 1 thread, cpu, seed 0,
    harness 0.1.0 (commit 05b4b17)``."""
    if not isinstance(made_by, dict):
        return UNKNOWN
    parts = [f"torch {made_by['torch']}" if made_by.get("torch") else "",
             str(made_by.get("cpu_capability") or ""),
             (f"{made_by['threads']} thread{'s' * (made_by['threads'] != 1)}"
              if isinstance(made_by.get("threads"), int) else ""),
             str(made_by.get("device") or ""),
             f"seed {made_by['seed']}" if made_by.get("seed") is not None else "",
             f"stage 1 {made_by['stage1']}" if made_by.get("stage1") else ""]
    version = made_by.get("version")
    if version:
        commit = made_by.get("commit")
        parts.append(f"harness {version}" + (f" (commit {commit[:7]})" if commit else ""))
    return ", ".join(p for p in parts if p) or UNKNOWN
