"""``harness.smooth`` and ``harness.ensemble``: derived runs from saved logits, from options or
a file (``SmoothConfig`` / ``EnsembleConfig`` keys; ``data``, ``out`` and ``quiet`` say where
and how, not what)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.api.common import configured, names, numbers
from harness.errors import HarnessError
from harness.postprocess import Derived, PostConfig, TimelineConfig, Where
from harness.postprocess.recipe import DEFAULT_METHOD
from harness.records.lifecycle import removed_if_disk_full


@dataclass
class SmoothConfig:
    run: str | None = None  # run folder or id (with saved logits)
    task: str | None = None  # the run's task (expr, va, au); None: expr
    post: PostConfig = field(default_factory=lambda: PostConfig(method=DEFAULT_METHOD))
    timelines: TimelineConfig = field(default_factory=TimelineConfig)
    data: Path | None = None
    out: Path = Path("harness-out")
    quiet: bool = False
    track: str | None = None  # experiment tracker the derived run logs to (tensorboard, mlflow)


@dataclass
class EnsembleConfig:
    runs: tuple[str, ...] = ()  # runs of one split (seeds), or of fold1..fold5
    task: str | None = None  # the runs' task (expr, va, au); None: expr
    baselines: tuple[str, ...] = ()  # or: pick runs of these baselines from the store
    split: str = "all"  # with baselines: all (the latest complete fold set) or one split
    #: EXPR logits (default), probs or vote; VA mean (default); AU probs (default) or logits
    combine: str | None = None
    post: PostConfig = field(default_factory=PostConfig)
    timelines: TimelineConfig = field(default_factory=TimelineConfig)
    data: Path | None = None
    out: Path = Path("harness-out")
    quiet: bool = False
    track: str | None = None  # experiment tracker the derived run logs to (tensorboard, mlflow)


#: API keyword (and command-line option) -> config key, shared by smooth and ensemble.
POST_KEYS: dict[str, str] = {
    "window": "post.window", "sweep": "post.sweep", "methods": "post.methods",
    "windows": "post.windows", "exclude_imputed": "post.exclude_imputed",
    "tune_bias": "post.tune_bias", "tune_thresholds": "post.tune_thresholds",
    "timelines": "timelines.val", "test_timelines": "timelines.test", "data": "data",
    "workdir": "out", "quiet": "quiet", "track": "track", "task": "task",
}


@dataclass
class PostResult:
    """The derived run and the release it was made on (the comparison table scores test)."""

    derived: Derived
    release: Any


def _post_options(options: dict[str, Any]) -> dict[str, Any]:
    out = dict(options)
    out["methods"] = names(out.get("methods"))
    if out.get("windows") is not None:
        out["windows"] = numbers("--windows", out["windows"], what="seconds")
    return out


def _where(cfg: SmoothConfig | EnsembleConfig) -> Where:
    from harness.tracking import check_tracker

    check_tracker(cfg.track)
    return Where(workdir=cfg.out, data=cfg.data, timelines=cfg.timelines, quiet=cfg.quiet,
                 track=cfg.track, task=cfg.task)


def _swept(post: PostConfig) -> PostConfig:
    """A sweep chooses the filter: a fixed one (the default median) gives way to it."""
    return dataclasses.replace(post, method=None) if post.sweep else post


def smooth_config(run: str | None = None, *, config=None, method: str | None = None,
                  **options: Any) -> SmoothConfig:
    return configured(SmoothConfig, config,
                      _post_options(options) | {"run": run, "method": method},
                      POST_KEYS | {"run": "run", "method": "post.method"})


def smooth(run: str | None = None, *, config=None, method: str | None = None,
           window: float | None = None, sweep: bool | None = None,
           methods: str | Sequence[str] | None = None,
           windows: str | Sequence[float] | None = None, exclude_imputed: bool | None = None,
           tune_bias: bool | None = None, timelines: bool | None = None,
           test_timelines: bool | None = None, data: Path | None = None,
           workdir: Path | None = None, quiet: bool | None = None,
           track: str | None = None, task: str | None = None,
           tune_thresholds: bool | None = None) -> PostResult:
    """Temporal smoothing of a run's saved outputs (default: median over 3.4 s), as a derived
    run with its own metrics, predictions and leaderboard row. ``task``: the run's (EXPR by
    default; VA values and AU logits are filtered where averaging means something, see
    ``harness.postprocess.spaces``); ``tune_thresholds``: AU's per-AU thresholds."""
    from harness.postprocess import smooth as _smooth

    cfg = smooth_config(run, config=config, method=method, window=window, sweep=sweep,
                        methods=methods, windows=windows, exclude_imputed=exclude_imputed,
                        tune_bias=tune_bias, timelines=timelines, test_timelines=test_timelines,
                        data=data, workdir=workdir, quiet=quiet, track=track, task=task,
                        tune_thresholds=tune_thresholds)
    if cfg.run is None:
        raise HarnessError("smooth needs a run (folder or id)")
    where = _where(cfg)
    with removed_if_disk_full(cfg.out):  # a full disk leaves no half derived run
        return PostResult(_smooth(cfg.run, _swept(cfg.post), where), where.load())


def ensemble_config(runs: Sequence[str] | None = None, *, config=None,
                    baseline: Sequence[str] | None = None, split: str | None = None,
                    combine: str | None = None, smooth: str | None = None,
                    **options: Any) -> EnsembleConfig:
    keys = POST_KEYS | {"runs": "runs", "baseline": "baselines", "split": "split",
                        "combine": "combine", "smooth": "post.method"}
    given = {"runs": tuple(runs) if runs else None,
             "baseline": tuple(baseline) if baseline else None,
             "split": split, "combine": combine, "smooth": smooth}
    return configured(EnsembleConfig, config, _post_options(options) | given, keys)


def ensemble(runs: Sequence[str] | None = None, *, config=None,
             baseline: Sequence[str] | None = None, split: str | None = None,
             combine: str | None = None, smooth: str | None = None,
             window: float | None = None, sweep: bool | None = None,
             methods: str | Sequence[str] | None = None,
             windows: str | Sequence[float] | None = None, exclude_imputed: bool | None = None,
             tune_bias: bool | None = None, timelines: bool | None = None,
             test_timelines: bool | None = None, data: Path | None = None,
             workdir: Path | None = None, quiet: bool | None = None,
             track: str | None = None, task: str | None = None,
             tune_thresholds: bool | None = None) -> PostResult:
    """Average (or vote) several runs' outputs, optionally smoothed, as a derived run; a fold
    set gives the pooled out-of-fold validation. ``task``: the runs' (EXPR by default; VA
    values are averaged, AU probabilities averaged and stored back as logits)."""
    from harness.postprocess import ensemble as _ensemble

    cfg = ensemble_config(runs, config=config, baseline=baseline, split=split, combine=combine,
                          smooth=smooth, window=window, sweep=sweep, methods=methods,
                          windows=windows, exclude_imputed=exclude_imputed, tune_bias=tune_bias,
                          timelines=timelines, test_timelines=test_timelines, data=data,
                          workdir=workdir, quiet=quiet, track=track, task=task,
                          tune_thresholds=tune_thresholds)
    where = _where(cfg)
    with removed_if_disk_full(cfg.out):  # a full disk leaves no half derived run
        derived = _ensemble(cfg.runs, baselines=cfg.baselines, split=cfg.split,
                            combine=cfg.combine, post=_swept(cfg.post), where=where)
        return PostResult(derived, where.load())
