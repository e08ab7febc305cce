"""What ``harness leaderboard`` prints: a table, then its intervals, a comparison, a plot note.

The CLI passes its options straight through and prints the parts in order (rich objects with
the console, strings as they are), so ``harness leaderboard --format latex > t.tex`` captures
exactly the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from rich.table import Table as RichTable

from harness.errors import HarnessError
from harness.provenance import describe as describe_maker
from harness.records import Result
from harness.records.store import FACE_MODEL_KEY
from leaderboard import queries
from leaderboard.queries import Comparison, describe, interval, newest, one_data, results
from leaderboard.render import FORMATS, render_table, rich_table
from leaderboard.tables import ALWAYS_SHOWN, Table, table1, table2
from leaderboard.views import TaskView, view_of

#: Table 2 lists the paper's baselines in the paper's order, then any others.
PAPER_ORDER = ("current_face", "only_video", "concat_fusion", "attention_fusion")
N_BOOT = 2000


def table1_for(workdir: str | Path, baseline: str, task: str | None = None) -> RichTable:
    """Table 1 of ``baseline`` from the store in ``workdir`` (newest data and configuration),
    as printed after ``harness run --split all`` (``task``: default ``expr``)."""
    return rich_table(table1(results(workdir, baseline=baseline), baseline, task=task))


def leaderboard_output(workdir: str | Path, *, by: str = "baseline", split: str = "official",
                       baseline: str | None = None, dataset: str | None = None,
                       fingerprint: str | None = None, features: Mapping[str, str] | None = None,
                       fmt: str = "rich", compare: tuple[str, str] | None = None,
                       plot: Path | None = None, ci: bool = True, over_seeds: bool = False,
                       task: str | None = None, detail: bool = False
                       ) -> list[RichTable | str]:
    """The parts ``harness leaderboard`` prints, in order.

    Rows are those of one task (``task``, default ``expr``: tables never mix tasks), one data
    set and one data fingerprint (given, else the newest row's) whose features include
    ``features``. ``by="baseline"`` gives Table 2 on ``split``, ``by="split"`` Table 1 of
    ``baseline`` (default: the newest row's). ``over_seeds``: Table 2 rows are means ± std over
    training seeds (intervals only for rows of one run). ``detail``: the stage-1 model's digest
    as a column, and after the table what each row's stage-1 model and feature sets were made
    by (``harness.provenance``).
    """
    if fmt not in FORMATS:
        raise HarnessError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    view = view_of(task)
    everything = results(workdir, dataset=dataset, fingerprint=fingerprint)
    of_task = [r for r in everything if r.task == view.task]
    if not of_task:
        others = sorted({r.task for r in everything})
        raise HarnessError(f"no {view.task.upper()} results in {workdir} (it holds "
                           f"{', '.join(t.upper() for t in others)} results); run a baseline "
                           f"first (harness run attention_fusion --task {view.task})")
    stored = queries.with_features(of_task, features)
    rows = one_data([r for r in stored if by != "split" or baseline in (None, r.baseline)])
    if not rows:  # the store has rows, but none with this baseline or these features
        wanted = [f"baseline {baseline}"] if by == "split" and baseline else []
        wanted += [f"{k}={v}" for k, v in (features or {}).items()]
        raise HarnessError(f"no results for {', '.join(wanted)} in {workdir}")
    always = (*ALWAYS_SHOWN, FACE_MODEL_KEY) if detail else ALWAYS_SHOWN
    table = _table(rows, by, split, baseline, over_seeds, view.task, always)
    parts: list[RichTable | str] = [rich_table(table) if fmt == "rich"
                                    else render_table(table, fmt)]
    chosen = {r.run_id: r for r in rows}
    intervals = {rid: interval(chosen[rid], N_BOOT) for rid in table.run_ids if rid in chosen} \
        if (ci or plot) else {}
    if ci and fmt in ("rich", "markdown") and any(intervals.values()):
        parts.append(_ci_lines(table, chosen, intervals, view))  # pooled rows have none
    if detail:
        parts.append(_provenance_lines(table, chosen))
    if compare:
        parts.append(_comparison_line(_compare(stored, compare, split, rows[0]), split, view))
    if plot is not None:
        parts.append(_plot(table, chosen, intervals, plot, view))
    return parts


def _table(rows: list[Result], by: str, split: str, baseline: str | None,
           over_seeds: bool = False, task: str | None = None,
           always: tuple[str, ...] = ALWAYS_SHOWN) -> Table:
    if by == "split":
        if over_seeds:
            raise HarnessError("--over-seeds pools Table 2 rows; Table 1 (--by split) has "
                               "one run per split")
        return table1(rows, baseline or newest(rows).baseline, task=task, always=always)
    if by == "baseline":
        return table2(rows, split, order=PAPER_ORDER, over_seeds=over_seeds, task=task,
                      always=always)
    raise HarnessError(f"--by takes baseline or split, not {by!r}")


def _ci_lines(table: Table, chosen: dict[str, Result],
              intervals: dict[str, tuple[float, float] | None], view: TaskView) -> str:
    lines = [f"95 % bootstrap intervals of {view.metric} (videos resampled, {N_BOOT} "
             "replicates):"]
    for name, rid in zip(table.names, table.run_ids):
        if rid in chosen and intervals.get(rid):
            low, high = intervals[rid]
            lines.append(f"  {name}: {view.shown(chosen[rid].score)} "
                         f"[{view.shown(low)}, {view.shown(high)}]")
    return "\n".join(lines)


def _provenance_lines(table: Table, chosen: dict[str, Result]) -> str:
    """Per row of one run: its stage-1 model and feature sets, each digest and maker."""
    lines = ["What each row read (digest: what made it):"]
    for name, rid in zip(table.names, table.run_ids):
        if rid not in chosen:
            lines.append(f"  {name}: several runs pooled; --detail of each run: "
                         "harness leaderboard without --over-seeds")
            continue
        r = chosen[rid]
        lines.append(f"  {name} (run {rid}):")
        if r.stage1_model:
            lines.append(f"    stage 1 {r.stage1_model.get('digest')}: "
                         f"{describe_maker(r.stage1_model.get('made_by'))}")
        for slot, fs in sorted(r.feature_sets.items()):
            makers = "; ".join(describe_maker(m) for m in fs.get("made_by") or [None])
            lines.append(f"    {slot} {fs.get('digest')} ({fs.get('cache')}): {makers}")
        if not r.stage1_model and not r.feature_sets:
            lines.append("    not recorded (a run made before provenance records, or a "
                         "derived run whose sources read different models)")
    return "\n".join(lines)


def _compare(stored: list[Result], pair: tuple[str, str], split: str, shown: Result
             ) -> Comparison:
    """The paired bootstrap of the pair's latest runs, refused when they are not on the data
    the table shows (the output would then mix two data sets under one heading)."""
    c = queries.compare(stored, *pair, split, N_BOOT)
    if c.a.data_fingerprint != shown.data_fingerprint or c.a.dataset != shown.dataset:
        raise HarnessError(
            f"the latest runs of {pair[0]} and {pair[1]} on {split} are on {c.a.dataset} data "
            f"{c.a.data_fingerprint or 'unknown'}, the table shows {shown.dataset} data "
            f"{shown.data_fingerprint or 'unknown'}; choose one with --fingerprint")
    return c


def _comparison_line(c: Comparison, split: str, view: TaskView) -> str:
    what = "macro F1" if view.confusions else view.metric
    return (f"{describe(c.a)} - {describe(c.b)} on {split}: {what} difference "
            f"{view.difference(c.delta)}, paired bootstrap p = {c.p_value:.4f} "
            f"(videos resampled, {c.n_boot} replicates)")


def _plot(table: Table, chosen: dict[str, Result],
          intervals: dict[str, tuple[float, float] | None], path: Path, view: TaskView) -> str:
    from leaderboard.plots import plot_macro_f1

    entries = [(name, chosen[rid].score, *(intervals.get(rid) or (np.nan, np.nan)))
               for name, rid in zip(table.names, table.run_ids) if rid in chosen]
    if view.confusions:
        plot_macro_f1(entries, path)
    else:
        plot_macro_f1(entries, path, f"{view.metric} with 95% bootstrap CI", label=view.metric,
                      scale=view.scale)
    return f"Plot written to {path}"
