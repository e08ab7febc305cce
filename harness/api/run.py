"""``harness.run``: a baseline on a split (or on all six, then Table 1), from options or a file.

A recipe file holds the keys of a run folder's ``config.json`` (``RunConfig`` as
``dataclasses.asdict`` writes it), so ``harness.run(config="harness-out/runs/<run>/config.json")``
re-runs a run. ``data``, ``out``, ``resume``, ``quiet`` and ``threads`` say where and how a run
happens, never what it computes: a file may hold them, but they never enter the run's
identity (``RunConfig.identity``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.api.common import (
    check_workdir,
    configured,
    is_main,
    load_release,
    load_user_modules,
)
from harness.api.extract import FEATURE_KEYS, check_features, feature_options
from harness.data.splits import check_split
from harness.errors import HarnessError
from harness.runs import RunConfig, RunResult, run_config
from harness.tracking import check_tracker

if TYPE_CHECKING:
    from harness.data.release import Release
    from leaderboard.tables import Table

#: API keyword (and command-line option) -> key in a run's config.json.
RUN_KEYS: dict[str, str] = FEATURE_KEYS | {
    "baseline": "baseline",
    "data": "data",
    "workdir": "out",
    "epochs": "train.max_epochs",
    "batch_size": "train.batch_size",
    "frame_stride": "train.frame_stride",
    "cpu_bf16": "train.cpu_bf16",
    "lr": "train.lr",
    "optimizer": "train.optimizer",
    "seed": "train.seed",
    "resume": "resume",
    "threads": "threads",
    "quiet": "quiet",
    "face_features": "inputs.face",
    "audio_features": "inputs.audio",
    "pose_features": "inputs.pose",
    "window_frames": "window_frames",
    "chunk_frames": "chunk_frames",
    "folds": "folds",
    "track": "track",
    "task": "task",
    "va_loss": "train.va_loss",
    "mtl_weighting": "train.mtl_weighting",
}
#: Options that say where and how a recipe runs (``harness.recipes.run_recipe`` takes them).
_RECIPE_ENV = ("data", "workdir", "quiet", "threads")


@dataclass
class Runs:
    """The finished runs (one per split) and, for ``split="all"``, Table 1 over them."""

    results: list[RunResult]
    table1: Table | None = None
    derived: Any = None  # a recipe's post-processed run (harness.postprocess.Derived), if any
    release: Any = None  # with ``derived``: the release it was scored on


def run_recipe(baseline: str | None = None, split: str | None = None, *, config=None,
               **options: Any) -> tuple[RunConfig, tuple[str, ...]]:
    """The run's config (file or ``config`` with ``options`` over it) and the splits it runs on.

    ``split="all"`` stands for every split; the config then holds the first.
    """
    if baseline is None and config is None:
        raise HarnessError("name a baseline (harness baselines lists them), or give --config "
                           "FILE holding one")
    splits = check_split(split, allow_all=True) if split is not None else None
    cfg = configured(RunConfig, config,
                     feature_options(options) | {"baseline": baseline,
                                                 "split": splits[0] if splits else None},
                     RUN_KEYS | {"split": "split"})
    check_features(cfg.features)
    check_tracker(cfg.track)
    return cfg, splits or (cfg.split,)


def recipe_file(config: Any) -> Path | None:
    """The recipe ``config`` names (a file with a ``[recipe]`` table, or a shipped recipe's
    name), or None for any other config (read by the house loader)."""
    if not isinstance(config, str | Path):
        return None
    from harness.config_files import read_config_file
    from harness.recipes import RECIPE_TABLE, recipe_path

    path = Path(config)
    if path.is_file():
        return path if RECIPE_TABLE in read_config_file(path) else None
    if path.suffix == "" and len(path.parts) == 1:
        return recipe_path(path.name)  # or an error listing the recipes
    return None


def run(baseline: str | None = None, split: str | None = None, *, config=None,
        data: Path | None = None, workdir: Path | None = None,
        baseline_module: Sequence[str] | None = None, release: Release | None = None,
        on_result: Callable[[RunResult], None] | None = None, **options: Any) -> Runs:
    """Run ``baseline`` on ``split`` (default official; ``"all"``: official and fold1..fold5,
    then Table 1): features, training, metrics, predictions, a leaderboard row per split.

    ``options`` are the other options of ``harness run`` by their Python names (``epochs``,
    ``batch_size``, ``lr``, ``backbone``...); ``config`` a TOML/JSON file, a dict of its keys
    or a ``RunConfig``, which ``options`` override. ``on_result`` is called as each split's
    run finishes.

    >>> harness.run("attention_fusion", split="all", epochs=2)   # doctest: +SKIP
    """
    unknown = set(options) - set(RUN_KEYS)
    if unknown:
        raise HarnessError(f"run() got unknown option(s): {', '.join(sorted(unknown))}")
    load_user_modules(baseline_module)  # their baselines may be named in the config
    recipe = recipe_file(config)
    if recipe is not None:
        return _run_recipe(recipe, baseline, split, data, workdir, release, on_result, options)
    cfg, splits = run_recipe(baseline, split, config=config, data=data, workdir=workdir,
                             **options)
    check_workdir(cfg.out)
    rel = load_release(cfg.data, release, cfg.task)
    results = []
    for s in splits:
        one = dataclasses.replace(cfg, split=s, features=dataclasses.replace(cfg.features),
                                  train=dataclasses.replace(cfg.train))
        results.append(run_config(one, rel))
        if on_result is not None:
            on_result(results[-1])
    table = None
    if len(splits) > 1 and is_main():  # Table 1 in the task's columns (leaderboard.views)
        from leaderboard.queries import results as stored
        from leaderboard.tables import table1

        table = table1(stored(cfg.out, baseline=cfg.baseline), cfg.baseline, task=cfg.task)
    return Runs(results, table)


def _run_recipe(recipe: Path, baseline, split, data, workdir, release, on_result,
                options: dict[str, Any]) -> Runs:
    """A recipe through ``harness.recipes.run_recipe``: the run options typed override its
    keys; its missing weights are substituted (and said); then its filter, if it has one."""
    from harness.recipes import run_recipe as run_a_recipe

    env = {k: options.pop(k, None) for k in _RECIPE_ENV}
    overrides = {RUN_KEYS[k]: v for k, v in feature_options(options).items() if v is not None}
    if baseline is not None:
        overrides["baseline"] = baseline
    check_tracker(overrides.get("track"))
    rel = load_release(data, release)
    done = run_a_recipe(recipe, data=data, workdir=workdir or Path("harness-out"),
                        overrides=overrides,
                        splits=check_split(split, allow_all=True) if split else None,
                        quiet=bool(env["quiet"]), threads=env["threads"], release=rel,
                        on_result=on_result)
    return Runs(done.runs, None, done.derived, rel)
