"""The seed paper's two tables, rebuilt from the results store (rendering is ``render.py``).

Table 2 (default): one row per baseline and configuration (features and the digest of the
stage-1 face model read, ``Result.configuration``), per-class F1, accuracy and
macro F1 (Avg(F1)) in %. Each row shows the LATEST run of its baseline and configuration on the
chosen split (newest ``created``; on a tie, the later line of the store): a table then always
reflects the code as it is now, and re-running a baseline replaces its row instead of letting an
old lucky run linger as "best". Table 1 (``table1``): one baseline and configuration over the
official split and the five folds, plus the folds' mean ± sample standard deviation (ddof=1).
The best value of each column is bold (the summary row does not compete).

A table holds one data set and one data fingerprint only (by default the newest row's), and
rows that differ in their features show the difference in feature columns (the face backbone
and audio extractor always, any other feature key where rows differ), so no two rows look alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.data.labels import CLASSES
from harness.data.splits import SPLIT_NAMES
from harness.errors import HarnessError
from harness.records import Result
from harness.tasks import DEFAULT_TASK
from leaderboard.queries import describe, feature_order, latest, newest, one_data
from leaderboard.views import TaskView, view_of

COLUMNS: tuple[str, ...] = (*CLASSES, "Acc", "Avg(F1)")
#: Store split names and how Table 1 labels them (the seed paper's "Split1..Split5").
TABLE1_SPLITS: dict[str, str] = {
    name: "Official" if name == "official" else f"Split{name.removeprefix('fold')}"
    for name in SPLIT_NAMES}
MEAN_LABEL = "Folds mean ± std"
DECIMALS = 1
#: Feature keys that get a column whenever any row knows them (others only where rows differ).
ALWAYS_SHOWN = ("face", "audio")
#: The pseudo feature column of ``table2(over_seeds=True)``: the seeds pooled in each row.
SEEDS_KEY = "seeds"
FEATURE_HEADERS = {"face": "Face", "audio": "Audio", "pose": "Pose", "face_fit": "Face fit",
                   "training": "Training", SEEDS_KEY: "Seeds"}


@dataclass(frozen=True, eq=False)
class Table:
    """Numbers of a table in % (NaN: no value); ``stds`` is NaN except in a mean ± std row.

    ``feature_keys`` name the feature columns shown between the label and the numbers;
    ``features[i]`` holds row i's text for each of them ("" where the row does not say).
    """

    title: str
    label_header: str
    labels: tuple[str, ...]
    values: np.ndarray  # (rows, 10)
    stds: np.ndarray  # (rows, 10)
    bold: np.ndarray  # (rows, 10) bool
    run_ids: tuple[str, ...]  # "" for summary rows
    summary_from: int | None = None  # first summary row (a rule is drawn above it)
    feature_keys: tuple[str, ...] = ()
    features: tuple[tuple[str, ...], ...] = ()
    #: The task's value columns, decimals and unit (``leaderboard.views``); EXPR's by default.
    value_columns: tuple[str, ...] = COLUMNS
    decimals: int = DECIMALS
    unit: str = "%"

    @property
    def feature_headers(self) -> tuple[str, ...]:
        return tuple(feature_header(k) for k in self.feature_keys)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.label_header, *self.feature_headers, *self.value_columns)

    @property
    def names(self) -> tuple[str, ...]:
        """Row labels with their feature texts, e.g. ``only_video (emonet, logmel)``: unique
        per row, for lines and plots that have no feature columns."""
        if not self.feature_keys:
            return self.labels
        return tuple(f"{label} ({', '.join(v for v in feats if v)})"  # none: not read
                     for label, feats in zip(self.labels, self.features))


def feature_header(key: str) -> str:
    """Column header of a feature key: ``face_fit`` -> ``Face fit``."""
    return FEATURE_HEADERS.get(key, key.replace("_", " ").capitalize())


def result_row(r: Result) -> np.ndarray:
    """The 10 numbers of one result in %: per-class F1, accuracy, macro F1."""
    return 100.0 * np.array([*r.per_class_f1, r.accuracy, r.macro_f1], dtype=np.float64)


def feature_columns(rows: Sequence[Result], always: Sequence[str] = ALWAYS_SHOWN
                    ) -> tuple[str, ...]:
    """Configuration keys to show (``Result.configuration``: the features and the stage-1
    model's digest): ``always`` when known (face and audio), any other whose value differs."""
    keys = {k for r in rows for k in r.configuration}
    shown = [k for k in keys if k in always
             or len({r.configuration.get(k, "") for r in rows}) > 1]
    return tuple(sorted(shown, key=feature_order))


def _feature_cells(rows: Sequence[Result], keys: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(r.configuration.get(k, "") for k in keys) for r in rows)


def _column_max(values: np.ndarray, rows: int, decimals: int = DECIMALS) -> np.ndarray:
    """Bold mask: cells equal (at display precision) to their column's max over ``rows``."""
    shown = np.round(values, decimals)
    bold = np.zeros(values.shape, dtype=bool)
    if rows:
        with np.errstate(invalid="ignore"):
            top = np.nanmax(np.where(np.isnan(shown[:rows]), -np.inf, shown[:rows]), axis=0)
        bold[:rows] = shown[:rows] == top[None, :]
    return bold


def _mean_std(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and sample standard deviations (ddof=1; NaN for a single row)."""
    std = rows.std(axis=0, ddof=1) if len(rows) > 1 else np.full(rows.shape[1], np.nan)
    return rows.mean(axis=0), std


def _data_title(r: Result) -> str:
    return r.dataset + (f", data {r.data_fingerprint}" if r.data_fingerprint else "")


def _task_rows(results: Sequence[Result], view: TaskView) -> list[Result]:
    """The rows of the view's task only: a table never mixes tasks."""
    return [r for r in results if r.task == view.task]


def _of_task(view: TaskView) -> str:
    """`` VA`` in "no VA results ..." (nothing for the default task: its messages as ever)."""
    return "" if view.task == DEFAULT_TASK else f" {view.task.upper()}"


def _view_kw(view: TaskView) -> dict:
    return {"value_columns": view.columns, "decimals": view.decimals, "unit": view.unit}


def table2(results: Sequence[Result], split: str = "official", *, dataset: str | None = None,
           fingerprint: str | None = None, order: Sequence[str] | None = None,
           over_seeds: bool = False, task: str | None = None,
           always: Sequence[str] = ALWAYS_SHOWN) -> Table:
    """Table 2: latest run per baseline and feature configuration on ``split``, of one task
    (``task``, default ``expr``), data set and fingerprint; baselines in ``order``, else in
    order of first appearance.

    ``over_seeds``: each row is instead the mean ± sample std (ddof=1) over the training seeds
    of that run's recipe (its configuration but the seed; the latest run of each seed). On a
    validation set of a few dozen videos one seed's ranking of two close systems is mostly
    luck; the seeds' spread says how much. ``always``: configuration keys shown as columns
    even where every row agrees.
    """
    view = view_of(task)
    rows = one_data([r for r in _task_rows(results, view) if r.split == split],
                    dataset=dataset, fingerprint=fingerprint)
    if not rows:
        raise HarnessError(f"no{_of_task(view)} results on split {split!r}"
                           + (f" for data set {dataset!r}" if dataset else "")
                           + (f" with data fingerprint {fingerprint}" if fingerprint else ""))
    chosen = latest(rows, key=lambda r: (r.baseline, r.feature_key))
    rank = {n: i for i, n in enumerate(dict.fromkeys([*(order or []),
                                                       *(r.baseline for r in rows)]))}
    picked = sorted(chosen.values(), key=lambda r: rank[r.baseline])
    keys = feature_columns(picked, always)
    cells = _feature_cells(picked, keys)
    if over_seeds:
        groups = [seed_runs(rows, r) for r in picked]
        values, stds = (np.stack(x) for x in zip(*(
            _mean_std(np.stack([view.values(g) for g in group])) for group in groups)))
        run_ids = tuple(group[0].run_id if len(group) == 1 else "" for group in groups)
        keys, cells = (*keys, SEEDS_KEY), tuple(
            (*c, ",".join(str(g.seed) for g in group if g.seed is not None))
            for c, group in zip(cells, groups))
    else:
        values = np.stack([view.values(r) for r in picked])
        stds, run_ids = np.full(values.shape, np.nan), tuple(r.run_id for r in picked)
    return Table(
        title=f"{view.what} of each baseline, split {split}, {_data_title(rows[0])}"
              + (", mean ± std over training seeds" if over_seeds else ""),
        label_header="Modal", labels=tuple(r.baseline for r in picked), values=values,
        stds=stds, bold=_column_max(values, len(picked), view.decimals), run_ids=run_ids,
        feature_keys=keys, features=cells, **_view_kw(view),
    )


def seed_runs(rows: Sequence[Result], newest_row: Result) -> list[Result]:
    """The latest run of each training seed sharing ``newest_row``'s recipe, baseline and
    features, by seed. Rows written before runs recorded their seed and recipe (and derived
    runs, which have no seed) stand alone."""
    recipe = newest_row.recipe
    if recipe is None or newest_row.seed is None:
        return [newest_row]
    same = [r for r in rows if r.baseline == newest_row.baseline
            and r.feature_key == newest_row.feature_key and r.recipe == recipe
            and r.seed is not None]
    by_seed = latest(same, key=lambda r: r.seed)
    return [by_seed[k] for k in sorted(by_seed)]


def table1(results: Sequence[Result], baseline: str, *, dataset: str | None = None,
           fingerprint: str | None = None, task: str | None = None,
           always: Sequence[str] = ALWAYS_SHOWN) -> Table:
    """Table 1: ``baseline`` on Official and Split1..5 (latest run each), + folds mean ± std.

    One task (default ``expr``), data set, fingerprint and feature configuration: the newest
    row's, unless the caller filtered the rows first (``queries.with_features``).
    """
    view = view_of(task)
    rows = one_data([r for r in _task_rows(results, view) if r.baseline == baseline
                     and r.split in TABLE1_SPLITS], dataset=dataset, fingerprint=fingerprint)
    if not rows:
        raise HarnessError(f"no{_of_task(view)} results for baseline {baseline!r} on "
                           "official/fold1..fold5")
    config = newest(rows).feature_key
    chosen = latest([r for r in rows if r.feature_key == config], key=lambda r: r.split)
    splits = [s for s in TABLE1_SPLITS if s in chosen]
    values = np.stack([view.values(chosen[s]) for s in splits])
    labels, run_ids = [TABLE1_SPLITS[s] for s in splits], [chosen[s].run_id for s in splits]
    stds = np.full(values.shape, np.nan)
    n_main = len(splits)
    folds = values[[i for i, s in enumerate(splits) if s.startswith("fold")]]
    if len(folds) >= 2:
        mean, std = _mean_std(folds)
        values, stds = np.vstack([values, mean]), np.vstack([stds, std])
        labels.append(MEAN_LABEL + ("" if len(folds) == 5 else f" ({len(folds)} folds)"))
        run_ids.append("")
    picked = [chosen[s] for s in splits]
    keys = feature_columns(picked, always)
    cells = _feature_cells(picked, keys)
    return Table(
        title=f"{view.what} of {describe(picked[0])} on each split, "
              f"{_data_title(rows[0])}",
        label_header="Val Set", labels=tuple(labels), values=values, stds=stds,
        bold=_column_max(values, n_main, view.decimals), run_ids=tuple(run_ids),
        summary_from=n_main if len(labels) > n_main else None,
        feature_keys=keys, features=cells + cells[:1] * (len(labels) - n_main),
        **_view_kw(view),
    )
