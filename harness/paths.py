"""Where the harness keeps things it makes for itself: the embedded corpus and feature caches.

``ABAW_HARNESS_HOME`` overrides the default (the user's cache dir), so CI and tests can point
it at a temp folder.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from platformdirs import user_cache_dir

from harness.errors import HarnessError


def harness_home() -> Path:
    env = os.environ.get("ABAW_HARNESS_HOME")
    return Path(env).expanduser() if env else Path(user_cache_dir("abaw-harness"))


def safe_child(root: Path, *parts: str) -> Path:
    """Join untrusted name parts under ``root`` and refuse anything that escapes it.

    Video names come from data files; a name like ``../x`` or ``/etc/x`` must never make the
    harness write outside the folder the user chose.
    """
    root = Path(root)
    for part in parts:
        p = Path(part)
        if p.is_absolute() or ".." in p.parts or part in ("", "."):
            raise HarnessError(f"refusing unsafe name {part!r}: it would leave {root}")
    child = root.joinpath(*parts)
    resolved_root = root.resolve()
    if not child.resolve().is_relative_to(resolved_root):
        raise HarnessError(f"refusing unsafe name {'/'.join(parts)!r}: it would leave {root}")
    return child


def files_digest(paths: list[Path]) -> str:
    """One content digest of several files, each with its name: a renamed or changed file
    changes it (a model folder's weights, an imported feature set's arrays)."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode() + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def file_digest(path: Path) -> str:
    """Content digest of a (weights) file: a changed file must not reuse old models or features."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"weights file {path} not found")
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def check_output_file(path: str | Path, what: str, protected: Iterable[Path] = ()) -> Path:
    """Refuse an output file the user named that would destroy something.

    An existing folder is refused (writing would fail late with ``IsADirectoryError``), and so
    is any path inside a ``protected`` folder or equal to a protected file: the release's
    annotations, template, test list and images, or a run folder, are inputs the user cannot
    get back once written over.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise HarnessError(f"{what} {path} is a folder; give the path of a file to write")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise HarnessError(f"{what} {path}: {parent} is a file, not a folder")
    target = path.resolve()
    for guarded in protected:
        guarded = Path(guarded).expanduser()
        g = guarded.resolve()
        if target == g or target.is_relative_to(g):
            raise HarnessError(f"refusing to write {what} {path}: it would overwrite "
                               f"{guarded}, an input (release files and run folders are "
                               f"never written over); choose another path")
    return path


def check_folder(path: str | Path, what: str) -> Path:
    """A folder the harness will create or write into must not be a file (nor lie under one):
    otherwise every command would fail late with ``NotADirectoryError``."""
    path = Path(path).expanduser()
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise HarnessError(f"{what} {path}: {probe} is a file, not a folder; give a folder")
    return path
