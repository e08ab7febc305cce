"""The runs a derived run is made from: loaded, checked, and recognised as one split or a fold set.

Runs of one split (several seeds, several baselines, or one run to smooth) are combined frame by
frame on the same validation and test videos. Runs of fold1..fold5 form a fold set: each name of
train+validation is predicted by the fold model that did not train on it (the pooled
out-of-fold estimate, split ``cv-oof``), and test by all of them. A ``cv-oof`` derived run keeps
its folds in ``split.json``, so post-processing it later still tunes out-of-fold.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from harness.data.release import Release
from harness.data.splits import SPLIT_NAMES
from harness.errors import HarnessError
from harness.records import FrameOutputs, RunFolder, RunInfo, read_results, store_path
from harness.tasks import DEFAULT_TASK

FOLDS: tuple[str, ...] = tuple(s for s in SPLIT_NAMES if s.startswith("fold"))
#: Split value of a fold-set run: validation is the pooled out-of-fold estimate.
OOF_SPLIT = "cv-oof"
#: config.json keys that do not change what a run computes (or that differ by fold).
_NOT_RECIPE = ("split", "out", "resume", "quiet", "data", "threads", "track")


@dataclass(frozen=True)
class Source:
    """One finished run with saved logits."""

    folder: RunFolder

    @cached_property
    def info(self) -> RunInfo:
        return self.folder.info()

    @cached_property
    def split_record(self) -> dict:
        return self.folder.split()

    @property
    def label(self) -> str:
        return self.info.baseline

    @property
    def split(self) -> str:
        return self.info.split

    def outputs(self, part: str) -> FrameOutputs | None:
        """Saved logits of ``part``; None for a test part the run never predicted."""
        if part == "test" and not self.folder.has_outputs("test"):
            return None
        return self.folder.outputs(part)


@dataclass(frozen=True)
class SourceSet:
    """Sources of one derived run and what their validation means."""

    sources: tuple[Source, ...]
    split: str  # the derived run's split: the sources' common split, or cv-oof
    folds: dict[str, tuple[str, ...]] | None  # fold -> its held-out names (fold sets, cv-oof)
    fold_set: bool  # sources are fold1..fold5 runs (validation pooled out of fold)

    @property
    def validation(self) -> str:
        """What the validation figure is, for tables."""
        if self.folds:
            n = sum(len(v) for v in self.folds.values())
            return f"pooled out-of-fold, {n} train+val names ({OOF_SPLIT})"
        return f"{self.split} validation"

    def by_fold(self) -> dict[str, list[Source]]:
        return {f: [s for s in self.sources if s.split == f] for f in FOLDS}

    def split_record(self) -> dict:
        if not self.fold_set:
            return self.sources[0].split_record
        names = sorted(n for v in self.folds.values() for n in v)
        return {"name": OOF_SPLIT, "seed": self.sources[0].split_record.get("seed"),
                "train": [], "val": names, "folds": {f: list(v) for f, v in self.folds.items()}}


def load_sources(runs: Sequence[str | Path], workdir: Path, release: Release) -> list[Source]:
    """Finished runs by folder or id, checked against ``release`` and for saved logits."""
    sources: list[Source] = []
    for run in runs:
        src = Source(RunFolder.open(workdir, str(run)))
        if any(s.folder.path.resolve() == src.folder.path.resolve() for s in sources):
            raise HarnessError(f"run {src.folder.run_id} is given twice: an ensemble would "
                               "count it twice")
        check_source(src, release)
        sources.append(src)
    return sources


def check_source(src: Source, release: Release) -> None:
    task = release.task.name
    if src.info.task != task:
        raise HarnessError(f"run {src.folder.run_id} is a run of task {src.info.task}, not "
                           f"{task}: pass --task {src.info.task}")
    got = src.info.data_fingerprint
    if got != release.fingerprint:
        raise HarnessError(f"run {src.folder.run_id} was made on data with fingerprint {got}, "
                           f"not this release ({release.dataset}, {release.fingerprint}); "
                           "pass the --data it was made on")
    src.folder.outputs("val")  # raises "re-run to enable post-processing" for old runs


def source_set(sources: Sequence[Source], release: Release) -> SourceSet:
    """Recognise one split, or a complete fold set; refuse anything else."""
    if not sources:
        raise HarnessError("no runs given")
    splits = sorted({s.split for s in sources})
    if len(splits) == 1:
        folds = sources[0].split_record.get("folds")
        return SourceSet(tuple(sources), splits[0],
                         {f: tuple(v) for f, v in folds.items()} if folds else None, False)
    if set(splits) <= set(FOLDS):
        return SourceSet(tuple(sources), OOF_SPLIT, _fold_membership(sources, release), True)
    raise HarnessError(f"the runs mix splits {', '.join(splits)}: give runs of one split, or "
                       f"runs covering {FOLDS[0]}..{FOLDS[-1]}")


def _fold_membership(sources: Sequence[Source], release: Release) -> dict[str, tuple[str, ...]]:
    """Each fold's held-out names, checked to be one partition of train+validation."""
    folds: dict[str, tuple[str, ...]] = {}
    for src in sources:
        val = tuple(sorted(src.split_record["val"]))
        if folds.setdefault(src.split, val) != val:
            raise HarnessError(f"runs of {src.split} disagree on its validation names "
                               f"(run {src.folder.run_id}): were they made with another fold seed?")
    missing = [f for f in FOLDS if f not in folds]
    if missing:
        raise HarnessError(f"a fold set needs runs of {', '.join(FOLDS)}; missing: "
                           f"{', '.join(missing)}")
    seen: dict[str, str] = {}
    for fold, names in folds.items():
        for n in names:
            if n in seen:
                raise HarnessError(f"{n} is held out by both {seen[n]} and {fold}")
            seen[n] = fold
    expected = set(release.train) | set(release.val)
    if set(seen) != expected:
        extra = sorted(expected ^ set(seen))[0]
        raise HarnessError(f"the folds' held-out names are not this release's train+validation "
                           f"names (e.g. {extra})")
    return {f: folds[f] for f in FOLDS}


