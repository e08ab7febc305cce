"""How every run folder begins and ends, trained and derived alike.

``start`` makes the folder and writes what was asked (``config.json``) and on which names
(``split.json``). ``finish`` writes what it came to, in an order that keeps a killed run
honest: ``run.json`` (with the finishing time and harness version stamped here), then
``metrics.json`` (which marks the run finished), then the run's row in the results store.
A run killed before ``metrics.json`` is an unfinished folder no one lists; one killed after it
lacks only its row. A run stopped by a full disk is not worth resuming, and its folder holds what
filled the disk: ``removed_if_disk_full`` deletes the folders ``start`` made inside it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import shutil
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from harness.atomic import free_bytes, is_disk_full
from harness.errors import DiskFullError
from harness.records.folder import RunFolder
from harness.records.info import RunInfo, utc_now
from harness.records.store import Result, append_result, store_path
from harness.version import __version__

#: The folders ``start`` made inside the innermost ``removed_if_disk_full`` (None: outside one).
_STARTED: ContextVar[list[RunFolder] | None] = ContextVar("harness_started_runs", default=None)


@contextlib.contextmanager
def removed_if_disk_full(workdir: Path) -> Iterator[None]:
    """On a full disk, delete the unfinished run folders started in this block and raise one
    ``DiskFullError`` (whatever library reported it), so an attempt leaves nothing behind.

    Only folders made here go: a folder being resumed was made by an earlier attempt and keeps
    its epochs; a finished one (``metrics.json`` written) is a result.
    """
    made: list[RunFolder] = []
    token = _STARTED.set(made)
    try:
        yield
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        gone = [f.path for f in made if f.path.exists() and not f.is_finished]
        for path in gone:
            shutil.rmtree(path, ignore_errors=True)
        if not isinstance(exc, DiskFullError):
            exc = DiskFullError(workdir, free_bytes(workdir))
        if gone:
            exc.args = (f"{exc}; removed the unfinished run folder "
                        f"{', '.join(map(str, gone))}",)
        raise exc from None
    finally:
        _STARTED.reset(token)


def start(workdir: Path, prefix: str, config: Mapping, split: Mapping) -> RunFolder:
    """A new run folder ``<workdir>/runs/<prefix><local time stamp>`` holding the run's config
    and split. The stamp has microseconds, so runs started one after another sort in order."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    folder = RunFolder.create(workdir, prefix + stamp)
    made = _STARTED.get()
    if made is not None:
        made.append(folder)
    folder.write_config(config)
    folder.write_split(split)
    return folder


def finish(folder: RunFolder, info: RunInfo, scores: Any, workdir: Path) -> Result:
    """Record a finished run: ``run.json``, ``metrics.json`` (figures only), and its row in
    ``workdir``'s results store; returns that row. ``scores`` are ``info.task``'s (EXPR
    ``Scores``, VA ``VAScores``, AU ``AUScores``).

    ``info.finished`` and ``info.version`` are stamped here, so no caller keeps its own clock.
    """
    info = dataclasses.replace(info, finished=utc_now(), version=__version__)
    folder.write_info(info)
    folder.mark_finished(scores)
    row = Result.of_run(info, scores, folder.path)
    append_result(store_path(workdir), row)
    return row
