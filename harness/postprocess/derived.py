"""A derived run: post-processed outputs of other runs, written as a run folder like any other.

It has its own config (the recipe and its source runs), split, logits and predictions of
validation and test, metrics, per-video confusions, confusion and per-class plots, the sweep
table and plot, per-video timelines, and one leaderboard row whose baseline label says what
was done (``attention_fusion+median(1.7s)``, ``ensemble(attention_fusion x5 folds, OOF)``, a
``[val-tuned]`` marker when the validation figure was optimised on itself). ``harness submit``
takes it like a trained run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.atomic import write_text
from harness.console import progress_task
from harness.data.release import Release, load_release
from harness.features.cache import config_hash
from harness.metrics import Scores
from harness.postprocess.recipe import Outcome, PostConfig, post_process
from harness.postprocess.smoothing_plots import plot_sweep, plot_timeline
from harness.postprocess.source_runs import SourceSet
from harness.postprocess.spaces import output_space
from harness.records import (
    DERIVED,
    FrameOutputs,
    RunFolder,
    RunInfo,
    SourceRun,
    evaluate,
    finish,
    shared_provenance,
    start,
)
from harness.tracking import RunTracker

VAL_TUNED = "[val-tuned]"


@dataclass
class TimelineConfig:
    """Which per-video timeline plots a derived run gets."""

    val: bool = True  # one per validation video (truth, raw, post-processed)
    test: bool = False  # one per test video (raw, post-processed: test truth is hidden)


@dataclass
class Where:
    """Where runs are read from and derived runs written, and what else to draw."""

    workdir: Path = Path("harness-out")
    data: Path | None = None  # release root; None: the embedded corpus
    release: Release | None = None  # an already loaded release (wins over ``data``)
    timelines: TimelineConfig = field(default_factory=TimelineConfig)
    quiet: bool = False
    track: str | None = None  # experiment tracker (harness.tracking) the derived run logs to
    task: str | None = None  # the task's part of the release (None: expr)

    def load(self) -> Release:
        if self.release is None:
            self.release = load_release(self.data, task=self.task)
        return self.release


@dataclass
class Inputs:
    """The sources' outputs before post-processing."""

    name: str  # label of what was combined: a baseline, or ``ensemble(...)``
    val: FrameOutputs
    test: FrameOutputs | None
    raw: dict[str, FrameOutputs | None]  # per part, what one source model alone predicted
    raw_label: str  # that model, for the timelines' raw row


@dataclass
class Derived:
    """A finished derived run."""

    folder: RunFolder
    label: str
    split: str
    validation: str  # what the validation figure covers
    scores: Scores  # the task's: EXPR ``Scores``, ``VAScores``, ``AUScores``
    outcome: Outcome
    sset: SourceSet
    seconds: float = 0.0


def derive(sset: SourceSet, inputs: Inputs, cfg: PostConfig, recipe: dict, where: Where
           ) -> Derived:
    """Post-process the inputs (validation and test alike) and write the derived run."""
    t0 = time.perf_counter()
    tracker = RunTracker(where.track, where.workdir)  # refuses a missing extra before any work
    release, workdir, quiet = where.load(), where.workdir, where.quiet
    task = release.task
    space = output_space(task)
    name, val, test = inputs.name, inputs.val, inputs.test
    # timelines draw labels over time: a task without one label per frame has none to draw
    timelines = where.timelines if space.has_labels else TimelineConfig(False, False)
    truth = {n: release.labels(n) for n in val.names}
    needs_fps = cfg.method is not None or cfg.sweep or timelines.val or timelines.test
    names = set(val.names) | set(test.names if test is not None else ())
    fps = {n: release.fps(n) for n in sorted(names)} if needs_fps else {}
    outcome = post_process(cfg, val, test, truth, fps, sset.folds, quiet=quiet,
                           space=None if space.has_labels else space, task=task)
    tuned_oof = bool(sset.folds) and (cfg.tune_bias or cfg.tune_thresholds)
    label = name + outcome.choice.label(oof=tuned_oof) + (
        VAL_TUNED if outcome.validation_tuned else "")
    recipe = recipe | {"post": outcome.choice.to_dict(), "asked": _asked(cfg)}
    folder = start(workdir, _prefix(label, sset.split, recipe), recipe, sset.split_record())
    tracker.start(folder.path, recipe)
    labels = folder.write_outputs("val", outcome.val, task)
    if outcome.test is not None:
        folder.write_outputs("test", outcome.test, task)
    if outcome.sweep is not None:
        table, plot = folder.sweep_files
        write_text(table, outcome.sweep.table_csv())
        plot_sweep(outcome.sweep, (outcome.choice.method, outcome.choice.window), plot,
                   f"{name} on {sset.validation}")
    _timelines(folder, timelines, inputs.raw, outcome, truth, fps, (inputs.raw_label, label),
               quiet)
    scores = evaluate(folder, truth, labels, label, task)
    seconds = time.perf_counter() - t0
    finish(folder, _info(release, sset, label, recipe, outcome, seconds), scores, workdir)
    tracker.finish(scores, folder.path)
    return Derived(folder, label, sset.split, sset.validation, scores, outcome, sset, seconds)


