"""``harness recipes``: the shipped recipes with their files; ``--show NAME`` prints one."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.console import out


def recipes_cmd(
    show: Annotated[str | None, typer.Option(
        "--show", metavar="NAME", help="Print this recipe's file as written.")] = None,
) -> None:
    """Known systems as TOML recipes shipped with the package; run one with
    harness run --config NAME (missing weights are substituted, and said)."""
    if show is not None:
        from harness.api.recipes import recipes_show

        _, text = recipes_show(show)
        out.print(text, end="", markup=False, highlight=False, soft_wrap=True)
        return
    from rich.table import Table

    from harness.api.recipes import recipes_list

    table = Table(title="Recipes (harness run --config NAME)")
    for column in ("name", "title", "source", "file"):
        table.add_column(column, overflow="fold")
    for r in recipes_list():
        table.add_row(r.name, r.title, r.source, str(r.path))
    out.print(table)
