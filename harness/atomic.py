"""Crash-safe writes: every file the harness writes goes to a temp file, then is renamed.

A run killed at any moment therefore leaves either the old file or the new one, never half of
one. ``os.replace`` is atomic on POSIX and Windows when source and target share a folder.

A full disk is the one write failure a user meets in practice, and libraries report it in their
own words (torch: ``[enforce fail at inline_container.cc]``, numpy: a short write): every write
here turns it into one ``DiskFullError`` naming the folder and the space left, with the temp
file removed, so nothing half-written stays behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from harness.errors import DiskFullError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temp file beside ``path``; rename it over ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results should be readable as usual
    try:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if is_disk_full(exc):
            raise DiskFullError(path.parent, free_bytes(path.parent), writing=path) from None
        raise


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or anything it was raised from) is "No space left on device".

    torch.save reports ENOSPC as a ``RuntimeError`` whose text holds the OS message, and may
    chain the ``OSError``; both are recognised.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFullError):
            return True
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def free_bytes(folder: str | Path) -> int | None:
    """Free space where ``folder`` (or its nearest existing parent) lives; None if unknown."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def ensure_free_space(folder: str | Path, needed: int, what: str = "") -> None:
    """Refuse a big write that cannot fit, before any byte of it is written.

    A memory-mapped table that runs out of disk kills the process with SIGBUS instead of an
    error, so its writers check first; the margin leaves room for the small files around it.
    """
    free = free_bytes(folder)
    if free is not None and needed + (16 << 20) > free:
        raise DiskFullError(Path(folder), free, needed=needed, writing=what or None)


def write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w", newline="") as fh:
        fh.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array), allow_pickle=False)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
