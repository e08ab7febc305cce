"""``harness data synth`` and ``harness data info``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.options import DataOpt, TaskOpt
from harness.console import out

data_app = typer.Typer(help="Inspect a release or generate the embedded synthetic corpus.",
                       no_args_is_help=True)


@data_app.command("synth")
def data_synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the corpus into.")]
    = Path("synth-corpus"),
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same corpus.")] = 0,
    videos: Annotated[int | None, typer.Option(help="Number of videos (all splits).")]
    = None,
    seconds: Annotated[float | None, typer.Option(help="Seconds per video.")] = None,
    annotations_only: Annotated[bool, typer.Option(
        "--annotations-only", help="Only annotation files, test list and template.")] = False,
    real_scale: Annotated[bool, typer.Option(
        "--real-scale", help="With --annotations-only or --features-only: the real release's "
        "sizes (1.56 M labelled lines, 1.02 M test rows); else 100x smaller.")] = False,
    features_only: Annotated[bool, typer.Option(
        "--features-only", help="Annotations plus per-frame face (256-d), audio (1024-d) and "
        "pose (36-d) feature files for harness extract --from, no images: training at scale "
        "without media.")] = False,
) -> None:
    """Generate a synthetic corpus laid out exactly like the real release."""
    from harness.api.data import data_synth as synth

    summary = synth(out_dir, seed=seed, videos=videos, seconds=seconds,
                    annotations_only=annotations_only, real_scale=real_scale,
                    features_only=features_only)
    out.print(
        f"Wrote {summary.root}: {summary.n_train} train, {summary.n_val} validation, "
        f"{summary.n_test} test names; {summary.n_labelled:,} labelled of {summary.n_frames:,} "
        f"frames; {summary.bytes_on_disk / 1e6:.1f} MB in {summary.seconds_taken:.1f} s"
    )


@data_app.command("info")
def data_info(data: DataOpt = None, task: TaskOpt = None) -> None:
    """Summarise a release: edition, folders found, names, frames, test set, coverage; with
    --task, that task's part of it and its labels per part."""
    from harness.cli import mtl

    if mtl.sparse(task):  # MTL: rows, per-task valid counts, classes and AUs per part
        return mtl.show_info(data)
    from harness.api.data import data_info as info
    from harness.cli.tables import coverage_tables, release_table, task_table

    done = info(data, task=task)
    out.print(release_table(done.release))
    for part in coverage_tables(done.release, done.coverage):
        out.print(part, soft_wrap=isinstance(part, str))
    if done.labels is not None:
        out.print(task_table(done.release, done.labels))
