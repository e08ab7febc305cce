"""A leaderboard ``Table`` as text: rich (terminal), Markdown, LaTeX, CSV and JSON.

Markdown, LaTeX and CSV go through a ``pandas.DataFrame`` of the displayed cells: Markdown is
``to_markdown`` (tabulate), LaTeX is pandas' Styler (booktabs rules, bold best values, LaTeX
escaping of labels and headers), CSV is ``to_csv``. Numbers are in the table's unit (EXPR and
AU F1 in % with one decimal, VA CCCs with three), summary cells read "mean ± std", and the best
value of each column is bold in Markdown and LaTeX.
Markdown and LaTeX paste straight into a paper.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable
from tabulate import DataRow, TableFormat

from harness.console import UNLIMITED_WIDTH
from harness.errors import HarnessError
from leaderboard.tables import Table

FORMATS: tuple[str, ...] = ("rich", "markdown", "latex", "csv", "json")
_BOLD_LATEX = "textbf: --rwrap;"  # Styler's way of writing \textbf{cell}


def _number(table: Table, i: int, j: int, pm: str, missing: str) -> str:
    v, s = table.values[i, j], table.stds[i, j]
    if math.isnan(v):
        return missing
    d = table.decimals
    text = f"{v:.{d}f}"
    return text if math.isnan(s) else f"{text}{pm}{s:.{d}f}"


def frame(table: Table, *, pm: str = " ± ", missing: str = "–") -> pd.DataFrame:
    """The cells as displayed (strings), one column per ``table.columns``, no bold marks."""
    rows = []
    for i, label in enumerate(table.labels):
        feats = table.features[i] if table.feature_keys else ()
        rows.append([label, *(f or missing for f in feats),
                     *(_number(table, i, j, pm, missing)
                       for j in range(len(table.value_columns)))])
    return pd.DataFrame(rows, columns=list(table.columns), dtype=object)


def _text_columns(table: Table) -> int:
    """Label and feature columns (left-aligned, escaped); the numbers follow."""
    return 1 + len(table.feature_keys)


def _markdown(table: Table) -> str:
    df = frame(table)
    n_text = _text_columns(table)
    text = df.iloc[:, :n_text].map(lambda s: s.replace("|", "\\|"))
    nums = df.iloc[:, n_text:].where(~table.bold, "**" + df.iloc[:, n_text:] + "**")
    rule = "|" + ":---|" * n_text + "---:|" * len(table.value_columns)
    # GitHub pipe table written compactly (cells unpadded, alignment in the rule)
    fmt = TableFormat(lineabove=None, linebelowheader=lambda *_: rule, linebetweenrows=None,
                      linebelow=None, headerrow=DataRow("|", "|", "|"),
                      datarow=DataRow("|", "|", "|"), padding=1, with_header_hide=None)
    out = pd.concat([text, nums], axis=1).to_markdown(
        index=False, tablefmt=fmt, stralign=None, numalign=None, disable_numparse=True)
    return out + "\n"


def _latex(table: Table) -> str:
    df = frame(table, pm=r" $\pm$ ", missing="--")
    text_cols = list(df.columns[:_text_columns(table)])
    num_cols = list(df.columns[len(text_cols):])
    css = np.where(table.bold, _BOLD_LATEX, "")
    styler = (df.style.hide(axis="index")
              .format(lambda s: s.replace("±", r"$\pm$"), escape="latex", subset=text_cols)
              .format_index(escape="latex", axis=1)
              .apply(lambda _: css, axis=None, subset=num_cols))
    lines = styler.to_latex(hrules=True, column_format="l" * len(text_cols)
                            + "r" * len(num_cols)).splitlines()
    if table.summary_from is not None:  # rule above the mean ± std row: it does not compete
        first_row = lines.index(r"\midrule") + 1
        lines.insert(first_row + table.summary_from, r"\midrule")
    return "\n".join(lines) + "\n"


def _csv(table: Table) -> str:
    return frame(table, missing="").to_csv(index=False, lineterminator="\n")


def _json(table: Table) -> str:
    def num(x: float) -> float | None:
        return None if math.isnan(x) else round(float(x), 6)

    rows = []
    columns = table.value_columns
    for i, label in enumerate(table.labels):
        row = {"label": label, "run_id": table.run_ids[i],
               "values": {c: num(table.values[i, j]) for j, c in enumerate(columns)},
               "bold": [c for j, c in enumerate(columns) if table.bold[i, j]]}
        if table.feature_keys:
            row["features"] = {k: v for k, v in zip(table.feature_keys, table.features[i]) if v}
        if not np.all(np.isnan(table.stds[i])):
            row["std"] = {c: num(table.stds[i, j]) for j, c in enumerate(columns)}
        rows.append(row)
    doc = {"title": table.title, "unit": table.unit, "columns": list(table.columns),
           "rows": rows}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def rich_table(table: Table) -> RichTable:
    """A ``rich`` table for the terminal (best values bold)."""
    t = RichTable(title=table.title)
    for c in (table.label_header, *table.feature_headers):
        t.add_column(c)
    for c in table.value_columns:
        t.add_column(c, justify="right")
    cells = frame(table)
    n_text = _text_columns(table)
    for i in range(len(table.labels)):
        row = list(cells.iloc[i])
        nums = [f"[bold]{c}[/bold]" if table.bold[i, j] else c
                for j, c in enumerate(row[n_text:])]
        texts = [escape(str(c)) for c in row[:n_text]]  # "[val-tuned]" is text, not a style
        t.add_row(*texts, *nums, end_section=table.summary_from == i + 1)
    return t


def _rich_text(table: Table) -> str:
    console = Console(file=io.StringIO(), width=UNLIMITED_WIDTH, record=True,
                      color_system=None)
    console.print(rich_table(table))
    return console.export_text()


_RENDERERS = {"rich": _rich_text, "markdown": _markdown, "latex": _latex, "csv": _csv,
              "json": _json}


def render_table(table: Table, fmt: str = "markdown") -> str:
    """The table as text in ``fmt`` (one of ``FORMATS``; "rich" gives the plain-text layout)."""
    if fmt not in _RENDERERS:
        raise HarnessError(f"unknown table format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return _RENDERERS[fmt](table)
