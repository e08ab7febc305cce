"""Before/after tables of post-processing, with the hidden test score where one exists.

The embedded corpus keeps its test labels in ``synth_truth/`` (``task.hidden_truth``; the real
Aff-Wild2 test labels are not public). Post-processing chosen on validation must be judged on
test, so every table of ``harness smooth`` and ``harness ensemble`` shows both columns when it
can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text

from harness.data.labels import SHORT
from harness.data.release import Release
from harness.data.testset import hidden_test_labels
from harness.metrics import confusion_matrix, scores_from_confusion
from harness.postprocess.derived import Derived
from harness.postprocess.spaces import output_space
from harness.records import RunFolder
from harness.tasks import DEFAULT_TASK, Task, get_task


def hidden_test_truth(release: Release) -> dict[str, np.ndarray] | None:
    """Per-name test labels of the embedded corpus for the release's task; None for a release
    without them."""
    return hidden_test_labels(release)


def part_scores(predictions: Mapping[str, np.ndarray], truth: Mapping[str, np.ndarray],
                task: Task | None = None) -> Any:
    """Pooled scores of per-name predictions against per-name truth (names of ``truth`` only):
    EXPR ``Scores`` of labels; another task's scores (``task.scores``) of its decisions."""
    if task is not None and not task.classification:
        names = list(truth)
        return task.scores([truth[n] for n in names],
                           [predictions[n][:len(truth[n])] for n in names])
    cm = sum((confusion_matrix(truth[n], predictions[n][:truth[n].size]) for n in truth),
             np.zeros((8, 8), np.int64))
    return scores_from_confusion(cm)


@dataclass(frozen=True)
class Row:
    label: str
    validation: str  # what the validation figure covers
    val: Any  # the task's scores (EXPR ``Scores``, ``VAScores``, ``AUScores``)
    test: Any | None


def run_row(folder: RunFolder, test_truth: Mapping[str, np.ndarray] | None,
            validation: str | None = None) -> Row:
    """A table row from a finished run folder (its test predictions scored if truth exists)."""
    info = folder.info()
    task = get_task(info.task)
    test = (part_scores(folder.predictions("test"), test_truth, task)
            if test_truth is not None and folder.has_outputs("test") else None)
    return Row(info.baseline, validation or f"{info.split} validation", folder.metrics(), test)


def task_comparison_table(rows: Sequence[Row], title: str, task: Task) -> Table:
    """VA/AU: the task's figures on validation and, where known, on the hidden test labels
    (VA: P_VA, CCC-V, CCC-A; AU: P_AU, its 12 F1s being in the run's own plot)."""
    space = output_space(task)
    metric = task.selection_metric
    shown = [c for c in task.leaderboard_columns if c != metric]
    shown = [metric, *shown] if len(shown) <= 2 else [metric]
    has_test = any(r.test is not None for r in rows)
    t = Table(title=Text(title))
    for col in ("run", "validation", *(f"val {c}" for c in shown)):
        t.add_column(col, justify="left" if col in ("run", "validation") else "right")
    if has_test:
        for c in shown:
            t.add_column(f"test {c}", justify="right")
    for r in rows:
        val = task.figures(r.val)
        cells = [r.label, r.validation, *(space.shown(val[c]) for c in shown)]
        if has_test:
            test = task.figures(r.test) if r.test is not None else None
            cells += [space.shown(test[c]) if test else "" for c in shown]
        t.add_row(*map(Text, cells))
    if has_test:
        t.caption = "test: the embedded corpus's hidden labels, never used to choose"
    return t