def _asked(cfg: PostConfig) -> dict:
    asked = {"method": cfg.method, "window_s": cfg.window, "sweep": cfg.sweep,
             "methods": list(cfg.grid_methods) if cfg.sweep else None,
             "windows_s": list(cfg.windows) if cfg.sweep else None,
             "exclude_imputed": cfg.exclude_imputed, "tune_bias": cfg.tune_bias}
    if cfg.tune_thresholds:  # only where asked: EXPR recipes (and their hashes) are unchanged
        asked["tune_thresholds"] = True
    return asked


def _prefix(label: str, split: str, recipe: dict) -> str:
    """``<label as a file name>-<split>-<recipe hash>-``: the derived run's id before its
    time stamp."""
    slug = re.sub(r"[^A-Za-z0-9._+-]+", "-", label).strip("-.")[:80] or "derived"
    return f"{slug}-{split}-{config_hash(recipe)[:8]}-"


def _info(release: Release, sset: SourceSet, label: str, recipe: dict, outcome: Outcome,
          seconds: float) -> RunInfo:
    """``run.json`` of a derived run: where its numbers came from, and how honest they are.

    It read what its sources read: their stage-1 model and feature sets, where all agree (a
    smoothed run, or an ensemble of seeds over one stage-1 model; not a fold ensemble)."""
    shared = shared_provenance([s.info for s in sset.sources])
    return RunInfo(
        kind=DERIVED, baseline=label, split=sset.split, dataset=release.dataset,
        task=release.task.name,
        data_root=str(release.root), data_fingerprint=release.fingerprint,
        config_hash=config_hash(recipe), features=sset.sources[0].info.features,
        sources=tuple(SourceRun(s.folder.run_id, str(s.folder.path), s.label, s.split)
                      for s in sset.sources),
        validation=sset.validation, validation_tuned=outcome.validation_tuned,
        post=outcome.choice.to_dict(),
        fold_choices={f: c.to_dict() for f, c in outcome.fold_choices.items()},
        seconds=round(seconds, 2), **shared)


def _timelines(folder: RunFolder, cfg: TimelineConfig, raw: dict[str, FrameOutputs | None],
               outcome: Outcome, truth: Mapping[str, np.ndarray], fps: Mapping[str, float],
               titles: tuple[str, str], quiet: bool) -> None:
    """Truth (validation only), one model's raw labels and the post-processed labels."""
    for part, post, wanted in (("val", outcome.val, cfg.val), ("test", outcome.test, cfg.test)):
        if not wanted or post is None or raw.get(part) is None:
            continue
        raw_labels, post_labels = raw[part].labels(), post.labels()
        rows_of = dict(zip(post.names, zip(post.offsets[:-1], post.offsets[1:])))
        with progress_task(f"Timelines ({part})", len(post.names), "videos",
                           disable=quiet) as advance:
            for video in post.names:
                known = truth.get(video) if part == "val" else None
                rows = [("truth", known)] if known is not None else []
                rows += [(_row_title("raw", titles[0], raw_labels[video], known),
                          raw_labels[video]),
                         (_row_title("post", titles[1], post_labels[video], known),
                          post_labels[video])]
                a, b = rows_of[video]
                plot_timeline(folder.timeline_path(part, video), video, fps[video], rows,
                              post.imputed[a:b])
                advance(1)


def _row_title(kind: str, title: str, labels: np.ndarray, truth: np.ndarray | None,
               width: int = 40) -> str:
    """``raw: attention_fusion`` and, against truth, the video's accuracy on a second line."""
    text = f"{kind}: {title}"
    text = text if len(text) <= width else text[:width - 1] + "…"
    if truth is None:
        return text
    valid = truth >= 0
    acc = float((labels[:truth.size][valid] == truth[valid]).mean()) if valid.any() else 0.0
    return f"{text}\naccuracy {100 * acc:.0f} %"
