"""The one place the harness prints from: two rich consoles and the progress bars.

Results go to stdout (``out``) and chatter (progress, warnings, "using the embedded corpus") to
stderr (``err``), so ``harness leaderboard > table.md`` captures the table and nothing else. A
table printed to a file or a pipe keeps its natural width (every cell whole), as it does in a
terminal wide enough for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

#: Width given to output that is not a terminal: rich would otherwise squeeze every table into
#: 80 columns and cut numbers and class names to "1,…" in files, pipes and CI logs.
UNLIMITED_WIDTH = 1000


def _console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=UNLIMITED_WIDTH)


out = _console()
err = _console(stderr=True)


class RateColumn(ProgressColumn):
    """Throughput in the stage's own unit (frames/s, images/s, s of audio/s)."""

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} {self.unit}/s" if speed else f"- {self.unit}/s", style="cyan")


def progress(unit: str = "frames", *, disable: bool = False) -> Progress:
    """A progress display on stderr with a rate column; tasks carry an ``info`` field."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=disable,
        transient=False,
    )


@contextlib.contextmanager
def progress_task(label: str, total: int, unit: str = "items", *, disable: bool = False
                  ) -> Iterator[Callable[[int], None]]:
    """One bar; yields ``advance(n)`` (a no-op when ``disable``)."""
    with progress(unit, disable=disable) as bar:
        task = bar.add_task(label, total=total, info="")
        yield lambda n=1: bar.advance(task, n)
