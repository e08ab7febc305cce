"""How every run folder begins and ends, trained and derived alike.

``start`` makes the folder and writes what was asked (``config.json``) and on which names
(``split.json``). ``finish`` writes what it came to, in an order that keeps a killed run
honest: ``run.json`` (with the finishing time and harness version stamped here), then
``metrics.json`` (which marks the run finished), then the run's row in the results store.
A run killed before ``metrics.json`` is an unfinished folder no one lists; one killed after it
lacks only its row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from harness.metrics import Scores
from harness.records.folder import RunFolder
from harness.records.info import RunInfo, utc_now
from harness.records.store import Result, append_result, store_path
from harness.version import __version__


def start(workdir: Path, prefix: str, config: Mapping, split: Mapping) -> RunFolder:
    """A new run folder ``<workdir>/runs/<prefix><local time stamp>`` holding the run's config
    and split. The stamp has microseconds, so runs started one after another sort in order."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    folder = RunFolder.create(workdir, prefix + stamp)
    folder.write_config(config)
    folder.write_split(split)
    return folder


def finish(folder: RunFolder, info: RunInfo, scores: Scores, workdir: Path) -> Result:
    """Record a finished run: ``run.json``, ``metrics.json`` (figures only), and its row in
    ``workdir``'s results store; returns that row.

    ``info.finished`` and ``info.version`` are stamped here, so no caller keeps its own clock.
    """
    info = dataclasses.replace(info, finished=utc_now(), version=__version__)
    folder.write_info(info)
    folder.mark_finished(scores)
    row = Result.of_run(info, scores, folder.path)
    append_result(store_path(workdir), row)
    return row
