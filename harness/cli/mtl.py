"""``--task mtl`` of ``harness data info``, ``harness splits`` and ``harness validate``: the
multi-task challenge's release is files of sparse images (``harness.api.mtl``), so each of
those commands hands a task with ``sparse_images`` to the functions here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from harness.cli.options import say
from harness.console import err, out

if TYPE_CHECKING:
    from harness.data.mtl import MtlRelease
    from harness.data.splits import Split
    from harness.data.task_summary import PartSummary
    from harness.metrics.mtl import MTLScores

TASK_COLUMNS = ("VA valid", "EXPR valid", "AU valid")


def sparse(task: str) -> bool:
    """Whether ``task``'s release is files of sparse images (MTL): the commands' other path."""
    from harness.tasks import get_task

    return get_task(task).sparse_images


def show_info(data: Path | None) -> None:
    from harness.api.mtl import mtl_info

    done = mtl_info(data)
    out.print(release_table(done.release))
    for table in parts_tables(done.release, done.parts):
        out.print(table)


def show_splits(data: Path | None, write: Path | None, folds: Path | None) -> None:
    from harness.api.mtl import mtl_splits

    done = mtl_splits(data, write=write, folds=folds)
    out.print(splits_table(done.release, done.splits))
    if done.written is not None:
        out.print(f"Fold membership written to {done.written}")


def show_validation(file: Path, template: Path | None, data: Path | None, score: bool,
                    truth: Path | None) -> None:
    from harness.api.mtl import mtl_validate

    done = mtl_validate(file, template=template, data=data, score=score, truth=truth)
    if not done.valid:
        for p in done.problems:
            where = f"{file}:{p.line}" if p.line is not None else str(file)
            err.print(f"[red]{where}[/red]: {p.message}", soft_wrap=True)
        err.print(f"[bold red]{file}: {len(done.problems)} problem(s) shown[/bold red]")
        raise typer.Exit(1)
    say(f"{file}: valid")
    if done.scores is not None:
        out.print(scores_table(done.scores, done.truth))


# ----------------------------------------------------------------------------- tables

def release_table(release: MtlRelease) -> Table:
    lay = release.layout
    t = Table(title=f"MTL release (s-Aff-Wild2) at {lay.root} ({lay.edition})",
              show_header=False)
    t.add_row("training file", f"{lay.train} ({len(release.train):,} rows, "
              f"{len(set(release.train.videos)):,} videos)")
    t.add_row("validation file", f"{lay.val} ({len(release.val):,} rows, "
              f"{len(set(release.val.videos)):,} videos)")
    t.add_row("images", str(lay.images or "none (not checked)"))
    if release.test is None:
        t.add_row("test list", "none")
    else:
        test = release.test
        comma = "a trailing comma per image" if test.trailing_comma else "no trailing comma"
        t.add_row("test list", f"{lay.test_list} ({test.n_rows:,} images, "
                  f"{len(set(test.videos)):,} videos; {comma})")
    t.add_row("test images", str(lay.test_images or "none (not checked)"))
    return t


def parts_tables(release: MtlRelease, parts: list[PartSummary]) -> list[Table]:
    """Rows and per-task valid counts; images per expression class; positives per AU."""
    from harness.data.labels import SHORT
    from harness.data.valuefiles import AU_NAMES

    rows = Table(title="Rows per part (a row counts for a task where that task's label is "
                 "valid)")
    for col in ("part", "videos", "rows", "with a label", *TASK_COLUMNS):
        rows.add_column(col, justify="left" if col == "part" else "right")
    classes = Table(title="Images per expression class (rows with a valid expression)")
    positives = Table(title="Positives per AU (rows with valid AUs)")
    for table, cols in ((classes, SHORT), (positives, AU_NAMES)):
        table.add_column("part")
        for col in cols:
            table.add_column(col, justify="right")
    for p in parts:
        if p.valid_frames is None:  # the test list: no labels in a release
            rows.add_row(p.part, f"{p.names:,}", f"{p.frames:,}", "-", "-", "-", "-")
            continue
        lab = p.labels
        rows.add_row(p.part, f"{p.names:,}", f"{p.frames:,}", f"{p.valid_frames:,}",
                     f"{lab['va_valid']:,}", f"{lab['expr_valid']:,}", f"{lab['au_valid']:,}")
        classes.add_row(p.part, *(f"{c:,}" for c in lab["class_counts"].values()))
        positives.add_row(p.part, *(f"{c:,}" for c in lab["au_positives"].values()))
    return [rows, classes, positives]


def splits_table(release: MtlRelease, splits: list[Split]) -> Table:
    from harness.data.labels import SHORT
    from harness.data.mtl import rows_summary
    from harness.data.mtl_splits import split_rows

    t = Table(title=f"MTL splits of s-Aff-Wild2 ({release.edition}; names are video folders, "
              "folds grouped by recording; images per class with a valid expression)")
    for col in ("split", "part", "videos", "rows", *TASK_COLUMNS, *SHORT):
        t.add_column(col, justify="left" if col in ("split", "part") else "right")
    for split in splits:
        for part, rows in zip(("train", "val"), split_rows(release, split)):
            s = rows_summary([rows.rows()])
            t.add_row(split.name if part == "train" else "", part,
                      f"{len(set(rows.videos)):,}", f"{s['rows']:,}", f"{s['va_valid']:,}",
                      f"{s['expr_valid']:,}", f"{s['au_valid']:,}",
                      *(f"{c:,}" for c in s["class_counts"].values()))
    return t


def scores_table(s: MTLScores, truth: Path | None) -> Table:
    """P_MTL with its three terms, then what each term is made of."""
    from harness.data.labels import SHORT
    from harness.data.valuefiles import AU_NAMES

    t = Table(title=f"P_MTL {s.p_mtl:.4f} = P_VA {s.p_va:.4f} + P_EXPR {s.p_expr:.4f} + "
              f"P_AU {s.p_au:.4f}", caption=f"against {truth}" if truth else None,
              show_header=False)
    t.add_row("P_VA", f"CCC valence {s.va.ccc_valence:.4f}, arousal {s.va.ccc_arousal:.4f} "
              f"({s.va.n_frames:,} images with VA)")
    t.add_row("P_EXPR", ", ".join(f"{c} {f:.3f}" for c, f in zip(SHORT, s.expr.per_class_f1))
              + f" ({s.expr.n_frames:,} images with an expression)")
    t.add_row("P_AU", ", ".join(f"{a} {f:.3f}" for a, f in zip(AU_NAMES, s.au.per_au_f1))
              + f" ({s.au.n_frames:,} images with AUs)")
    return t
