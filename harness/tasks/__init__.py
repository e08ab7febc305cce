"""The Aff-Wild2 challenges as registered tasks: ``expr``, ``va``, ``au``, ``mtl`` (``TASKS``).

A task is everything the harness needs to know about one challenge, said once: where its
annotation folders sit in each edition's release, what a file looks like and how to read it
into a per-frame array with a validity mask, the size of a model's head, its test list and
frame template, its submission format, metric, loss and leaderboard columns, and which
post-processing applies. Each task lives in its own module that registers itself; code outside
those modules asks the task object and never tests a task's name.

The metric, loss and submission code of VA and AU live in their own packages; a task names
them by import path (``metric_module`` ...) and ``Task.module(...)`` imports them on use, so
reading a release never imports training or submission code.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.registry import Registry, UnknownEntryError

DEFAULT_TASK = "expr"
TRAIN_DIR, VAL_DIR = "Train_Set", "Validation_Set"


class UnknownTaskError(UnknownEntryError):
    """No task has this name."""


@dataclass(frozen=True)
class AnnotationFolder:
    """Where one edition keeps a task's annotations: ``<root>/<challenge>/{Train,Validation}_Set``.

    ``root`` is the edition's annotation root (``5th_ABAW_Annotations``, ``annotations`` ...),
    ``challenge`` the task's folder inside it.
    """

    edition: str
    root: str
    challenge: str

    @property
    def path(self) -> Path:
        return Path(self.root, self.challenge)


class Task:
    """One challenge. Subclasses set the class attributes and implement the array methods."""

    name: str
    title: str  # "expression recognition": for messages and table captions
    #: Newest edition first; the first folder found under a release root wins.
    annotation_folders: tuple[AnnotationFolder, ...]
    header: str  # line 1 of an annotation file as the release writes it (or is expected to)
    header_enforced: bool  # False where no release file's header was seen byte for byte
    columns: tuple[str, ...]  # values per data line (() for one unnamed value: EXPR's label)
    dtype: np.dtype
    invalid: float  # marker of an invalid frame in the files and the arrays
    output_size: int  # a model head's width: classes, dimensions or AUs
    outputs: str  # the per-frame outputs a run keeps ("logits", "values")
    #: The tensor method a model's outputs go through (``activate``); None: none (logits).
    activation: str | None = None
    test_lists: tuple[str, ...]  # names of the test release list, per edition
    template_names: tuple[str, ...]  # template file names seen, per edition (documentation)
    template_pattern: re.Pattern[str]  # which files in a release are this task's template
    template_header: str  # line 1 of the template and of a submission
    submission_format: str
    leaderboard_columns: tuple[str, ...]
    selection_metric: str  # the leaderboard column a run's best epoch is chosen by
    metric_module: str
    loss: str  # the loss a run trains with by default (a name in ``loss_module``)
    loss_module: str
    submission_module: str
    smoothing: tuple[str, ...]  # temporal filters that apply to this task's outputs
    bias_tuning: bool  # per-class logit bias tuned on validation
    threshold_tuning: bool  # per-output decision thresholds tuned on validation
    #: One class per frame (EXPR): outputs are class logits, targets class indices, and runs
    #: keep one confusion matrix per video and plot it; the others (VA values, AU's 12 binary
    #: labels) keep their ``video_stats`` and plot their figures.
    classification: bool = False
    hidden_truth: Path  # the embedded corpus's test labels, relative to its root
    #: Annotated names per split of the ABAW5 release (train, val, test); VA/AU training counts
    #: are INFERRED (see harness.data.synth.tasks). Sizes the embedded corpus in proportion.
    release_names: dict[str, int]
    #: ABAW5 valid frames of train and val, and test template rows.
    release_frames: dict[str, int]
    #: A composite task (MTL) names the single tasks whose heads it joins, in head order
    #: (its ``output_size`` is the sum of their widths); empty for a single task.
    components: tuple[str, ...] = ()
    #: True where the release is files of sparse images, not one annotation file per video
    #: (MTL's s-Aff-Wild2): ``harness.data.release`` does not read it; ``harness.data.mtl``
    #: does, and the commands take it through ``harness.api.mtl``.
    sparse_images: bool = False
    #: The modality slots a run of this task may read (None: whatever its baseline declares);
    #: a baseline's optional slots outside it are left out, a required one is refused.
    modalities: tuple[str, ...] | None = None

    # -- reading ---------------------------------------------------------------------------
    def read_files(self, paths: list[Path]) -> list[np.ndarray]:
        """Per-frame arrays of ``paths`` (index k-1 = frame k), in order; raises
        ``ReleaseFormatError`` naming the file and line of the first malformed value."""
        raise NotImplementedError

    def valid(self, values: np.ndarray) -> np.ndarray:
        """Boolean (N,): the frames with a label (excluded from training and metrics if not)."""
        raise NotImplementedError

    def strata(self, values: np.ndarray) -> np.ndarray:
        """One small integer per valid frame, to stratify the folds on."""
        raise NotImplementedError

    def summary(self, arrays: list[np.ndarray]) -> dict:
        """What ``harness data info`` shows about a set of names' labels (valid frames only)."""
        raise NotImplementedError

    def annotation_text(self, values: np.ndarray, crlf: bool = False) -> str:
        """An annotation file of ``values`` as the release writes it (header included)."""
        raise NotImplementedError

    # -- scoring a run's outputs -------------------------------------------------------------
    def decisions(self, outputs: np.ndarray, thresholds: np.ndarray | None = None
                  ) -> np.ndarray:
        """Per-frame predictions a metric and a submission take from a run's (n, output_size)
        outputs (EXPR: class indices; VA: values in [-1, 1]; AU: 0/1 per AU).

        ``thresholds``: one probability per output, for tasks with ``threshold_tuning`` only.
        """
        raise NotImplementedError

    def activate(self, outputs):
        """What a model's head gives (a torch tensor) brought into the task's output range by
        its ``activation`` (VA: ``tanh``, so values lie in [-1, 1]); logits stay logits."""
        return outputs if self.activation is None else getattr(outputs, self.activation)()

    def unknown(self, n: int) -> np.ndarray:
        """``n`` frames without a label (a test name's, or beyond a file's end): the invalid
        marker in the task's array layout."""
        shape = (n, len(self.columns)) if self.columns else (n,)
        return np.full(shape, self.invalid, dtype=self.dtype)

    def video_stats(self, truths: Sequence[np.ndarray], preds: Sequence[np.ndarray]) -> Any:
        """Per-video sufficient statistics of ``preds`` (``decisions``) against ``truths``
        (release arrays, invalid markers included): what a bootstrap over videos resamples.
        Each has ``scores(weights=None)``, the pooled figures."""
        raise NotImplementedError

    def stats_arrays(self, stats: Any) -> dict[str, np.ndarray]:
        """``video_stats``'s result as named arrays (written to a run folder without pickle)."""
        return {f.name: np.asarray(getattr(stats, f.name)) for f in dataclasses.fields(stats)}

    def stats_from_arrays(self, arrays: Mapping[str, np.ndarray]) -> Any:
        """The inverse of ``stats_arrays``; raises ``KeyError``/``ValueError`` on a bad file."""
        raise NotImplementedError

    def scores(self, truths: Sequence[np.ndarray], preds: Sequence[np.ndarray]) -> Any:
        """The task's pooled scores object (EXPR ``Scores``, VA ``VAScores``, AU ``AUScores``)
        of ``preds`` (``decisions`` of the same frames) against release ``truths``."""
        return self.video_stats(truths, preds).scores()

    def scores_from_dict(self, d: Mapping[str, Any]) -> Any:
        """A scores object from its ``to_dict()`` (``metrics.json``)."""
        raise NotImplementedError

    def figures(self, scores: Any) -> dict[str, float]:
        """The scores as ``{leaderboard column: value}``, in ``leaderboard_columns`` order."""
        raise NotImplementedError

    def selection(self, scores: Any) -> float:
        """The figure a run's best epoch is chosen by (``selection_metric``; higher is better)."""
        return self.figures(scores)[self.selection_metric]

    def figure_range(self, column: str) -> tuple[float, float]:
        """Where a stored figure of ``column`` can lie: [-1, 1] for every single task's (a CCC
        may be negative; F1s and their means lie inside)."""
        return -1.0, 1.0

    def tuned_columns(self, what: str) -> tuple[slice, slice | int]:
        """The output columns and truth columns that tuned class offsets (``what="bias"``) or
        AU thresholds (``"thresholds"``) act on: every column, for a single task."""
        return slice(None), slice(None)

    # -- submissions ---------------------------------------------------------------------------
    def read_template(self, path: Path) -> Any:
        """The template file at ``path`` (``--template``) as ``harness submit`` follows it."""
        from harness.data.testset import read_template

        return read_template(path, self.template_header)

    def submission_predictions(self, template: Any, per_video: Mapping[str, np.ndarray]
                               ) -> Mapping[str, np.ndarray]:
        """What the task's submission writer takes, from a run's per-video predictions of
        frames 1..N (the per-video tasks: those, as they are)."""
        return per_video

    # -- lazily imported collaborators -----------------------------------------------------
    def module(self, role: str) -> ModuleType:
        """The task's ``metric``, ``loss`` or ``submission`` module, imported now."""
        path = getattr(self, f"{role}_module", None)
        if path is None:
            raise HarnessError(f"task {self.name!r} has no {role} module")
        try:
            return importlib.import_module(path)
        except ModuleNotFoundError as exc:
            raise HarnessError(f"task {self.name!r}: its {role} module {path!r} is not "
                               f"installed ({exc})") from None

    def __repr__(self) -> str:
        return f"<task {self.name}: {self.title}>"


TASKS: Registry[Task] = Registry("task", unknown=UnknownTaskError)


def register_task(task: Task) -> Task:
    TASKS.add(task.name, task, owner=type(task).__module__)
    return task


def get_task(task: str | Task | None = None) -> Task:
    """A task by name (``None``: the default, ``expr``); a Task is returned as it is."""
    if isinstance(task, Task):
        return task
    return TASKS.get(DEFAULT_TASK if task is None else task)


def task_names() -> list[str]:
    return TASKS.names()


# The built-in tasks register themselves on import.
from harness.tasks import expr  # noqa: E402,F401,I001
from harness.tasks import va  # noqa: E402,F401,I001
from harness.tasks import au  # noqa: E402,F401,I001
from harness.tasks import mtl  # noqa: E402,F401,I001
