"""The results store: one row (``Result``) per finished run, one JSON object per line in
``<workdir>/leaderboard.jsonl``.

The row format lives with the run records because a run writes its row as it finishes
(``harness.records.finish``) and the leaderboard only reads rows: both import it from here.

Several runs may finish at once (8 processes in the tests), and a run may be killed at any
moment. So every append takes a file lock, re-reads the current text, adds one line and renames
a complete new file over the old one: readers see the old store or the new one, never half a
row, and no concurrent append is lost. A line that still fails to parse (edited by hand, or
written by an older tool) is skipped with a warning naming it, so one bad row never hides the
whole leaderboard.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from harness.atomic import write_text
from harness.data.labels import NUM_CLASSES
from harness.records.info import RunInfo, utc_now
from harness.tasks import DEFAULT_TASK, Task, get_task

STORE_NAME = "leaderboard.jsonl"
#: A classification (EXPR) row's own fields; other tasks' rows hold ``figures`` instead.
_CLASS_FIELDS = ("per_class_f1", "accuracy", "macro_f1", "confusion")
#: The configuration key (``Result.configuration``) of the stage-1 model's digest.
FACE_MODEL_KEY = "face_model"
#: Digits of a digest shown in tables (collisions among one data set's models are remote).
SHORT_DIGEST = 8
#: Seconds to wait for another process's append before giving up with an error.
LOCK_TIMEOUT = 60.0


@dataclass(frozen=True)
class Result:
    """One (run, baseline, split) evaluation: everything a table, a plot or a bootstrap needs.

    An EXPR row (``task`` "expr", the default) carries ``per_class_f1``, ``accuracy``,
    ``macro_f1`` and ``confusion`` as it always did, and is written exactly as before (no
    ``task`` or ``figures`` key); its ``figures`` are derived from them. A VA or AU row carries
    ``figures`` instead: ``{leaderboard column: value}`` of its task (VA: CCC-V, CCC-A, P_VA; AU:
    AU1..AU26, P_AU), and no EXPR field. ``score`` is the task's selection figure either way.
    """

    run_id: str
    baseline: str
    split: str
    dataset: str
    per_class_f1: tuple[float, ...] = ()
    accuracy: float | None = None
    macro_f1: float | None = None
    confusion: tuple[tuple[int, ...], ...] = ()
    config_hash: str = ""
    data_fingerprint: str = ""
    created: str = field(default_factory=utc_now)
    run_dir: str = ""
    n_frames: int = 0
    #: Some of the run's ``run.json`` (``info.ROW_EXTRA``: seconds, best epoch, kind, and a
    #: trained run's seed and recipe); read them through the properties below.
    extra: dict[str, Any] = field(default_factory=dict)
    #: The feature configuration the run was trained on, e.g. ``{"face": "emonet", "audio":
    #: "deepspectrum", "pose": "coco18", "face_fit": "cross-fitted"}``: rows that differ here
    #: are different systems, never one row of a table. Empty in rows written before it existed.
    features: dict[str, str] = field(default_factory=dict)
    #: The run's task (``harness.tasks``); rows written before tasks existed are EXPR's.
    task: str = DEFAULT_TASK
    #: The task's figures by leaderboard column (EXPR: derived from the fields above).
    figures: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse malformed rows here, so the store never holds a row a table cannot show.

        Lists (e.g. ``confusion=[list(r) for r in cm]``) are stored as tuples, so a row read
        back from the store compares equal to the one written.
        """
        for name in ("run_id", "baseline", "split", "dataset", "task"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")
        try:
            task = get_task(self.task)
        except KeyError as exc:
            raise ValueError(str(exc)) from None
        if task.classification:
            self._check_classes(task)
        else:
            self._check_figures(task)
        if not isinstance(self.features, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.features.items()):
            raise ValueError(f"features must map names to strings, got {self.features!r}")

    def _check_classes(self, task: Task) -> None:
        """EXPR's fields, as rows always held them; ``figures`` follow from them."""
        if self.accuracy is None or self.macro_f1 is None:
            raise ValueError("an expr row needs accuracy and macro_f1")
        object.__setattr__(self, "per_class_f1", tuple(_number("per_class_f1", x)
                                                       for x in self.per_class_f1))
        object.__setattr__(self, "confusion",
                           tuple(tuple(_count(x) for x in row) for row in self.confusion))
        for name, value in (("accuracy", self.accuracy), ("macro_f1", self.macro_f1),
                            *(("per_class_f1", v) for v in self.per_class_f1)):
            _fraction(name, value)
        object.__setattr__(self, "n_frames", _count(self.n_frames))
        if self.n_frames < 0 or any(x < 0 for row in self.confusion for x in row):
            raise ValueError("a count (n_frames, confusion) is negative")
        if len(self.per_class_f1) != NUM_CLASSES:
            raise ValueError(f"per_class_f1 has {len(self.per_class_f1)} values, not 8")
        if len(self.confusion) != NUM_CLASSES or any(len(r) != NUM_CLASSES
                                                     for r in self.confusion):
            raise ValueError("confusion is not 8x8")
        object.__setattr__(self, "figures", task.figures(self))

    def _check_figures(self, task: Task) -> None:
        """A VA/AU/MTL row: exactly its task's figures, each finite within the task's
        ``figure_range`` (CCC may be negative; P_MTL sums three terms), and none of EXPR's
        fields."""
        if self.per_class_f1 or self.confusion or self.accuracy is not None \
                or self.macro_f1 is not None:
            raise ValueError(f"a {task.name} row holds no per_class_f1, accuracy, macro_f1 or "
                             "confusion (its figures are in figures)")
        figures = self.figures if isinstance(self.figures, dict) else {}
        columns = task.leaderboard_columns
        if set(figures) != set(columns):
            raise ValueError(f"a {task.name} row's figures must be {', '.join(columns)}; got "
                             f"{', '.join(map(str, figures)) or 'none'}")
        ordered = {k: _number(k, figures[k]) for k in columns}
        for k, v in ordered.items():
            lo, hi = task.figure_range(k)
            if not math.isfinite(v) or not lo <= v <= hi:
                raise ValueError(f"{k} must be a finite number in [{lo:g}, {hi:g}], got {v!r}")
        object.__setattr__(self, "figures", ordered)
        object.__setattr__(self, "n_frames", _count(self.n_frames))
        if self.n_frames < 0:
            raise ValueError("n_frames is negative")

    @property
    def score(self) -> float:
        """The task's selection figure (EXPR macro F1, P_VA, P_AU)."""
        return self.figures[get_task(self.task).selection_metric]

    @property
    def configuration(self) -> dict[str, str]:
        """``features`` plus the digest of the stage-1 face model the run read (its first
        ``SHORT_DIGEST`` digits, under ``face_model``) where the run recorded one: two runs
        that read different stage-1 models are never one row of a table."""
        digest = (self.stage1_model or {}).get("digest")
        if not isinstance(digest, str):
            return dict(self.features)
        return self.features | {FACE_MODEL_KEY: digest[:SHORT_DIGEST]}

    @property
    def feature_key(self) -> tuple[tuple[str, str], ...]:
        """The configuration as a sortable, hashable key (``()`` when unknown)."""
        return tuple(sorted(self.configuration.items()))

    @property
    def stage1_model(self) -> dict[str, Any] | None:
        """The stage-1 model the run read (``RunInfo.stage1_model``); None where none was."""
        value = self.extra.get("stage1_model")
        return value if isinstance(value, dict) else None

    @property
    def feature_sets(self) -> dict[str, dict[str, Any]]:
        """The feature sets the run read, by slot (``RunInfo.feature_sets``)."""
        value = self.extra.get("feature_sets")
        return value if isinstance(value, dict) else {}

    @property
    def seed(self) -> int | None:
        """The training seed; None for derived runs and rows written before runs kept it."""
        return self.extra.get("seed")

    @property
    def recipe(self) -> str | None:
        """The config hash without the seed (``RunInfo.recipe``); None where unknown."""
        return self.extra.get("recipe")

    def to_json(self) -> str:
        """One line of the store (keys sorted, no newline inside). An EXPR row has exactly the
        keys it always had; a VA/AU row has ``task`` and ``figures`` and no EXPR field."""
        d = asdict(self)
        if get_task(self.task).classification:
            del d["task"], d["figures"]
        else:
            for key in _CLASS_FIELDS:
                del d[key]
        return json.dumps(d, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Result:
        known = {f.name for f in fields(cls)}
        task = obj.get("task", DEFAULT_TASK)
        try:
            classes = get_task(task).classification
        except (KeyError, TypeError) as exc:
            raise ValueError(f"task: {exc}") from None
        required = {"run_id", "baseline", "split", "dataset"}
        required |= set(_CLASS_FIELDS) if classes else {"figures"}
        missing = required - set(obj)
        if missing:
            raise ValueError(f"missing keys {sorted(missing)}")
        kw = {k: v for k, v in obj.items() if k in known}
        if classes:
            kw["accuracy"] = _number("accuracy", kw["accuracy"])
            kw["macro_f1"] = _number("macro_f1", kw["macro_f1"])
            kw.pop("figures", None)  # derived from the fields above
        else:
            kw["figures"] = dict(kw.get("figures") or {})
        kw["n_frames"] = _count(kw.get("n_frames", 0))
        kw["extra"] = dict(kw.get("extra") or {})
        kw["features"] = dict(kw.get("features") or {})
        return cls(**kw)

    @classmethod
    def of_run(cls, info: RunInfo, scores: Any, run_dir: Path) -> Result:
        """The row of a finished run: its task's scores and its ``run.json``."""
        return result_from_scores(task=info.task, scores=
            scores, run_id=Path(run_dir).name, baseline=info.baseline, split=info.split,
            dataset=info.dataset, config_hash=info.config_hash or "",
            data_fingerprint=info.data_fingerprint or "", run_dir=str(run_dir),
            extra=info.row_extra(), features=info.features, created=info.finished or None)


def _number(name: str, value: Any) -> float:
    """A figure read from JSON: a number (not a bool, not a string a hand edit left)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{name} is not a number: {str(value)[:40]!r}")
    return float(value)


def _count(value: Any) -> int:
    """A whole count (confusion cell, frames): ``3.0`` is read as 3, ``2.5`` and text refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer) \
            or value != value or not float(value).is_integer():
        raise ValueError(f"count is not a whole number: {str(value)[:40]!r}")
    return int(value)


def _fraction(name: str, value: float) -> None:
    """Scores are fractions: a row with NaN, inf, 1e308 or -0.5 would top (or sink) every
    column of a table, so it is refused like a truncated one."""
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a finite number in [0, 1], got {value!r}")


def result_from_scores(scores: Any, *, run_id: str, baseline: str, split: str, dataset: str,
                       config_hash: str = "", data_fingerprint: str = "", run_dir: str = "",
                       extra: dict[str, Any] | None = None,
                       features: dict[str, str] | None = None,
                       created: str | None = None, task: str | Task | None = None) -> Result:
    """A ``Result`` from a task's scores (EXPR ``harness.metrics.Scores``, VA ``VAScores``,
    AU ``AUScores``) plus the run's identity (``created``: now unless given)."""
    task = get_task(task)
    if task.classification:
        kw: dict[str, Any] = {"per_class_f1": tuple(scores.per_class_f1),
                              "accuracy": scores.accuracy, "macro_f1": scores.macro_f1,
                              "confusion": tuple(scores.confusion)}
    else:
        kw = {"task": task.name, "figures": task.figures(scores)}
    return Result(run_id=run_id, baseline=baseline, split=split, dataset=dataset, **kw,
                  config_hash=config_hash, data_fingerprint=data_fingerprint,
                  created=created or utc_now(), run_dir=str(run_dir), n_frames=scores.n_frames,
                  extra=dict(extra or {}), features=dict(features or {}))


def when(r: Result) -> datetime:
    """``created`` as an aware UTC time (naive means UTC; unreadable sorts first)."""
    try:
        t = datetime.fromisoformat(r.created)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def store_path(workdir: str | Path) -> Path:
    return Path(workdir) / STORE_NAME


def append_result(store: str | Path, result: Result) -> None:
    """Add one row under the store's lock; the file is replaced whole (temp file + rename)."""
    store = Path(store)
    store.parent.mkdir(parents=True, exist_ok=True)
    line = result.to_json() + "\n"
    with FileLock(str(store) + ".lock", timeout=LOCK_TIMEOUT):
        old = store.read_text(encoding="utf-8") if store.exists() else ""
        if old and not old.endswith("\n"):
            old += "\n"
        write_text(store, old + line)


def append_results(store: str | Path, results: Iterable[Result]) -> None:
    """Append several rows, each its own locked transaction (a kill loses at most the rest)."""
    for result in results:
        append_result(store, result)


def read_results(store: str | Path, *, dataset: str | None = None, baseline: str | None = None,
                 split: str | None = None, task: str | None = None) -> list[Result]:
    """Rows in file order (oldest first), optionally filtered (``task``: one task's rows only;
    None: every task's); corrupt lines are skipped."""
    store = Path(store)
    if not store.exists():
        return []
    out = []
    for i, line in enumerate(store.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            result = Result.from_dict(json.loads(line))
        except (ValueError, TypeError, AttributeError) as exc:
            warnings.warn(f"{store}:{i}: skipping a corrupt leaderboard row ({str(exc)[:200]})",
                          stacklevel=2)
            continue
        if ((dataset is None or result.dataset == dataset)
                and (baseline is None or result.baseline == baseline)
                and (split is None or result.split == split)
                and (task is None or result.task == get_task(task).name)):
            out.append(result)
    return out
