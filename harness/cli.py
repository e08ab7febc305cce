"""The ``harness`` command: a thin typer layer over the Python API.

Every expected failure is a ``HarnessError``: printed as one red line, exit code 2, no traceback
unless ``--debug``.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from harness import __version__
from harness.console import err, out
from harness.errors import HarnessError

app = typer.Typer(
    help="Open harness for the Aff-Wild2 EXPR challenge of ABAW: data, features, baselines, "
    "submissions, leaderboards, benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Inspect a release or generate the embedded synthetic corpus.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")

_DEBUG = {"on": False}

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", envvar="ABAW_DATA",
                 help="Root of an Aff-Wild2 release; default: the embedded synthetic corpus."),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"abaw-harness {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _DEBUG["on"] = debug


def load(data: Path | None):
    from harness.data.release import load_release

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        release = load_release(data)
    for w in caught:
        err.print(f"[yellow]warning:[/yellow] {w.message}")
    return release


@data_app.command("synth")
def data_synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the corpus into.")]
    = Path("synth-corpus"),
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same corpus.")] = 0,
    videos: Annotated[int | None, typer.Option(help="Number of videos (all splits).")] = None,
    seconds: Annotated[float | None, typer.Option(help="Seconds per video.")] = None,
    annotations_only: Annotated[bool, typer.Option(
        "--annotations-only", help="Only annotation files, test list and template.")] = False,
    real_scale: Annotated[bool, typer.Option(
        "--real-scale", help="With --annotations-only: the real release's sizes.")] = False,
) -> None:
    """Generate a synthetic corpus laid out exactly like the real release."""
    from harness.data import synth

    if annotations_only:
        summary = synth.synthesize_annotations_only(out_dir, seed=seed, real_scale=real_scale)
    else:
        kwargs = {k: v for k, v in (("videos", videos), ("seconds", seconds)) if v is not None}
        summary = synth.synthesize(out_dir, seed=seed, **kwargs)
    out.print(
        f"Wrote {summary.root}: {summary.n_train} train, {summary.n_val} validation, "
        f"{summary.n_test} test names; {summary.n_labelled:,} labelled of {summary.n_frames:,} "
        f"frames; {summary.bytes_on_disk / 1e6:.1f} MB in {summary.seconds_taken:.1f} s"
    )


@data_app.command("info")
def data_info(data: DataOpt = None) -> None:
    """Summarise a release: edition, folders found, names, frames, test set."""
    from harness.reports import release_table

    release = load(data)
    out.print(release_table(release))


@app.command("splits")
def splits_cmd(
    data: DataOpt = None,
    write: Annotated[Path | None, typer.Option(
        help="Write fold membership (JSON) here for audit and exact rebuilds.")] = None,
) -> None:
    """Show the official split and the five seeded video-level folds, per class."""
    from harness.data.splits import SPLIT_NAMES, get_split
    from harness.reports import splits_table, write_membership

    release = load(data)
    splits = [get_split(release, n) for n in SPLIT_NAMES]
    out.print(splits_table(release, splits))
    if write is not None:
        write_membership(write, release, splits)
        out.print(f"Fold membership written to {write}")


def main() -> None:
    """Console entry point: run the app, turning expected failures into one line and exit 2."""
    debug = "--debug" in sys.argv or os.environ.get("HARNESS_DEBUG") == "1"
    try:
        app()
    except HarnessError as exc:
        if debug:
            raise
        err.print(f"[bold red]error:[/bold red] {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("[red]interrupted[/red]")
        sys.exit(130)


if __name__ == "__main__":
    main()
