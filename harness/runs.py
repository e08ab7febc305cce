"""``harness run``: every stage a baseline needs, reusing cached ones, into one run folder.

Stages: load the release -> split -> stage-1 face model (cached per split) -> features of the
modalities the baseline declares (cached) -> windows -> train with the one loop (or, for a
baseline that ``trains=False``, take its weights from stage 1) -> logits and labels for every
validation frame and every template frame -> run folder -> one row in the leaderboard store.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines import get_baseline
from harness import distributed
from harness.config_files import require
from harness.console import err
from harness.data.release import Release, load_release
from harness.data.splits import FOLD_SEED, Split, check_split, get_split, membership_splits
from harness.device import seed_everything
from harness.errors import HarnessError
from harness.features.audio.extractor import audio_identity
from harness.features.cache import config_hash
from harness.features.chunks import ChunkSet, ChunkSpec, build_chunks
from harness.features.extract import (
    FeatureConfig,
    HfAudioOptions,
    all_names,
    feature_provenance,
    feature_record,
    feature_sources,
)
from harness.features.face.config import every_image
from harness.features.face.model import load_face_model
from harness.features.sources import FeatureSource
from harness.features.timeline import WindowSpec, dense_window
from harness.features.windows import WindowSet, build_windows
from harness.fusion_stage import TrainConfig, predict_logits, train_baseline
from harness.losses import VA_LOSSES
from harness.measure import StageClock
from harness.paths import file_digest
from harness.provenance import git_commit
from harness.records import TRAINED, FrameOutputs, RunFolder, RunInfo, evaluate, finish, start
from harness.records.lifecycle import removed_if_disk_full
from harness.tasks import DEFAULT_TASK, get_task
from harness.tracking import RunTracker
from harness.train import TrainState, count_parameters


@dataclass
class RunConfig:
    baseline: str
    split: str = "official"
    data: Path | None = None
    out: Path = Path("harness-out")
    features: FeatureConfig = field(default_factory=FeatureConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    fold_seed: int = FOLD_SEED
    folds: Path | None = None  # membership file (harness splits --write): splits rebuilt from it
    resume: bool = False
    quiet: bool = False
    threads: int | None = None  # CPU threads; None: torch's default (1 can win on busy hosts)
    # Which feature set each modality slot reads (default: the slot's own name, i.e. the
    # harness's extractors for face/audio/pose); e.g. {"face": "hsemotion"} for an import.
    inputs: dict[str, str] = field(default_factory=dict)
    window_frames: int | None = None  # length of a dense-window baseline's window
    chunk_frames: int | None = None  # frames per chunk of a sequence baseline (default: its own)
    # Keyword arguments of the baseline's builder, e.g. {"width": 96} for dense_temporal
    # (what ``harness tune`` searches beside the training settings).
    model: dict[str, Any] = field(default_factory=dict)
    track: str | None = None  # experiment tracker (harness.tracking): never changes a result
    # The challenge (``harness.tasks``): its labels, splits, head size, loss, selection metric
    # and test template. EXPR's configs, keys and figures are as they were before tasks.
    task: str = DEFAULT_TASK

    def __post_init__(self) -> None:
        """Refuse a bad split or count before any folder is made."""
        check_split(self.split)
        require("--threads", self.threads, minimum=1)
        require("--window-frames", self.window_frames, minimum=1)
        require("--chunk-frames", self.chunk_frames, minimum=1)
        task = get_task(self.task)  # an unknown name lists the tasks
        self.task = task.name
        if self.train.va_loss != TrainConfig.va_loss and task.loss not in VA_LOSSES \
                and "va" not in task.components:
            raise HarnessError(f"--va-loss applies to a task trained on values (va); this run "
                               f"is {task.name}'s")
        if self.train.mtl_weighting != TrainConfig.mtl_weighting and not task.components:
            raise HarnessError(f"--mtl-weighting applies to a multi-task run (mtl); this run "
                               f"is {task.name}'s")
        if task.sparse_images:
            self._every_image()
        if self.features.face_from is not None:
            get_task(self.features.face_from)

    def _every_image(self) -> None:
        """Sparse images (MTL) are not near-duplicate neighbours as a video's frames are:
        where a stride is left at its default (the paper's one in five, for 30 fps video),
        stage 1 and the fusion stage train on every labelled image; another stride is kept."""
        if self.train.frame_stride == TrainConfig.frame_stride:
            self.train.frame_stride = 1
        every_image(self.features.face, get_task(self.task))

    def identity(self) -> dict:
        """What the results depend on (for the config hash and resume matching)."""
        d = dataclasses.asdict(self)
        for k in ("out", "resume", "quiet", "data", "threads", "folds", "track"):
            d.pop(k)
        if self.folds is not None:  # the file's content, not where it lies
            d["folds"] = file_digest(Path(self.folds))
        d["features"]["face"] = self.features.face.identity()
        d["features"].pop("allow_missing_faces")
        if self.features.hf_audio == HfAudioOptions():  # added later: old runs keep their key
            d["features"].pop("hf_audio")
        # a model named by where it lies (hf:DIR) counts by its content, not its path
        d["features"]["audio"] = audio_identity(self.features.audio)
        for k in ("device",):
            d["features"].pop(k)
            d["train"].pop(k)
        d["features"].pop("feature_threads")  # how features are made, never what
        if not self.train.cpu_bf16:  # added later: runs made without it keep their key
            d["train"].pop("cpu_bf16")
        if self.train.optimizer == "adamw":  # likewise
            d["train"].pop("optimizer")
        if self.chunk_frames is None:  # likewise (sequence baselines)
            d.pop("chunk_frames")
        if self.train.chunk_batch_size == TrainConfig.chunk_batch_size:
            d["train"].pop("chunk_batch_size")
        if not self.model:  # likewise
            d.pop("model")
        if self.task == DEFAULT_TASK:  # likewise (tasks)
            d.pop("task")
        if self.train.va_loss == TrainConfig.va_loss:
            d["train"].pop("va_loss")
        if self.train.mtl_weighting == TrainConfig.mtl_weighting:
            d["train"].pop("mtl_weighting")
        if self.features.face_from is None:
            d["features"].pop("face_from")
        return d


@dataclass
class RunResult:
    run_dir: Path
    baseline: str
    split: str
    scores: Any  # the task's (EXPR ``Scores``, VA ``VAScores``, AU ``AUScores``)
    seconds: float
    best_epoch: int | None
    n_test_frames: int
    task: str = DEFAULT_TASK


def run(baseline: str, split: str = "official", **kwargs) -> RunResult:
    """Run one baseline on one split. ``kwargs`` are ``RunConfig`` fields (``task="va"``...).

    >>> result = run("attention_fusion", split="official")   # doctest: +SKIP
    >>> round(result.scores.macro_f1, 3)                      # doctest: +SKIP
    """
    return run_config(RunConfig(baseline=baseline, split=split, **kwargs))


def run_config(cfg: RunConfig, release: Release | None = None) -> RunResult:
    """Run as configured; pass ``release`` to reuse one already loaded from ``cfg.data``.

    Under torchrun every rank runs this: features are extracted by shards, training and
    prediction are shared, and rank 0 alone writes the run folder and the leaderboard row.
    A full disk stops it with one error and removes the run folder this attempt made.
    """
    with removed_if_disk_full(cfg.out):
        return _run_config(cfg, release)


def _run_config(cfg: RunConfig, release: Release | None) -> RunResult:
    t0 = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    distributed.setup(cfg.features.device)
    main = distributed.is_main()
    cfg.quiet = cfg.quiet or not main
    tracker = RunTracker(cfg.track if main else None, cfg.out)  # refuses a missing extra now
    spec = get_baseline(cfg.baseline)
    task = get_task(cfg.task)
    if not spec.supports(task):
        raise HarnessError(f"baseline {spec.name!r} gives no {task.name} output; it supports "
                           f"{', '.join(spec.tasks or ())}")
    window = _window(spec.window, cfg.window_frames)
    chunks = _chunks(spec.sequence, cfg.chunk_frames)
    _check_model_args(spec, cfg.model)
    cfg.train.device = cfg.features.device
    clock = StageClock()
    with clock.stage("features"):
        if release is None or release.task is not task:  # a release is read for one task
            release = load_release(cfg.data if release is None else release.root, task=task)
        resumed = distributed.broadcast(_resumable(cfg, release) if main else None)
        split = _split(cfg, release, resumed)
        sources, stage = feature_sources(release, split, spec.slots(task), cfg.features,
                                         inputs=cfg.inputs, names=all_names(release),
                                         quiet=cfg.quiet)
    with clock.stage("windows"), distributed.rank_zero_first():  # rank 0 packs the tables
        if chunks is not None:  # a sequence baseline reads chunks (harness.features.chunks)
            train_ws = build_chunks(release, split.train, sources, chunks)
            val_ws = build_chunks(release, split.val, sources, chunks)
            test_ws = _test_windows(release, sources, window, chunks)
        else:
            train_ws = build_windows(release, split.train, sources, labelled_only=True,
                                     spec=window)
            val_ws = build_windows(release, split.val, sources, labelled_only=False, spec=window)
            test_ws = _test_windows(release, sources, window)
    seed_everything(cfg.train.seed)  # initial weights must not depend on what ran before
    model = spec.for_task(val_ws.dims, task, **cfg.model)
    folder = distributed.broadcast((resumed or _new_folder(cfg, release, split)) if main
                                   else None)
    tracker.start(folder.path, dataclasses.asdict(cfg))
    history, best_epoch = [], None
    # a stage-1 head exists only when the face features come from the fine-tuned face model;
    # on imported or frozen features the same baseline trains its head like any other
    from_stage1 = (spec.init_from == "face_head" and stage is not None
                   and sources["face"].name == "face")
    if from_stage1:
        face = load_face_model(cfg.features.face.backbone, stage.checkpoint, torch.device("cpu"))
        model.head.load_state_dict(face.head.state_dict())
        history, best_epoch = stage.history, stage.best_epoch
    if spec.trains or not from_stage1:
        result = train_baseline(model, train_ws, val_ws, cfg.train, state_file=folder.state_file,
                                resume=cfg.resume, quiet=cfg.quiet, clock=clock,
                                on_epoch=_each_epoch(folder, tracker) if main else None)
        history, best_epoch = result.history, result.best_epoch
    else:
        model.to(torch.device("cpu"))
    with clock.stage("predict validation"):
        val_out = _outputs(model, val_ws, cfg)
    with clock.stage("predict test"):
        test_out = None if test_ws is None else _outputs(model, test_ws, cfg)
    final = None
    if main:
        with clock.stage("write run folder"):
            folder.write_history(history)
            tracker.epochs(history)
            folder.write_checkpoint(model.state_dict())
            val_labels = folder.write_outputs("val", val_out, task)
            if test_out is not None:
                folder.write_outputs("test", test_out, task)
            final = evaluate(folder, {n: release.labels(n) for n in val_labels},
                             val_labels, f"{cfg.baseline} on {split.name}", task)
        clock.close()
        seconds = time.perf_counter() - t0
        # stage 1's own head (current_face on stage-1 features): the fusion recipe never ran
        recipe_ran = spec.trains or not from_stage1
        label = chunks.label if chunks is not None else window.label
        info = _info(cfg, release, split, sources, label, model, best_epoch, seconds, clock,
                     recipe_ran)
        finish(folder, _with_provenance(info, release, split, sources, stage), final, cfg.out)
        tracker.finish(final, folder.path)
    clock.close()
    final = distributed.broadcast(final)
    return RunResult(folder.path, cfg.baseline, split.name, final, time.perf_counter() - t0,
                     best_epoch, 0 if test_ws is None else len(test_ws), cfg.task)


def _each_epoch(folder: RunFolder, tracker: RunTracker):
    """``fit``'s per-epoch callback: ``epochs.csv`` (the record), then the tracker."""
    def on_epoch(history: list[dict]) -> None:
        folder.write_history(history)
        tracker.epochs(history)
    return on_epoch


def _check_model_args(spec, args: dict[str, Any]) -> None:
    """``model`` keys must be keyword arguments of the baseline's builder."""
    import inspect

    known = [p for p in inspect.signature(spec.builder).parameters
             if p not in ("dims", "num_classes")]
    bad = sorted(set(args) - set(known))
    if bad:
        raise HarnessError(f"model: baseline {spec.name!r} takes no {', '.join(bad)}; its "
                           f"builder takes {', '.join(known) or 'no options'}")


def _window(window: WindowSpec, frames: int | None) -> WindowSpec:
    """The baseline's window; ``--window-frames`` resizes a dense one."""
    if frames is None:
        return window
    if window.step_s is not None:
        raise HarnessError(f"--window-frames applies to baselines with a dense window; this "
                           f"one reads {window.label}")
    try:
        return dense_window(frames)
    except ValueError as exc:
        raise HarnessError(f"--window-frames: {exc}") from None


def _chunks(sequence: ChunkSpec | None, frames: int | None) -> ChunkSpec | None:
    """A sequence baseline's chunks; ``--chunk-frames`` resizes them."""
    if frames is None:
        return sequence
    if sequence is None:
        raise HarnessError("--chunk-frames applies to sequence baselines (such as "
                           "dense_sequence); this one reads windows")
    try:
        return sequence.resized(frames)
    except ValueError as exc:
        raise HarnessError(f"--chunk-frames: {exc}") from None


def _test_windows(release: Release, sources: dict[str, FeatureSource], window: WindowSpec,
                  chunks: ChunkSpec | None = None) -> WindowSet | ChunkSet | None:
    if release.layout.template is None:
        return None
    release.test_names  # noqa: B018 - checks the test list against the template first
    if chunks is not None:
        return build_chunks(release, release.template.names, sources, chunks)
    return build_windows(release, release.template.names, sources, labelled_only=False,
                         spec=window)


def _outputs(model: torch.nn.Module, ws: WindowSet | ChunkSet, cfg: RunConfig) -> FrameOutputs:
    """Logits of every window, with whether the frame's face was copied from a neighbour."""
    imputed = ~ws.observed("face") if "face" in ws.tables else np.zeros(len(ws), bool)
    return FrameOutputs.from_frames(ws.names, ws.name_idx, ws.frames,
                                    predict_logits(model, ws, cfg.train), imputed)


def _split(cfg: RunConfig, release: Release, resumed: RunFolder | None) -> Split:
    """A resumed run's own split (its split.json), else from ``--folds``, else rebuilt."""
    if resumed is not None:
        return membership_splits(resumed.split(), release, resumed.path)[cfg.split]
    return get_split(release, cfg.split, seed=cfg.fold_seed, membership=cfg.folds)


def _prefix(cfg: RunConfig, release: Release) -> str:
    key = config_hash(cfg.identity() | {"data": release.fingerprint})[:8]
    return f"{cfg.baseline}-{cfg.split}-{key}-"


def _resumable(cfg: RunConfig, release: Release) -> RunFolder | None:
    """With ``--resume``, the newest unfinished run folder of this configuration, if any.

    Without it a new run starts, but a killed one of the same configuration is pointed out:
    re-running the same command after a kill would otherwise start again from epoch 1 in
    silence and leave the killed folder behind.
    """
    for d in sorted(RunFolder.runs_dir(cfg.out).glob(f"{_prefix(cfg, release)}*"), reverse=True):
        folder = RunFolder(d)
        if folder.is_finished:
            continue
        try:
            state = TrainState.load(folder.state_file)
        except HarnessError:
            if cfg.resume:  # asked to resume a damaged state: the error names it
                raise
            continue  # a damaged leftover never stops a new run
        if state is None:
            continue
        if cfg.resume:
            err.print(f"Resuming {d}")
            return folder
        err.print(f"note: {d} is an unfinished run of this configuration (stopped after "
                  f"epoch {state.epoch}); this run starts anew, --resume would continue it")
        return None
    return None


def recipe_hash(cfg: RunConfig) -> str:
    """The config hash without the training seed: runs that differ only in their seed share
    it, so a leaderboard can pool them (``harness leaderboard --over-seeds``)."""
    identity = cfg.identity()
    identity["train"].pop("seed")
    return config_hash(identity)


def _new_folder(cfg: RunConfig, release: Release, split: Split) -> RunFolder:
    """A new run folder holding the run's config and split."""
    return start(cfg.out, _prefix(cfg, release), dataclasses.asdict(cfg), split.to_dict())


def _info(cfg: RunConfig, release: Release, split: Split, sources: dict[str, FeatureSource],
          window: str, model: torch.nn.Module, best_epoch: int | None, seconds: float,
          clock: StageClock, recipe_ran: bool) -> RunInfo:
    """``run.json``: where the run's numbers came from (``recipe_ran``: the fusion recipe
    trained the model, so a recipe off the default is recorded with the features)."""
    default = RunConfig(cfg.baseline, task=cfg.task).train  # the task's (MTL: every image)
    features = _features(sources, cfg.features) | (_training(cfg.train, default)
                                                   if recipe_ran else {})
    return RunInfo(
        kind=TRAINED, baseline=cfg.baseline, split=split.name, dataset=release.dataset,
        data_root=str(release.root), data_fingerprint=release.fingerprint,
        config_hash=config_hash(cfg.identity()), seed=cfg.train.seed, recipe=recipe_hash(cfg),
        features=features, window=window, git_commit=git_commit(),
        torch=torch.__version__, seconds=round(seconds, 2), best_epoch=best_epoch,
        parameters=count_parameters(model), stages=tuple(clock.records),
        peak_rss_anon_mb=clock.peak_mb(), ranks=distributed.world_size(), task=cfg.task)


def _with_provenance(info: RunInfo, release: Release, split: Split,
                     sources: dict[str, FeatureSource], stage) -> RunInfo:
    """``info`` with the digest and maker of the stage-1 model and each feature set read."""
    names = [*split.train, *split.val]
    if release.layout.template is not None:
        names += list(release.template.names)
    return dataclasses.replace(info, stage1_model=stage.provenance if stage is not None else None,
                               feature_sets=feature_provenance(sources, names))


def _features(sources: dict[str, FeatureSource], cfg: FeatureConfig) -> dict[str, str]:
    """What made each feature set: each extractor's label (the face backbone, with how its
    training names' features were fitted; the audio extractor; OpenPose), or an import's name."""
    return feature_record(sources, cfg)


#: Training settings that never make another system: the seed (``--over-seeds`` pools
#: seeds), where it runs, and how large the prediction batches are.
_NOT_A_RECIPE = ("seed", "device", "eval_batch_size")


def _training(train: TrainConfig, default: TrainConfig | None = None) -> dict[str, str]:
    """The fusion recipe where it is not the default, e.g. ``{"training": "lr 0.02, optimizer
    sgd, batch_size 4"}``: a baseline trained another way is another system, so the
    leaderboard gives it a row (and a Training column) of its own; default runs say nothing,
    as before."""
    default, changed = default or TrainConfig(), []
    for f in dataclasses.fields(train):
        value = getattr(train, f.name)
        if f.name not in _NOT_A_RECIPE and value != getattr(default, f.name):
            changed.append(f"{f.name} {value:g}" if isinstance(value, float)
                           else f"{f.name} {value}")
    return {"training": ", ".join(changed)} if changed else {}
