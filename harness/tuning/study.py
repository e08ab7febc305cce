"""``harness tune``: an Optuna search where each trial is a normal run on each of the five folds.

The objective is the pooled out-of-fold macro F1: every fold's validation frames, predicted by
the model that did not train on them, in one confusion matrix (never the official validation
alone: with 23-70 names it is a noisy figure to choose on). After each fold the pooled figure
so far is reported, so a poor trial is pruned after its first folds (``prune_after``). Trials
live in a journal file (``<workdir>/tune/<study>/journal.log``), safe for several processes or
Slurm array tasks sharing a file system: start the same command in each. A killed trial is
marked failed by its missing heartbeat (``harness.tuning.heartbeat``) and the study resumes
with every finished trial kept. At the end the best configuration is written as
``best.toml`` (the RunConfig keys ``harness run --config`` reads) beside a plot of the search.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.console import err
from harness.data.labels import NUM_CLASSES
from harness.data.splits import SPLIT_NAMES
from harness.errors import HarnessError
from harness.metrics import confusion_matrix, macro_f1_from_confusion
from harness.paths import safe_child
from harness.recipes.config import config_toml, run_config_from_dict
from harness.tuning.heartbeat import Heartbeat, fail_stale_trials
from harness.tuning.space import (
    NO_FILTER,
    POST_METHOD,
    POST_WINDOW,
    Param,
    default_space,
    load_space,
    searched,
)

FOLDS: tuple[str, ...] = tuple(s for s in SPLIT_NAMES if s.startswith("fold"))
TUNE_DIR, JOURNAL, BEST, PLOT = "tune", "journal.log", "best.toml", "search.png"


@dataclass
class TuneResult:
    study: str
    folder: Path
    best_value: float
    best_params: dict[str, Any]
    best_config: Path  # best.toml
    plot: Path
    complete: int
    pruned: int
    failed: int


def study_dir(workdir: Path, study: str) -> Path:
    return safe_child(Path(workdir) / TUNE_DIR, study)


def tune(baseline: str, trials: int, *, space: Path | Sequence[Param] | None = None,
         fixed: Mapping[str, Any] | None = None, workdir: Path = Path("harness-out"),
         data: Path | None = None, study: str | None = None, folds: Sequence[str] = FOLDS,
         prune_after: int = 2, seed: int | None = 0, heartbeat_s: float = 60.0,
         quiet: bool = False, threads: int | None = None, release=None,
         start_from_default: bool = True) -> TuneResult:
    """Search until the study holds ``trials`` finished (complete or pruned) trials.

    ``fixed``: nested RunConfig keys held fixed (``{"train.max_epochs": 3}``), left out of the
    search. ``folds``: the five by default; fewer only to smoke-test a space. ``seed``: the
    sampler's (give each parallel worker its own, e.g. the Slurm array task id).
    ``start_from_default``: a new study's first trial is the baseline's defaults (where they
    lie in the space), so the search is measured against them on the same folds.
    """
    optuna = _optuna()
    from harness.data.release import load_release

    if trials < 1:
        raise HarnessError(f"--trials must be 1 or more, got {trials}")
    bad = [f for f in folds if f not in FOLDS]
    if bad or not folds:
        raise HarnessError(f"tuning folds must be among {', '.join(FOLDS)}, got {bad or 'none'}")
    fixed = dict(fixed or {})
    params = load_space(space) if isinstance(space, (str, Path)) else (
        list(space) if space is not None else default_space(baseline))
    params = searched(params, fixed)
    env = {"data": data, "out": workdir, "quiet": True, "threads": threads}
    _config(baseline, folds[0], fixed, {p.key: _example(p) for p in params}, env)  # checks keys
    name = study or baseline
    folder = study_dir(workdir, name)
    folder.mkdir(parents=True, exist_ok=True)
    storage = _storage(optuna, folder / JOURNAL)
    release = release if release is not None else load_release(data)
    probe = optuna.create_study(study_name=name, storage=storage, direction="maximize",
                                load_if_exists=True)
    stale = fail_stale_trials(probe, grace=3 * heartbeat_s + 30)
    if stale:
        err.print(f"tune: trial(s) {', '.join(map(str, stale))} stopped beating (killed): "
                  "marked failed; finished trials are kept")
    done = _count(probe, optuna)
    if start_from_default and not probe.trials:
        default = _defaults(baseline, params)
        if default:
            probe.enqueue_trial(default)
    # a resumed or parallel worker must not redraw the first worker's random trials
    sampler = optuna.samplers.TPESampler(
        seed=None if seed is None else seed + len(probe.trials))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=prune_after)
    opt = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    objective = _Objective(baseline, params, fixed, env, tuple(folds), release, heartbeat_s)
    if done < trials:
        opt.optimize(objective, n_trials=trials - done, catch=(HarnessError,),
                     callbacks=[optuna.study.MaxTrialsCallback(
                         trials, states=(optuna.trial.TrialState.COMPLETE,
                                         optuna.trial.TrialState.PRUNED)), _report])
    return _finish(opt, optuna, baseline, fixed, env, folder, tuple(folds))


class _Objective:
    """One trial: the drawn parameters, run on each fold, pooled out of fold."""

    def __init__(self, baseline, params, fixed, env, folds, release, heartbeat_s):
        self.baseline, self.params, self.fixed, self.env = baseline, params, fixed, env
        self.folds, self.release, self.heartbeat_s = folds, release, heartbeat_s

    def __call__(self, trial) -> float:
        import optuna

        from harness.runs import run_config

        drawn = self._draw(trial)
        keys = self.fixed | drawn
        post = (keys.get(POST_METHOD, NO_FILTER), keys.get(POST_WINDOW))
        pooled = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
        with Heartbeat(trial.study._storage, trial._trial_id, self.heartbeat_s):
            for step, fold in enumerate(self.folds, 1):
                cfg = _config(self.baseline, fold, self.fixed, drawn, self.env)
                result = run_config(cfg, self.release)
                cm = _fold_confusion(result, post, self.release)
                pooled += cm
                value = float(macro_f1_from_confusion(pooled))
                trial.set_user_attr(f"{fold}.run", result.run_dir.name)
                trial.set_user_attr(f"{fold}.macro_f1", float(macro_f1_from_confusion(cm)))
                trial.report(value, step)
                if step < len(self.folds) and trial.should_prune():
                    raise optuna.TrialPruned(f"pooled macro F1 {value:.4f} after {step} folds")
        return value

    def _draw(self, trial) -> dict[str, Any]:
        drawn: dict[str, Any] = {}
        for p in self.params:
            method = self.fixed.get(POST_METHOD, drawn.get(POST_METHOD))
            if p.key == POST_WINDOW and method == NO_FILTER:
                continue  # no filter: no window to draw
            drawn[p.key] = p.suggest(trial)
        return drawn


def _fold_confusion(result, post: tuple[str, float | None], release) -> np.ndarray:
    """The fold's validation confusion, after the drawn temporal filter if any."""
    method, window = post
    if method in (None, NO_FILTER):
        return np.array(result.scores.confusion, np.int64)
    from harness.postprocess.filters import smooth_outputs
    from harness.records import RunFolder

    outputs = RunFolder(result.run_dir).outputs("val")
    fps = {n: release.fps(n) for n in outputs.names}
    labels = smooth_outputs(outputs, method, float(window), fps).labels()
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    for name, pred in labels.items():
        truth = release.labels(name)
        cm += confusion_matrix(truth, pred[:truth.size])
    return cm


