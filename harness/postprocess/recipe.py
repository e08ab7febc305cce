"""What to do after the network, and the honest way to choose it.

A ``PostConfig`` says what the user asked (a fixed filter, a sweep, bias tuning); a ``Choice``
is what was chosen (filter, window, offsets) and applies identically to validation and test
outputs. Choices made on data are made where they can be told apart from the score:

- on one split (official, or several seeds of it) everything is chosen on validation and
  applied to validation and test; the validation figure is then optimistic, and the run is
  marked ``[val-tuned]``;
- on a fold set (pooled out-of-fold validation), the choice for the videos of fold k is made
  on the other four folds' out-of-fold outputs only, so the pooled figure stays a
  cross-validated estimate; test gets the choice made on all of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from harness.config_files import require
from harness.errors import HarnessError
from harness.postprocess.bias import apply_bias, tune_bias
from harness.postprocess.filters import FILTERS, check_filter, smooth_outputs
from harness.postprocess.spaces import OutputSpace
from harness.postprocess.sweep import DEFAULT_WINDOWS, SweepResult, run_sweep
from harness.postprocess.thresholds import apply_thresholds, tune_thresholds
from harness.records import FrameOutputs

#: Default filter and window: ORA10's median over 101 frames is 3.4 s at 30 fps.
DEFAULT_METHOD, DEFAULT_WINDOW = "median", 3.4


@dataclass
class PostConfig:
    """Post-processing to apply; with nothing set it leaves outputs as they are."""

    method: str | None = None  # a registered filter (FILTERS); None: no fixed filter
    window: float = DEFAULT_WINDOW  # seconds, the full width of the window
    sweep: bool = False  # choose filter and window on validation from the grid below
    methods: tuple[str, ...] | None = None  # sweep grid of filters; None: every registered one
    windows: tuple[float, ...] = DEFAULT_WINDOWS  # sweep grid of windows (seconds)
    exclude_imputed: bool = False  # only frames with an observed face enter a window
    tune_bias: bool = False  # per-class offsets chosen for macro F1
    tune_thresholds: bool = False  # AU: one decision threshold per AU chosen for its F1

    def __post_init__(self) -> None:
        if self.method is not None:
            FILTERS.get(self.method)
        for m in self.methods or ():
            FILTERS.get(m)
        require("--window", self.window, positive=True)  # NaN and inf included
        if not self.windows:
            raise HarnessError("--windows needs at least one window (seconds)")
        for w in self.windows:
            require("--windows", w, positive=True)

    @property
    def grid_methods(self) -> tuple[str, ...]:
        return tuple(self.methods) if self.methods else tuple(FILTERS.names())

    def methods_for(self, space: OutputSpace | None) -> tuple[str, ...]:
        """The sweep's filters: those asked for, else every registered one that applies to
        ``space``'s outputs (VA/AU: not the label filters)."""
        if self.methods or space is None or space.has_labels:
            return self.grid_methods
        return tuple(m for m in FILTERS.names() if FILTERS.get(m).averages != "labels")

    @property
    def tunes(self) -> bool:
        """Whether anything is chosen on data (and so must be chosen honestly)."""
        return self.sweep or self.tune_bias or self.tune_thresholds

    def check(self, task) -> None:
        """Refuse, before any work, what does not apply to ``task``'s outputs (a
        ``harness.tasks.Task``): mode for VA/AU, offsets outside EXPR, thresholds outside AU."""
        from harness.postprocess.spaces import output_space

        space = output_space(task)
        for m in ([self.method] if self.method else []) + list(self.methods or ()):
            check_filter(m, space)
        if self.tune_bias and not task.bias_tuning:
            raise HarnessError(f"--tune-bias shifts class probabilities before the argmax; "
                               f"{task.name.upper()} {space.what} have no classes to shift"
                               + (" (use --tune-thresholds)" if task.threshold_tuning else ""))
        if self.tune_thresholds and not task.threshold_tuning:
            raise HarnessError(f"--tune-thresholds chooses one decision threshold per AU; "
                               f"{task.name.upper()} {space.what} have none (AU only)")


@dataclass(frozen=True)
class Choice:
    """A chosen post-processing: a filter (or none) then per-class offsets (or none)."""

    method: str | None = None
    window: float = 0.0
    exclude_imputed: bool = False
    bias: tuple[float, ...] | None = None
    thresholds: tuple[float, ...] | None = None  # AU: per-AU probability thresholds

    def apply(self, outputs: FrameOutputs, fps: Mapping[str, float],
              space: OutputSpace | None = None) -> FrameOutputs:
        if self.method is not None:
            outputs = smooth_outputs(outputs, self.method, self.window, fps,
                                     self.exclude_imputed, space)
        if self.bias is not None:
            outputs = _on_columns(outputs, space, "bias",
                                  lambda x: apply_bias(x, np.array(self.bias)))
        if self.thresholds is not None:
            outputs = _on_columns(outputs, space, "thresholds",
                                  lambda x: apply_thresholds(x, np.array(self.thresholds)))
        return outputs

    def label(self, oof: bool = False) -> str:
        """Suffix for a run label: ``+median(1.7s)``, ``+mean(3s,observed)+bias``,
        ``+gaussian(0.5s)+thresholds``."""
        text = ""
        if self.method is not None:
            obs = ",observed" if self.exclude_imputed else ""
            text += f"+{self.method}({self.window:g}s{obs})"
        if self.bias is not None:
            text += "+bias(oof)" if oof else "+bias"
        if self.thresholds is not None:
            text += "+thresholds(oof)" if oof else "+thresholds"
        return text

    def to_dict(self) -> dict:
        d = {"method": self.method, "window_s": self.window,
             "exclude_imputed": self.exclude_imputed,
             "bias": list(self.bias) if self.bias is not None else None}
        if self.thresholds is not None:  # only where tuned: EXPR recipes keep their bytes
            d["thresholds"] = list(self.thresholds)
        return d


