"""How each task's runs are shown and resampled: columns, units, the figure a bootstrap draws.

A table holds one task (its rows are that task's runs), so the columns, the unit and the
bootstrap's figure are the task's, said once here by task name (like the submission formats,
``submissions.SUBMISSION_FORMATS``); nothing else in the leaderboard tests a task's name.

- ``expr``: per-class F1, accuracy and macro F1 (Avg(F1)) in %, as the seed paper's tables;
  intervals resample the per-video confusion matrices.
- ``va``: CCC of valence, of arousal and their mean P_VA, as raw CCCs with 3 decimals (the
  ABAW papers' convention, e.g. 0.6721); intervals resample per-video CCC sums (``VAStats``).
- ``au``: F1 of each of the 12 AUs and their mean P_AU in %; intervals resample per-video
  (tp, fp, fn) counts (``AUStats``).
- ``mtl``: P_VA, P_EXPR, P_AU and their sum P_MTL, raw with 3 decimals (the ABAW papers'
  1.5286); intervals resample the three terms' per-video statistics together (``MTLStats``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.metrics import macro_f1_from_confusion
from harness.records import Result
from harness.registry import Registry


@dataclass(frozen=True)
class TaskView:
    """One task's table columns and bootstrap figure."""

    task: str
    columns: tuple[str, ...]  # the value columns, in order
    metric: str  # the column a run is judged by (the last one)
    what: str  # table titles: "<what> of each baseline, split ..."
    scale: float  # stored fraction -> shown number (100: in %)
    decimals: int
    unit: str  # "%" or "CCC"
    #: The run's per-video statistics -> (weights (B, V) -> the metric of each replicate (B,)).
    replicates: Callable[[Any], Callable[[np.ndarray], np.ndarray]]
    #: The stored figures of a row (fractions), in ``columns`` order.
    figures: Callable[[Result], np.ndarray]
    #: Runs keep per-video confusion matrices (EXPR), else per-video statistics (VA, AU).
    confusions: bool = False

    def values(self, r: Result) -> np.ndarray:
        """A row's numbers as shown (scaled)."""
        return self.scale * self.figures(r)

    def shown(self, x: float) -> str:
        """A fraction as the table shows it (``41.2``, ``0.672``)."""
        return f"{self.scale * x:.{self.decimals}f}"

    def difference(self, delta: float) -> str:
        """``+3.1 points`` (in %) or ``+0.031`` (CCC)."""
        text = f"{self.scale * delta:+.{self.decimals}f}"
        return text + " points" if self.unit == "%" else text


def _expr_figures(r: Result) -> np.ndarray:
    return np.array([*r.per_class_f1, r.accuracy, r.macro_f1], dtype=np.float64)


def _expr_replicates(cms: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    cms = np.asarray(cms, np.float64)
    return lambda w: macro_f1_from_confusion(np.einsum("bv,vij->bij", w, cms))


def _named_figures(columns: tuple[str, ...]) -> Callable[[Result], np.ndarray]:
    def figures(r: Result) -> np.ndarray:
        missing = [c for c in columns if c not in r.figures]
        if missing:
            raise HarnessError(f"run {r.run_id} of task {r.task} has no {missing[0]} figure in "
                               "the results store")
        return np.array([r.figures[c] for c in columns], dtype=np.float64)
    return figures


def _va_replicates(stats) -> Callable[[np.ndarray], np.ndarray]:
    return lambda w: np.asarray(stats.p_va(w))


def _au_replicates(stats) -> Callable[[np.ndarray], np.ndarray]:
    return lambda w: np.asarray(stats.p_au(w))


def _mtl_replicates(stats) -> Callable[[np.ndarray], np.ndarray]:
    return lambda w: np.asarray(stats.p_mtl(w))


def _view(task: str, what: str, scale: float, decimals: int, unit: str, replicates,
          figures=None) -> TaskView:
    from harness.tasks import get_task

    columns = tuple(get_task(task).leaderboard_columns)
    return TaskView(task, columns, columns[-1], what, scale, decimals, unit, replicates,
                    figures or _named_figures(columns), confusions=figures is not None)


TASK_VIEWS: Registry[TaskView] = Registry("leaderboard view")
TASK_VIEWS.add("expr", _view("expr", "Expression F1 (in %)", 100.0, 1, "%", _expr_replicates,
                             _expr_figures), owner=__name__)
TASK_VIEWS.add("va", _view("va", "Valence-arousal CCC", 1.0, 3, "CCC", _va_replicates),
               owner=__name__)
TASK_VIEWS.add("au", _view("au", "Action-unit F1 (in %)", 100.0, 1, "%", _au_replicates),
               owner=__name__)
TASK_VIEWS.add("mtl", _view("mtl", "Multi-task P_MTL (P_VA + P_EXPR + P_AU)", 1.0, 3, "score",
                            _mtl_replicates), owner=__name__)


def view_of(task: str | None) -> TaskView:
    """The view of a task name (None: the default task, ``expr``)."""
    from harness.tasks import DEFAULT_TASK, get_task

    name = get_task(task or DEFAULT_TASK).name
    if name not in TASK_VIEWS:
        raise HarnessError(f"--task {name}: the leaderboard has no tables for that challenge "
                           "yet")
    return TASK_VIEWS.get(name)