def pick_runs(workdir: Path, release: Release, baselines: Sequence[str], split: str
              ) -> list[Source]:
    """The runs of ``baselines`` in the results store: with ``split='all'`` each baseline's
    latest complete fold set (five runs sharing one configuration), else the latest run of
    each configuration on ``split`` (e.g. several seeds)."""
    picked: list[Source] = []
    for baseline in baselines:
        rows = [r for r in read_results(store_path(workdir), dataset=release.dataset,
                                        baseline=baseline) if r.task == release.task.name]
        runs = [Source(RunFolder(Path(r.run_dir))) for r in sorted(rows, key=lambda r: r.created)]
        runs = [s for s in runs if _usable(s, release)]
        chosen = _latest_fold_set(runs) if split == "all" else _latest_per_recipe(runs, split)
        if not chosen:
            what = "complete set of fold runs" if split == "all" else f"run on {split}"
            option = "" if release.task.name == DEFAULT_TASK else \
                f" --task {release.task.name}"
            raise HarnessError(f"no {what} of {baseline} with saved logits for this data in "
                               f"{store_path(workdir)} (run: harness run {baseline} "
                               f"--split {split}{option})")
        picked += chosen
    return picked


def _usable(src: Source, release: Release) -> bool:
    folder = src.folder
    return (folder.is_finished and folder.has_logits("val")
            and src.info.data_fingerprint == release.fingerprint)


def _recipe_key(src: Source) -> str:
    cfg = src.folder.config()
    return json.dumps({k: v for k, v in cfg.items() if k not in _NOT_RECIPE}, sort_keys=True)


def _latest_fold_set(runs: list[Source]) -> list[Source]:
    """Runs oldest first -> the five of the configuration whose fold set completed last."""
    latest: dict[str, dict[str, Source]] = {}
    completed: dict[str, int] = {}
    for i, src in enumerate(runs):
        if src.split in FOLDS:
            group = latest.setdefault(_recipe_key(src), {})
            group[src.split] = src
            if len(group) == len(FOLDS):
                completed[_recipe_key(src)] = i
    if not completed:
        return []
    key = max(completed, key=completed.get)
    return [latest[key][f] for f in FOLDS]


def _latest_per_recipe(runs: list[Source], split: str) -> list[Source]:
    latest: dict[str, Source] = {}
    for src in runs:
        if src.split == split:
            latest[_recipe_key(src)] = src
    return list(latest.values())
