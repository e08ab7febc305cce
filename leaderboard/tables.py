"""The seed paper's two tables, rebuilt from the results store, in five output formats.

Table 2 (default): one row per baseline, per-class F1, accuracy and macro F1 (Avg(F1)) in %.
Each baseline shows its LATEST run on the chosen split (newest ``created``; on a tie, the later
line of the store): a table then always reflects the code as it is now, and re-running a
baseline replaces its row instead of letting an old lucky run linger as "best".
Table 1 (``table1``): one baseline over the official split and the five folds, plus the folds'
mean ± sample standard deviation (ddof=1). The best value of each column is bold (the summary
row does not compete). Markdown and LaTeX (booktabs) paste straight into a paper.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from rich.console import Console
from rich.table import Table as RichTable

from harness.data.labels import CLASSES
from harness.errors import HarnessError
from leaderboard.store import Result

COLUMNS: tuple[str, ...] = (*CLASSES, "Acc", "Avg(F1)")
FORMATS: tuple[str, ...] = ("rich", "markdown", "latex", "csv", "json")
#: Store split names and how Table 1 labels them (the seed paper's "Split1..Split5").
TABLE1_SPLITS: dict[str, str] = {"official": "Official", **{f"fold{k}": f"Split{k}"
                                                           for k in range(1, 6)}}
MEAN_LABEL = "Folds mean ± std"
DECIMALS = 1


@dataclass(frozen=True, eq=False)
class Table:
    """Numbers of a table in % (NaN: no value); ``stds`` is NaN except in a mean ± std row."""

    title: str
    label_header: str
    labels: tuple[str, ...]
    values: np.ndarray  # (rows, 10)
    stds: np.ndarray  # (rows, 10)
    bold: np.ndarray  # (rows, 10) bool
    run_ids: tuple[str, ...]  # "" for summary rows
    summary_from: int | None = None  # first summary row (a rule is drawn above it)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.label_header, *COLUMNS)


def result_row(r: Result) -> np.ndarray:
    """The 10 numbers of one result in %: per-class F1, accuracy, macro F1."""
    return 100.0 * np.array([*r.per_class_f1, r.accuracy, r.macro_f1], dtype=np.float64)


def when(r: Result) -> datetime:
    """``created`` as an aware UTC time (naive means UTC; unreadable sorts first)."""
    try:
        t = datetime.fromisoformat(r.created)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def latest(results: Iterable[Result], key) -> dict:
    """Newest result per ``key(result)``; ties on ``created`` go to the later store line."""
    best: dict = {}
    for r in results:
        k = key(r)
        if k not in best or when(r) >= when(best[k]):
            best[k] = r
    return best


def _one_dataset(results: list[Result], dataset: str | None) -> list[Result]:
    """Never mix data sets in one table: ``dataset``, by default the newest result's one."""
    if dataset is None and results:
        dataset = max(results, key=when).dataset
    return [r for r in results if r.dataset == dataset]


def _column_max(values: np.ndarray, rows: int) -> np.ndarray:
    """Bold mask: cells equal (at display precision) to their column's max over ``rows``."""
    shown = np.round(values, DECIMALS)
    bold = np.zeros(values.shape, dtype=bool)
    if rows:
        with np.errstate(invalid="ignore"):
            top = np.nanmax(np.where(np.isnan(shown[:rows]), -np.inf, shown[:rows]), axis=0)
        bold[:rows] = shown[:rows] == top[None, :]
    return bold


def table2(results: Sequence[Result], split: str = "official", *, dataset: str | None = None,
           order: Sequence[str] | None = None) -> Table:
    """Table 2: latest run per baseline on ``split``; rows in ``order``, else first appearance."""
    rows = _one_dataset([r for r in results if r.split == split], dataset)
    if not rows:
        raise HarnessError(f"no results on split {split!r}" +
                           (f" for data set {dataset!r}" if dataset else ""))
    chosen = latest(rows, key=lambda r: r.baseline)
    names = list(dict.fromkeys([*(order or []), *(r.baseline for r in rows)]))
    names = [n for n in names if n in chosen]
    values = np.stack([result_row(chosen[n]) for n in names])
    return Table(
        title=f"Expression F1 (in %) of each baseline, split {split}"
              + (f", {rows[0].dataset}" if rows else ""),
        label_header="Modal", labels=tuple(names), values=values,
        stds=np.full(values.shape, np.nan), bold=_column_max(values, len(names)),
        run_ids=tuple(chosen[n].run_id for n in names),
    )