@dataclass
class Outcome:
    """Post-processed outputs and how they were chosen."""

    val: FrameOutputs
    test: FrameOutputs | None
    choice: Choice  # the one applied to test (and to validation on one split)
    fold_choices: dict[str, Choice] = field(default_factory=dict)  # fold sets: per fold
    sweep: SweepResult | None = None
    validation_tuned: bool = False  # the validation figure was optimised on itself


def post_process(cfg: PostConfig, val: FrameOutputs, test: FrameOutputs | None,
                 truth: Mapping[str, np.ndarray], fps: Mapping[str, float],
                 folds: Mapping[str, Sequence[str]] | None = None, quiet: bool = False,
                 space: OutputSpace | None = None, task=None) -> Outcome:
    """Choose and apply ``cfg`` to validation and test (out-of-fold when ``folds`` is given);
    ``space`` and ``task``: what the outputs are and how they are scored (None: EXPR's class
    logits and macro F1)."""
    sweep = (run_sweep(val, truth, fps, cfg.methods_for(space), cfg.windows,
                       cfg.exclude_imputed, quiet=quiet, space=space,
                       task=None if space is None else task) if cfg.sweep else None)
    everything = np.ones(len(sweep.names), bool) if sweep else None
    final = choose(cfg, val, truth, fps, sweep, everything, space)
    post_test = final.apply(test, fps, space) if test is not None else None
    if not folds or not cfg.tunes:
        return Outcome(final.apply(val, fps, space), post_test, final, {}, sweep,
                       validation_tuned=cfg.tunes)
    parts, per_fold = [], {}
    for fold, held_out in folds.items():
        held = set(held_out)
        others = [n for n in val.names if n not in held]
        keep = np.array([n not in held for n in sweep.names]) if sweep else None
        per_fold[fold] = choose(cfg, val.select(others), truth, fps, sweep, keep, space)
        parts.append(per_fold[fold].apply(val.select([n for n in val.names if n in held]), fps,
                                          space))
    return Outcome(FrameOutputs.concat(parts, val.names), post_test, final, per_fold, sweep,
                   validation_tuned=False)


def choose(cfg: PostConfig, val: FrameOutputs, truth: Mapping[str, np.ndarray],
           fps: Mapping[str, float], sweep: SweepResult | None, keep: np.ndarray | None,
           space: OutputSpace | None = None) -> Choice:
    """The filter (fixed or the sweep's best over ``keep``), then offsets (EXPR) or thresholds
    (AU) tuned on ``val``."""
    if sweep is not None:
        method, window = sweep.best(keep)
    else:
        method, window = cfg.method, (cfg.window if cfg.method else 0.0)
    choice = Choice(method, window, cfg.exclude_imputed and method is not None)
    if not cfg.tune_bias and not cfg.tune_thresholds:
        return choice
    what = "class offsets" if cfg.tune_bias else "thresholds"
    smoothed = choice.apply(val, fps, space)
    labelled = [n for n in smoothed.names if n in truth]
    if not labelled:
        raise HarnessError(f"cannot tune {what}: no validation video has labels")
    scored = smoothed.select(labelled)
    sizes = np.diff(scored.offsets)
    frame_truth = np.concatenate([_padded(truth[n], k) for n, k in zip(labelled, sizes)])
    cols, truth_cols = _columns(space, "thresholds" if cfg.tune_thresholds else "bias")
    logits = scored.logits[:, cols]
    if frame_truth.ndim == 2:
        frame_truth = frame_truth[:, truth_cols]
    if cfg.tune_thresholds:
        return replace(choice, thresholds=tuple(
            float(t) for t in tune_thresholds(logits, frame_truth)))
    return replace(choice, bias=tuple(float(b) for b in tune_bias(logits, frame_truth)))


def _columns(space: OutputSpace | None, what: str) -> tuple[slice, slice | int]:
    """Which output and truth columns offsets or thresholds act on (the task's say: all of
    them, or one head of MTL's three)."""
    from harness.tasks import get_task

    return get_task(space.task if space is not None else None).tuned_columns(what)


def _on_columns(outputs: FrameOutputs, space: OutputSpace | None, what: str,
                change) -> FrameOutputs:
    cols, _ = _columns(space, what)
    if cols == slice(None):  # a single task: every column, no copy
        return replace(outputs, logits=change(outputs.logits))
    logits = outputs.logits.copy()
    logits[:, cols] = change(logits[:, cols])
    return replace(outputs, logits=logits)


def _padded(labels: np.ndarray, n: int) -> np.ndarray:
    """``labels`` (frames, ...) cut or padded with -1 (unscored) to ``n`` frames."""
    out = np.full((n, *np.shape(labels)[1:]), -1, np.int64)
    out[:min(n, len(labels))] = labels[:n]
    return out
