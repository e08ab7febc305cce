"""Before/after tables of post-processing, with the hidden test score where one exists.

The embedded corpus keeps its test labels in ``synth_truth/Test_Set/`` (the real Aff-Wild2 test
labels are not public). Post-processing chosen on validation must be judged on test, so every
table of ``harness smooth`` and ``harness ensemble`` shows both columns when it can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rich.table import Table
from rich.text import Text

from harness.data.annotations import read_annotation_file
from harness.data.labels import SHORT
from harness.data.release import Release
from harness.metrics import Scores, confusion_matrix, scores_from_confusion
from harness.paths import safe_child
from harness.postprocess.derived import Derived
from harness.records import RunFolder


def hidden_test_truth(release: Release) -> dict[str, np.ndarray] | None:
    """Per-name test labels of the embedded corpus; None for a release without them."""
    from harness.data.synth.files import TRUTH

    folder = release.root / TRUTH
    if not folder.is_dir() or release.layout.template is None:
        return None
    return {n: read_annotation_file(safe_child(folder, f"{n}.txt"))
            for n in release.template.names}


def part_scores(predictions: Mapping[str, np.ndarray], truth: Mapping[str, np.ndarray]
                ) -> Scores:
    """Pooled scores of per-name labels against per-name truth (names of ``truth`` only)."""
    cm = sum((confusion_matrix(truth[n], predictions[n][:truth[n].size]) for n in truth),
             np.zeros((8, 8), np.int64))
    return scores_from_confusion(cm)


@dataclass(frozen=True)
class Row:
    label: str
    validation: str  # what the validation figure covers
    val: Scores
    test: Scores | None


def run_row(folder: RunFolder, test_truth: Mapping[str, np.ndarray] | None,
            validation: str | None = None) -> Row:
    """A table row from a finished run folder (its test predictions scored if truth exists)."""
    info = folder.info()
    test = (part_scores(folder.predictions("test"), test_truth)
            if test_truth is not None and folder.has_outputs("test") else None)
    return Row(info.baseline, validation or f"{info.split} validation", folder.metrics(), test)


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
    parts: list = [comparison_table(rows, f"{derived.label}: sources and derived run")]
    parts += _notes(derived)
    parts.append(f"Derived run: {derived.folder.path}")
    parts.append(f"Submit it with: harness submit {derived.folder.run_id}")
    return parts


def _notes(derived: Derived) -> list[str]:
    out, notes = derived.outcome, []
    if out.sweep is not None:
        raw, grid = out.sweep.scores()
        c = out.choice
        if c.method is None:
            notes.append(f"Sweep: no filter beat the unfiltered outputs ({100 * raw:.1f}) on "
                         f"{derived.validation}.")
        else:
            best = grid[out.sweep.methods.index(c.method), out.sweep.windows.index(c.window)]
            notes.append(f"Sweep on {derived.validation}: best {c.method} over {c.window:g} s, "
                         f"{100 * raw:.1f} -> {100 * best:.1f} macro F1 "
                         f"({100 * (best - raw):+.1f} points); plot: "
                         f"{derived.folder.sweep_files[1]}")
            if out.fold_choices:
                notes.append("That is the choice applied to test. Chosen for each fold on the "
                             "other folds only, the pooled out-of-fold figure is "
                             f"{100 * derived.scores.macro_f1:.1f} (the table's).")
    for fold, choice in out.fold_choices.items():
        notes.append(f"  {fold} held out: chosen on the other folds: "
                     f"{choice.label(oof=True).lstrip('+') or 'no filter'}")
    if out.choice.bias is not None:
        notes.append("Class offsets (log-probability): " + ", ".join(
            f"{k} {b:+.2f}" for k, b in zip(SHORT, out.choice.bias)))
    if out.validation_tuned:
        notes.append("[val-tuned]: chosen on the validation it is scored on, so its "
                     "validation figure is optimistic; judge it on test.")
    elif out.fold_choices:
        notes.append("Everything tuned was tuned out of fold: the pooled validation figure is "
                     "a cross-validated estimate.")
    return notes
