"""Build a corpus beside its destination and move it into place only when complete.

Generation writes into ``<out>.partial-<pid>``; the manifest (``synth.json``, marked complete) is
the last file written, then the folder is renamed to ``out``. A generation killed at any point
leaves at most a ``.partial-*`` folder, never something that looks like a finished corpus.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from harness.data.synth import files
from harness.errors import HarnessError


def is_finished_corpus(path: Path) -> bool:
    """A finished corpus has its manifest, written last, marked complete."""
    try:
        return bool(json.loads((Path(path) / files.MANIFEST).read_text()).get("complete"))
    except (OSError, ValueError, AttributeError):
        return False


def check_target(out: Path) -> None:
    """Refuse to overwrite anything: a finished corpus or any other non-empty path."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if is_finished_corpus(out):
            raise HarnessError(f"{out} already holds a finished corpus; delete it to regenerate")
        raise HarnessError(f"{out} exists and is not empty; refusing to write a corpus there")


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield a fresh staging folder; on success rename it to ``out``, on failure delete it.

    The caller must have written the manifest (with ``"complete": true``) last.
    """
    out = Path(out)
    check_target(out)
    partial = out.with_name(f"{out.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        yield partial
        if out.exists():
            out.rmdir()  # empty: check_target refused anything else
        os.replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
