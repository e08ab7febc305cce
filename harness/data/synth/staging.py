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

from harness.console import err
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
    remove_partials(out)
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


def remove_partials(out: Path, *, only_dead: bool = True) -> list[Path]:
    """Delete ``<out>.partial-<pid>`` folders left by generations that were killed hard.

    ``only_dead``: only those whose process is gone; a live pid's folder is another generation
    at work. Only processes of this machine can be checked; a folder on shared storage written
    from another machine, under a pid that happens to be free here, would be removed and its
    generation would fail at the rename with an error, never half a corpus. Callers that hold
    a lock every generation of ``out`` takes (the embedded corpus) know every partial is dead.
    """
    removed = []
    for partial in sorted(out.parent.glob(f"{out.name}.partial-*")):
        pid = partial.name.rsplit("-", 1)[-1]
        if only_dead and (not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid))):
            continue
        err.print(f"[dim]Removing {partial}, left by a generation that was stopped.[/dim]")
        shutil.rmtree(partial, ignore_errors=True)
        removed.append(partial)
    return removed


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) there sends CTRL+C: never probe, keep the folder
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # exists (another user's), or cannot tell: keep it
        return True
    try:  # Linux: a killed process not yet reaped by its parent is a zombie, dead all the same
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