def _config(baseline: str, split: str, fixed: Mapping, drawn: Mapping, env: Mapping):
    """The RunConfig of one trial on one split: defaults < fixed keys < drawn keys."""
    keys: dict[str, Any] = {"baseline": baseline, "split": split}
    for key, value in (fixed | drawn).items():
        if key.startswith("post."):
            continue
        *tables, last = key.split(".")
        node = keys
        for t in tables:
            node = node.setdefault(t, {})
        node[last] = value
    keys |= {k: v for k, v in env.items() if v is not None}
    keys = {k: (str(v) if isinstance(v, Path) else v) for k, v in keys.items()}
    return run_config_from_dict(keys, source="tune")


def _defaults(baseline: str, params: Sequence[Param]) -> dict[str, Any]:
    """The baseline's default value of each searched parameter (no filter for post.*),
    or nothing where a default lies outside the space."""
    import inspect

    from baselines import get_baseline
    from harness.runs import RunConfig

    spec = get_baseline(baseline)
    nested = dataclasses.asdict(RunConfig(baseline))
    builder = {k: v.default for k, v in inspect.signature(spec.builder).parameters.items()}
    out: dict[str, Any] = {}
    for p in params:
        if p.key == POST_METHOD:
            value = NO_FILTER
        elif p.key == POST_WINDOW:
            continue
        elif p.key == "window_frames":
            value = spec.window.steps
        elif p.key.startswith("model."):
            value = builder.get(p.key.removeprefix("model."))
        else:
            value = nested
            for part in p.key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
        if value is None or not p.contains(value):
            return {}
        out[p.key] = value
    return out


