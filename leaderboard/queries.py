"""Questions asked of the results store: which rows, which run, how sure, A against B.

Every real release is called "affwild2", so a data-set name alone cannot keep ABAW5 and ABAW6
runs apart, nor a run on EmoNet features from one on the light backbone. Rows are therefore
picked by data fingerprint (what the labels and template hashed to) and compared per feature
configuration (``Result.features``); nothing here ever puts two fingerprints side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.records import Result, RunFolder, read_results, store_path, when
from harness.tasks import DEFAULT_TASK
from leaderboard.bootstrap import (
    bootstrap_ci,
    metric_ci,
    paired_bootstrap,
    paired_metric_bootstrap,
)
from leaderboard.views import view_of

#: Keys of ``Result.features`` the tables know by name, in column order (others may be added:
#: any key whose value differs between rows gets a column of its own).
FEATURE_KEYS: tuple[str, ...] = ("face", "audio", "pose", "face_fit")
_FIRST_RUN = "run a baseline first (harness run attention_fusion)"


def feature_order(key: str) -> tuple[int, str]:
    """Sort key of feature names: ``FEATURE_KEYS`` first, in that order, then others by name."""
    return (FEATURE_KEYS.index(key) if key in FEATURE_KEYS else len(FEATURE_KEYS), key)


def results(workdir: str | Path, *, dataset: str | None = None, baseline: str | None = None,
            split: str | None = None, fingerprint: str | None = None) -> list[Result]:
    """Rows of ``<workdir>/leaderboard.jsonl`` that match every filter given (oldest first);
    refuses an empty answer, saying which filters left nothing."""
    store = store_path(workdir)
    rows = [r for r in read_results(store, dataset=dataset, baseline=baseline, split=split)
            if fingerprint is None or r.data_fingerprint == fingerprint]
    if not rows:
        given = [f"{k} {v}" for k, v in (("data set", dataset), ("baseline", baseline),
                                          ("split", split), ("fingerprint", fingerprint)) if v]
        raise HarnessError(f"no results in {store}" + (f" for {', '.join(given)}" if given else "")
                           + f"; {_FIRST_RUN}")
    return rows


def latest(rows: Iterable[Result], key: Callable[[Result], Hashable]) -> dict:
    """Newest row per ``key(row)``, in order of first appearance; ties on ``created`` go to the
    later store line."""
    best: dict = {}
    for r in rows:
        k = key(r)
        if k not in best or when(r) >= when(best[k]):
            best[k] = r
    return best


def newest(rows: Iterable[Result]) -> Result:
    """The most recent row (the later store line on a tie)."""
    return latest(rows, key=lambda r: None)[None]


def one_data(rows: Iterable[Result], *, dataset: str | None = None,
             fingerprint: str | None = None) -> list[Result]:
    """Rows of one data set and one data fingerprint: those given, by default the newest row's.

    Explicit choices filter first, so ``fingerprint=`` alone picks the data set of the newest row
    with that fingerprint.
    """
    rows = [r for r in rows if (dataset is None or r.dataset == dataset)
            and (fingerprint is None or r.data_fingerprint == fingerprint)]
    if not rows:
        return []
    top = newest(rows)
    return [r for r in rows if r.dataset == top.dataset
            and r.data_fingerprint == top.data_fingerprint]


def with_features(rows: Iterable[Result], wanted: Mapping[str, str] | None) -> list[Result]:
    """Rows whose configuration includes every ``key: value`` of ``wanted`` (a feature, or
    the stage-1 model's short digest, ``face_model=1a2b3c4d``)."""
    wanted = dict(wanted or {})
    return [r for r in rows if all(r.configuration.get(k) == v for k, v in wanted.items())]


def parse_features(items: Iterable[str] | None) -> dict[str, str]:
    """``["face=emonet", "audio=logmel"]`` (the CLI's ``--features``) as a dict.

    >>> parse_features(["face=emonet", "face_fit=cross-fitted"])
    {'face': 'emonet', 'face_fit': 'cross-fitted'}
    """
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise HarnessError(f"--features takes KEY=VALUE (e.g. face=emonet), not {item!r}")
        out[key.strip()] = value.strip()
    return out


def describe(r: Result) -> str:
    """A row's baseline with its feature configuration, e.g. ``only_video (emonet, logmel)``."""
    if not r.features:
        return r.baseline
    keys = sorted(r.features, key=feature_order)
    return f"{r.baseline} ({', '.join(r.features[k] for k in keys)})"


def run_folder_exists(r: Result) -> bool:
    """Default test of ``best_run``: the row's run folder is still on disk."""
    return bool(r.run_dir) and Path(r.run_dir).is_dir()


def best_run(workdir: str | Path, fingerprint: str, split: str = "official", *,
             usable: Callable[[Result], bool] = run_folder_exists, task: str = "expr"
             ) -> Result:
    """The run ``harness submit`` uses by default: the best selection figure (EXPR macro F1,
    P_VA, P_AU) on ``split`` among the ``task`` runs of data ``fingerprint`` that are
    ``usable`` (newest first on a tie).

    The fingerprint is the release's, so a run trained on other data (ABAW5 labels when the
    release is ABAW6) is never picked, whatever its score.
    """
    rows = [r for r in read_results(store_path(workdir), split=split)
            if r.data_fingerprint == fingerprint and r.task == task and usable(r)]
    if not rows:
        option = "" if task == DEFAULT_TASK else f" --task {task}"
        raise HarnessError(f"no finished run on split {split!r} for data fingerprint "
                           f"{fingerprint}{option.replace(' --', ', ')} in {workdir}; "
                           f"{_FIRST_RUN.replace(')', option + ')')}")
    return max(reversed(rows), key=lambda r: (r.score, when(r)))


def per_video(result: Result) -> tuple[list[str], Any] | None:
    """Video names and the per-video statistics of a row's run (None if the run is gone):
    EXPR's confusion matrices (V, 8, 8), VA's ``VAStats``, AU's ``AUStats``."""
    if not result.run_dir:
        return None
    folder = RunFolder(Path(result.run_dir))
    if view_of(result.task).confusions:
        return folder.per_video_confusion() if folder.has_per_video_confusion() else None
    return folder.per_video_stats() if folder.has_per_video_stats() else None


def interval(result: Result, n_boot: int = 2000) -> tuple[float, float] | None:
    """95 % bootstrap CI of a run's selection figure (EXPR macro F1, P_VA, P_AU), resampling
    videos; None if the run is gone."""
    loaded = per_video(result)
    if loaded is None:
        return None
    view = view_of(result.task)
    if view.confusions:
        return bootstrap_ci(loaded[1], n_boot=n_boot)
    return metric_ci(view.replicates(loaded[1]), len(loaded[0]), n_boot=n_boot)


@dataclass(frozen=True)
class Comparison:
    """The selection figure (EXPR macro F1, P_VA, P_AU) of ``a`` minus ``b`` on the same
    videos, and its paired-bootstrap p-value."""

    delta: float
    p_value: float
    a: Result
    b: Result
    n_boot: int


def compare(rows: Iterable[Result], a: str, b: str, split: str, n_boot: int = 2000
            ) -> Comparison:
    """Paired bootstrap of ``a`` minus ``b``: each a run id, or a baseline (its latest run on
    ``split``). Run ids are how two recipes or feature sets of one baseline are compared.

    Runs on different data (fingerprints) are refused: their videos or labels differ, so a
    difference would measure the data, not the systems. So is a run compared with itself.
    """
    rows = list(rows)
    picked = []
    for name in (a, b):
        mine = [r for r in rows if r.run_id == name and r.split == split] or [
            r for r in rows if r.baseline == name and r.split == split]
        if not mine:
            raise HarnessError(f"no result for baseline or run {name!r} on split {split!r}")
        picked.append(newest(mine))
    ra, rb = picked
    if ra.run_id == rb.run_id:
        raise HarnessError(
            f"--compare {a} {b} picks run {ra.run_id} twice; to compare two runs of one "
            "baseline (another recipe, other features) give their run ids (run folder names)")
    if ra.task != rb.task:
        raise HarnessError(f"cannot compare {a} ({ra.task.upper()}) with {b} "
                           f"({rb.task.upper()}): a comparison is within one task")
    if ra.data_fingerprint != rb.data_fingerprint:
        raise HarnessError(
            f"cannot compare {a} and {b}: their latest runs on {split} used different data "
            f"({ra.run_id}: {ra.dataset} fingerprint {ra.data_fingerprint or 'unknown'}; "
            f"{rb.run_id}: {rb.dataset} fingerprint {rb.data_fingerprint or 'unknown'}); "
            "choose one with --fingerprint")
    loaded = []
    for r in picked:
        got = per_video(r)
        if got is None:
            raise HarnessError(f"run folder {r.run_dir} is gone: cannot resample its videos")
        loaded.append(got)
    (names_a, cms_a), (names_b, cms_b) = loaded
    view = view_of(ra.task)
    if view.confusions:
        delta, p = paired_bootstrap(cms_a, cms_b, n_boot=n_boot, names_a=names_a,
                                    names_b=names_b)
    else:
        if list(names_a) != list(names_b):
            raise HarnessError("the two runs do not list the same videos in the same order")
        delta, p = paired_metric_bootstrap(view.replicates(cms_a), view.replicates(cms_b),
                                           len(names_a), n_boot=n_boot)
    return Comparison(delta, p, ra, rb, n_boot)
