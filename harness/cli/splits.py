"""``harness splits``: the official split and the five seeded folds, per class."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.options import DataOpt, FoldsOpt, TaskOpt
from harness.console import out


def splits_cmd(
    data: DataOpt = None,
    write: Annotated[Path | None, typer.Option(
        help="Write fold membership (JSON) here for audit and exact rebuilds.")] = None,
    folds: FoldsOpt = None,
    task: TaskOpt = None,
) -> None:
    """Show the official split and the five seeded folds (grouped by recording), per class."""
    from harness.cli import mtl

    if mtl.sparse(task):  # MTL: folds of the pooled rows, by the image path's video folder
        return mtl.show_splits(data, write, folds)
    from harness.api.data import splits
    from harness.cli.tables import splits_table

    done = splits(data, write=write, folds=folds, task=task)
    out.print(splits_table(done.release, done.splits))
    if done.written is not None:
        out.print(f"Fold membership written to {done.written}")
