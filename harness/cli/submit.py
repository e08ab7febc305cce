"""``harness submit`` and ``harness validate``: the ABAW file of a run, and checking any file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.options import DataOpt, OutOpt, TaskOpt, say
from harness.console import err
from harness.errors import HarnessError


def submit_cmd(
    run: Annotated[str | None, typer.Argument(
        help="Run folder or id; default: the best run on the official split.")] = None,
    task: TaskOpt = "expr",
    data: DataOpt = None,
    workdir: OutOpt = Path("harness-out"),
    template: Annotated[Path | None, typer.Option(help="Template; default: the release's.")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Submission file to write.")] = None,
    zip: Annotated[bool, typer.Option("--zip", help="Also write a .zip of the file.")] = False,
) -> None:
    """Write the ABAW submission file of a run (every template frame labelled), validated."""
    from harness.api.submit import submit

    done = submit(run, task=task, data=data, workdir=workdir, template=template, out=out,
                  zip=zip)
    say(f"Wrote {done.path} ({done.n_rows:,} rows) from {done.run_dir.name}; it validates.")
    if done.zip_path is not None:
        say(f"Zipped: {done.zip_path}")
    if done.test_scores is not None:
        say(hidden_test_line(done.test_scores))


def hidden_test_line(s) -> str:
    """The hidden-test figures of any task's scores (EXPR ``Scores``, ``VAScores``,
    ``AUScores``, ``MTLScores``), on one line."""
    where = "on the embedded corpus's hidden labels"
    if hasattr(s, "p_mtl"):
        return (f"Test P_MTL {where}: {s.p_mtl:.3f} = P_VA {s.p_va:.3f} + P_EXPR "
                f"{s.p_expr:.3f} + P_AU {s.p_au:.3f} ({s.va.n_frames:,} / {s.expr.n_frames:,} "
                f"/ {s.au.n_frames:,} images with VA / EXPR / AU labels)")
    if hasattr(s, "p_va"):
        return (f"Test P_VA {where}: {s.p_va:.3f} (CCC valence {s.ccc_valence:.3f}, arousal "
                f"{s.ccc_arousal:.3f}, {s.n_frames:,} frames)")
    if hasattr(s, "p_au"):
        return (f"Test P_AU {where}: {100 * s.p_au:.1f} (mean F1 of the 12 AUs in %, "
                f"{s.n_frames:,} frames)")
    return (f"Test macro F1 {where}: {100 * s.macro_f1:.1f} "
            f"(accuracy {100 * s.accuracy:.1f}, {s.n_frames:,} frames)")


def validate_cmd(
    file: Annotated[Path, typer.Argument(help="Submission file to check.")],
    template: Annotated[Path | None, typer.Option(help="Template; default: the release's.")]
    = None,
    task: TaskOpt = "expr",
    data: DataOpt = None,
    score: Annotated[bool, typer.Option(
        "--score", help="--task mtl: also score a valid file (P_MTL and its terms) against "
        "the embedded corpus's hidden test labels, or --truth.")] = False,
    truth: Annotated[Path | None, typer.Option(
        help="--task mtl: annotation file (16-field rows) to score against; implies "
        "--score.")] = None,
) -> None:
    """Check any submission file: header, rows, order, names, values (EXPR labels 0..7; VA two
    numbers in [-1, 1]; AU 12 decisions 0/1), duplicates; every problem with its line."""
    from harness.api.submit import validate
    from harness.cli import mtl

    if mtl.sparse(task):  # MTL: 16-field rows in test-list order; --score, --truth
        return mtl.show_validation(file, template, data, score, truth)
    if score or truth is not None:
        raise HarnessError("--score and --truth are for --task mtl; harness submit scores "
                           "the other tasks' files on the embedded corpus")
    done = validate(file, task=task, template=template, data=data)
    if done.valid:
        say(f"{file}: valid")
        return
    for p in done.problems:
        where = f"{file}:{p.line}" if p.line is not None else str(file)
        err.print(f"[red]{where}[/red]: {p.message}", soft_wrap=True)
    err.print(f"[bold red]{file}: {len(done.problems)} problem(s) shown[/bold red]")
    raise typer.Exit(1)
