"""``harness report results``: the docs' results tables, regenerated from runs it makes."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.cli import options as o

report_app = typer.Typer(help="Regenerate the documentation's results from runs.",
                         no_args_is_help=True)


def _seeds(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"seeds separated by commas (0,1,2), not {text!r}") from None


@report_app.command("results")
def results_cmd(
    out: Annotated[Path, typer.Option(
        "--out", help="Markdown file to write; one holding the report's markers (as "
        "docs/results.md does) gets only the block between them replaced.")]
    = Path("results.md"),
    mode: Annotated[str, typer.Option(
        help="quick: one corpus, stage-1 seed 0, fusion seeds 0,1,2 (minutes); full: corpus "
        "seeds 0,1,2 x stage-1 seeds 0,1,2 x fusion seeds 0,1,2 (hours on 2 cores).")]
    = "quick",
    data: o.DataOpt = None,
    workdir: Annotated[Path, typer.Option(
        "--workdir", help="Where the report's runs, corpora and journal go (report.jsonl: a "
        "report started again goes on where it stopped).")] = Path("harness-report"),
    baseline: Annotated[list[str] | None, typer.Option(
        help="Baselines (repeatable); default: the paper's four and dense_temporal.")] = None,
    fusion_seeds: Annotated[str | None, typer.Option(help="e.g. 0,1,2 (the default).")]
    = None,
    face_seeds: Annotated[str | None, typer.Option(
        help="Stage-1 seeds; default 0 (quick) or 0,1,2 (full).")] = None,
    corpus_seeds: Annotated[str | None, typer.Option(
        help="Full mode: corpus seeds (default 0,1,2; 0 is the embedded corpus).")] = None,
    threads: Annotated[int, typer.Option(
        min=1, help="CPU threads of every run (the numbers depend on it).")] = 1,
    epochs: Annotated[int | None, typer.Option(min=1, help="Max fusion epochs.")] = None,
    face_epochs: Annotated[int | None, typer.Option(min=1, help="Max stage-1 epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Windows per step.")] = None,
    videos: Annotated[int | None, typer.Option(
        min=1, help="Full mode: videos of each corpus it makes (default: the embedded's).")]
    = None,
    seconds: Annotated[float | None, typer.Option(
        help="Full mode: seconds per video of each corpus it makes.")] = None,
    task: Annotated[str | None, typer.Option(
        "--task", help="The challenge whose baselines run: expr (default), va, au or mtl; the "
        "tables show its leaderboard columns (P_VA, P_AU ...) on validation and hidden test.")]
    = None,
) -> None:
    """Run the baselines over seeds and write the results tables (mean ± std) with the
    machine, versions and exact commands beside each: the docs' tables are this output."""
    from harness.api.report import report_results

    command = "harness " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    done = report_results(out, mode=mode, data=data, workdir=workdir, baselines=baseline,
                          fusion_seeds=_seeds(fusion_seeds), face_seeds=_seeds(face_seeds),
                          corpus_seeds=_seeds(corpus_seeds), threads=threads, epochs=epochs,
                          face_epochs=face_epochs, batch_size=batch_size, videos=videos,
                          seconds=seconds, task=task, command=command)
    o.say(f"Wrote {done.out}: {len(done.cells)} runs ({done.reused} reused) in "
          f"{done.seconds:.0f} s")