def comparison_table(rows: Sequence[Row], title: str) -> Table:
    """Macro F1 and accuracy on validation and, where known, on the hidden test labels."""
    has_test = any(r.test is not None for r in rows)
    t = Table(title=Text(title))
    for col in ("run", "validation", "val Avg(F1)", "val Acc"):
        t.add_column(col, justify="left" if col in ("run", "validation") else "right")
    if has_test:
        t.add_column("test Avg(F1)", justify="right")
        t.add_column("test Acc", justify="right")
    for r in rows:
        cells = [r.label, r.validation, f"{100 * r.val.macro_f1:.1f}",
                 f"{100 * r.val.accuracy:.1f}"]
        if has_test:
            cells += ([f"{100 * r.test.macro_f1:.1f}", f"{100 * r.test.accuracy:.1f}"]
                      if r.test is not None else ["", ""])
        t.add_row(*map(Text, cells))
    if has_test:
        t.caption = "test: the embedded corpus's hidden labels (synth_truth), never used to choose"
    return t


def derived_report(derived: Derived, release: Release) -> list:
    """What ``harness smooth`` / ``harness ensemble`` print: the before/after table, then notes."""
    truth = hidden_test_truth(release)
    rows = [run_row(s.folder, truth) for s in derived.sset.sources]
    rows.append(run_row(derived.folder, truth, derived.validation))
    title = f"{derived.label}: sources and derived run"
    task = release.task
    table = (comparison_table(rows, title) if task.classification
             else task_comparison_table(rows, title, task))
    parts: list = [table]
    parts += _notes(derived, task)
    parts.append(f"Derived run: {derived.folder.path}")
    option = "" if task.name == DEFAULT_TASK else f" --task {task.name}"
    parts.append(f"Submit it with: harness submit {derived.folder.run_id}{option}")
    return parts


def _notes(derived: Derived, task: Task | None = None) -> list[str]:
    out, notes = derived.outcome, []
    if out.sweep is not None:
        raw, grid = out.sweep.scores()
        c = out.choice
        labels = task is None or task.classification
        scale = 100.0 if labels else output_space(task).scale
        digits = 1 if scale == 100.0 else 3
        shown = lambda x: f"{scale * x:.{digits}f}"  # noqa: E731
        metric = "macro F1" if labels else task.selection_metric
        if c.method is None:
            notes.append(f"Sweep: no filter beat the unfiltered outputs ({shown(raw)}) on "
                         f"{derived.validation}.")
        else:
            best = grid[out.sweep.methods.index(c.method), out.sweep.windows.index(c.window)]
            gain = f"{scale * (best - raw):+.{digits}f}" + (" points" if scale == 100.0 else "")
            notes.append(f"Sweep on {derived.validation}: best {c.method} over {c.window:g} s, "
                         f"{shown(raw)} -> {shown(best)} {metric} "
                         f"({gain}); plot: "
                         f"{derived.folder.sweep_files[1]}")
            if out.fold_choices:
                final = (derived.scores.macro_f1 if labels
                         else task.selection(derived.scores))
                notes.append("That is the choice applied to test. Chosen for each fold on the "
                             "other folds only, the pooled out-of-fold figure is "
                             f"{shown(final)} (the table's).")
    for fold, choice in out.fold_choices.items():
        notes.append(f"  {fold} held out: chosen on the other folds: "
                     f"{choice.label(oof=True).lstrip('+') or 'no filter'}")
    if out.choice.bias is not None:
        notes.append("Class offsets (log-probability): " + ", ".join(
            f"{k} {b:+.2f}" for k, b in zip(SHORT, out.choice.bias)))
    if out.choice.thresholds is not None and task is not None:
        notes.append("Thresholds (probability, applied to test): " + ", ".join(
            f"{k} {t:.2f}" for k, t in zip(task.columns[task.tuned_columns("thresholds")[1]],
                                           out.choice.thresholds)))
    if out.validation_tuned:
        notes.append("[val-tuned]: chosen on the validation it is scored on, so its "
                     "validation figure is optimistic; judge it on test.")
    elif out.fold_choices:
        notes.append("Everything tuned was tuned out of fold: the pooled validation figure is "
                     "a cross-validated estimate.")
    return notes
