"""The ``harness`` command: a thin typer layer over the Python API (``harness.api``).

One file per command group declares its options and calls the API; ``tables`` renders what
the API returns. Every expected failure is a ``HarnessError``: printed as one red line, exit
code 2, no traceback unless ``--debug``. Importing this package imports typer and rich only:
each command imports its API module when it runs.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Annotated

import typer
from rich.markup import escape

from harness.cli import baselines, bench, data, extract, leaderboard, postprocess, run, splits
from harness.cli import recipes as recipes_
from harness.cli import report as report_
from harness.cli import submit as submit_
from harness.cli import tune as tune_
from harness.console import err, out
from harness.errors import HarnessError
from harness.version import __version__

app = typer.Typer(
    help="Open harness for the Aff-Wild2 EXPR challenge of ABAW: data, features, baselines, "
    "submissions, leaderboards, benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data.data_app, name="data")
app.add_typer(report_.report_app, name="report")
for _name, _command in (("splits", splits.splits_cmd), ("extract", extract.extract_cmd),
                        ("baselines", baselines.baselines_cmd), ("run", run.run_cmd),
                        ("submit", submit_.submit_cmd), ("validate", submit_.validate_cmd),
                        ("smooth", postprocess.smooth_cmd),
                        ("ensemble", postprocess.ensemble_cmd),
                        ("leaderboard", leaderboard.leaderboard_cmd),
                        ("bench", bench.bench_cmd), ("tune", tune_.tune_cmd),
                        ("recipes", recipes_.recipes_cmd)):
    app.command(_name)(_command)


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
    """Options for every command (``--debug`` is read by ``main``)."""


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (no audio stream, corrupt jpgs, duplicates) as one yellow line each."""
    err.print(f"[yellow]warning:[/yellow] {message}", soft_wrap=True)


def main() -> None:
    """Console entry point: run the app, turning expected failures into one line and exit 2."""
    debug = "--debug" in sys.argv or os.environ.get("HARNESS_DEBUG") == "1"
    if not debug:
        warnings.showwarning = _show_warning
    try:
        app()
    except HarnessError as exc:
        if debug:
            raise
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}")  # [onnx], [x]: as is
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("[red]interrupted[/red]")
        sys.exit(130)


if __name__ == "__main__":
    main()