def _example(p: Param) -> Any:
    if p.kind == "categorical":
        return p.choices[0]
    return int(p.low) if p.kind == "int" else float(p.low)


def _optuna():
    try:
        import optuna
    except ImportError:
        raise HarnessError('harness tune needs Optuna: pip install "abaw-harness[optuna]"') \
            from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _storage(optuna, path: Path):
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    # the open(O_EXCL) lock works on NFS too, where the symlink lock may not
    return optuna.storages.JournalStorage(
        JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))


def _count(study, optuna) -> int:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def _report(study, trial) -> None:
    shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in trial.params.items())
    value = "" if trial.value is None else f" pooled OOF macro F1 {trial.value:.4f}"
    err.print(f"tune {study.study_name}: trial {trial.number} {trial.state.name.lower()}"
              f"{value} ({shown})")


def _finish(study, optuna, baseline, fixed, env, folder: Path, folds) -> TuneResult:
    from harness.atomic import write_text
    from harness.tuning.plot import plot_search

    states = optuna.trial.TrialState
    counts = {s: len(study.get_trials(deepcopy=False, states=(s,)))
              for s in (states.COMPLETE, states.PRUNED, states.FAIL)}
    if not counts[states.COMPLETE]:
        raise HarnessError(f"study {study.study_name}: no trial completed yet "
                           f"({counts[states.PRUNED]} pruned, {counts[states.FAIL]} failed); "
                           f"nothing to write")
    best = study.best_trial
    cfg = _config(baseline, "official", fixed, best.params, env)
    post = (fixed | best.params)
    method = post.get(POST_METHOD, NO_FILTER)
    header = [
        f"harness tune {baseline}: study {study.study_name!r}, best of "
        f"{counts[states.COMPLETE]} complete trials ({counts[states.PRUNED]} pruned, "
        f"{counts[states.FAIL]} failed), trial {best.number}",
        f"pooled out-of-fold macro F1 over {', '.join(folds)}: {best.value:.4f}",
        f"searched: {', '.join(f'{k} = {v!r}' for k, v in best.params.items())}",
        "run it: harness run --config best.toml --split all   (official + the five folds)",
    ]
    if method != NO_FILTER:
        window = post.get(POST_WINDOW)
        header.append(f"then (chosen on the folds): harness ensemble --baseline {baseline} "
                      f"--split all --method {method} --window {window:.2f}")
    best_toml = folder / BEST
    write_text(best_toml, config_toml(cfg, "\n".join(header)))
    plot = plot_search(study, folder / PLOT, f"{baseline}: {study.study_name}")
    return TuneResult(study.study_name, folder, float(best.value), dict(best.params), best_toml,
                      plot, counts[states.COMPLETE], counts[states.PRUNED], counts[states.FAIL])


def load_best(path: Path):
    """``best.toml`` back as a RunConfig (what ``harness run --config`` does with it)."""
    from harness.config_files import read_config_file

    return run_config_from_dict(read_config_file(path), source=str(path))