def table1(results: Sequence[Result], baseline: str, *, dataset: str | None = None) -> Table:
    """Table 1: ``baseline`` on Official and Split1..5 (latest run each), + folds mean ± std."""
    rows = _one_dataset([r for r in results if r.baseline == baseline
                         and r.split in TABLE1_SPLITS], dataset)
    if not rows:
        raise HarnessError(f"no results for baseline {baseline!r} on official/fold1..fold5")
    chosen = latest(rows, key=lambda r: r.split)
    splits = [s for s in TABLE1_SPLITS if s in chosen]
    values = np.stack([result_row(chosen[s]) for s in splits])
    labels, run_ids = [TABLE1_SPLITS[s] for s in splits], [chosen[s].run_id for s in splits]
    stds = np.full(values.shape, np.nan)
    n_main = len(splits)
    folds = values[[i for i, s in enumerate(splits) if s.startswith("fold")]]
    if len(folds) >= 2:
        values = np.vstack([values, folds.mean(axis=0)])
        stds = np.vstack([stds, folds.std(axis=0, ddof=1)])
        labels.append(MEAN_LABEL + ("" if len(folds) == 5 else f" ({len(folds)} folds)"))
        run_ids.append("")
    return Table(
        title=f"Expression F1 (in %) of {baseline} on each split, {rows[0].dataset}",
        label_header="Val Set", labels=tuple(labels), values=values, stds=stds,
        bold=_column_max(values, n_main), run_ids=tuple(run_ids),
        summary_from=n_main if len(labels) > n_main else None,
    )


def _number(table: Table, i: int, j: int, pm: str, missing: str) -> str:
    v, s = table.values[i, j], table.stds[i, j]
    if math.isnan(v):
        return missing
    text = f"{v:.{DECIMALS}f}"
    return text if math.isnan(s) else f"{text}{pm}{s:.{DECIMALS}f}"


def rich_table(table: Table) -> RichTable:
    """A ``rich`` table for the terminal (best values bold)."""
    t = RichTable(title=table.title)
    t.add_column(table.label_header)
    for c in COLUMNS:
        t.add_column(c, justify="right")
    for i, label in enumerate(table.labels):
        cells = []
        for j in range(len(COLUMNS)):
            text = _number(table, i, j, " ± ", "–")
            cells.append(f"[bold]{text}[/bold]" if table.bold[i, j] else text)
        t.add_row(label, *cells, end_section=table.summary_from == i + 1)
    return t


def _markdown(table: Table) -> str:
    def row(cells):
        return "| " + " | ".join(cells) + " |"

    lines = [row(table.columns), "|:---|" + "---:|" * len(COLUMNS)]
    for i, label in enumerate(table.labels):
        cells = [_number(table, i, j, " ± ", "–") for j in range(len(COLUMNS))]
        cells = [f"**{c}**" if table.bold[i, j] else c for j, c in enumerate(cells)]
        lines.append(row([label.replace("|", "\\|"), *cells]))
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "±": r"$\pm$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex(table: Table) -> str:
    lines = [r"\begin{tabular}{l" + "r" * len(COLUMNS) + "}", r"\toprule",
             " & ".join(latex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    for i, label in enumerate(table.labels):
        if table.summary_from == i:
            lines.append(r"\midrule")
        cells = [_number(table, i, j, r" $\pm$ ", "--") for j in range(len(COLUMNS))]
        cells = [rf"\textbf{{{c}}}" if table.bold[i, j] else c for j, c in enumerate(cells)]
        lines.append(" & ".join([latex_escape(label), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _csv(table: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.columns)
    for i, label in enumerate(table.labels):
        w.writerow([label, *(_number(table, i, j, " ± ", "") for j in range(len(COLUMNS)))])
    return buf.getvalue()


def _json(table: Table) -> str:
    def num(x: float) -> float | None:
        return None if math.isnan(x) else round(float(x), 6)

    rows = []
    for i, label in enumerate(table.labels):
        row = {"label": label, "run_id": table.run_ids[i],
               "values": {c: num(table.values[i, j]) for j, c in enumerate(COLUMNS)},
               "bold": [c for j, c in enumerate(COLUMNS) if table.bold[i, j]]}
        if not np.all(np.isnan(table.stds[i])):
            row["std"] = {c: num(table.stds[i, j]) for j, c in enumerate(COLUMNS)}
        rows.append(row)
    doc = {"title": table.title, "unit": "%", "columns": list(table.columns), "rows": rows}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _rich_text(table: Table) -> str:
    console = Console(file=io.StringIO(), width=160, record=True, color_system=None)
    console.print(rich_table(table))
    return console.export_text()


_RENDERERS = {"rich": _rich_text, "markdown": _markdown, "latex": _latex, "csv": _csv,
              "json": _json}


def render_table(table: Table, fmt: str = "markdown") -> str:
    """The table as text in ``fmt`` (one of ``FORMATS``; "rich" gives the plain-text layout)."""
    if fmt not in _RENDERERS:
        raise HarnessError(f"unknown table format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return _RENDERERS[fmt](table)
