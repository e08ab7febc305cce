"""``harness leaderboard``: the paper's Table 2 (or Table 1) from the results store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.options import OutOpt, TaskOpt
from harness.console import out


def leaderboard_cmd(
    workdir: OutOpt = Path("harness-out"),
    task: TaskOpt = "expr",
    by: Annotated[str, typer.Option(
        help="baseline: Table 2 (one row per baseline and feature configuration); split: "
        "Table 1 (one baseline across official and fold1..fold5).")] = "baseline",
    split: Annotated[str, typer.Option(help="Split for Table 2 and --compare.")] = "official",
    baseline: Annotated[str | None, typer.Option(help="Baseline for --by split.")] = None,
    dataset: Annotated[str | None, typer.Option(
        help="Data set (e.g. synth-seed0, affwild2); default: the newest result's.")] = None,
    fingerprint: Annotated[str | None, typer.Option(
        help="Data fingerprint (harness data info shows a release's); default: the newest "
        "result's. Tables and comparisons never mix two.")] = None,
    features: Annotated[list[str] | None, typer.Option(
        help="Only runs with this feature setting, KEY=VALUE (repeatable), e.g. face=emonet.")]
    = None,
    fmt: Annotated[str, typer.Option("--format", help="rich, markdown, latex, csv or json.")]
    = "rich",
    compare: Annotated[tuple[str, str] | None, typer.Option(
        help="Paired bootstrap p-value between two baselines (their latest runs) or two run "
        "ids on --split.")] = None,
    plot: Annotated[Path | None, typer.Option(
        help="Draw the task's figure (macro F1, P_VA, P_AU) with 95 % CIs to this PNG.")]
    = None,
    ci: Annotated[bool, typer.Option(help="Show 95 % bootstrap CIs of the task's figure (Avg(F1), "
                                         "P_VA, P_AU; videos resampled).")]
    = True,
    over_seeds: Annotated[bool, typer.Option(
        "--over-seeds", help="Table 2 rows as mean ± std over the training seeds (--seed) of "
        "each baseline's latest recipe.")] = False,
    detail: Annotated[bool, typer.Option(
        "--detail", help="Show the digest of the stage-1 face model each row read (Face "
        "model column) and what made it and each feature set (torch, CPU capability, "
        "threads, device, seed, harness version).")] = False,
) -> None:
    """Print the paper's Table 2 (or Table 1 with --by split) of one task from the results
    store: EXPR per-class F1; VA CCC-V, CCC-A, P_VA; AU F1 per AU and P_AU."""
    from harness.api.leaderboard import leaderboard

    done = leaderboard(workdir, by=by, split=split, baseline=baseline, dataset=dataset,
                       fingerprint=fingerprint, features=features, fmt=fmt, compare=compare,
                       plot=plot, ci=ci, over_seeds=over_seeds, task=task, detail=detail)
    for part in done.parts:
        out.print(part) if not isinstance(part, str) else print(part)
