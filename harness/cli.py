"""The ``harness`` command: a thin typer layer over the Python API.

Every expected failure is a ``HarnessError``: printed as one red line, exit code 2, no traceback
unless ``--debug``.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from harness.console import err, out
from harness.errors import HarnessError
from harness.version import __version__

app = typer.Typer(
    help="Open harness for the Aff-Wild2 EXPR challenge of ABAW: data, features, baselines, "
    "submissions, leaderboards, benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Inspect a release or generate the embedded synthetic corpus.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", envvar="ABAW_DATA",
                 help="Root of an Aff-Wild2 release; default: the embedded synthetic corpus."),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"abaw-harness {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Options for every command (``--debug`` is read by ``main``)."""


def load(data: Path | None):
    from harness.data.release import load_release

    with warnings.catch_warnings():
        if not _main_rank():  # every torchrun rank reads the same release: rank 0 reports it
            warnings.simplefilter("ignore")
        return load_release(data)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (no audio stream, corrupt jpgs, duplicates) as one yellow line each."""
    err.print(f"[yellow]warning:[/yellow] {message}", soft_wrap=True)


@data_app.command("synth")
def data_synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the corpus into.")]
    = Path("synth-corpus"),
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same corpus.")] = 0,
    videos: Annotated[int | None, typer.Option(help="Number of videos (all splits).")] = None,
    seconds: Annotated[float | None, typer.Option(help="Seconds per video.")] = None,
    annotations_only: Annotated[bool, typer.Option(
        "--annotations-only", help="Only annotation files, test list and template.")] = False,
    real_scale: Annotated[bool, typer.Option(
        "--real-scale", help="With --annotations-only or --features-only: the real release's "
        "sizes (1.56 M labelled lines, 1.02 M test rows); else 100x smaller.")] = False,
    features_only: Annotated[bool, typer.Option(
        "--features-only", help="Annotations plus per-frame face (256-d), audio (1024-d) and "
        "pose (36-d) feature files for harness extract --from, no images: training at scale "
        "without media.")] = False,
) -> None:
    """Generate a synthetic corpus laid out exactly like the real release."""
    from harness.data import synth

    if features_only:
        from harness.data.synth.scale_features import synthesize_features_only

        summary = synthesize_features_only(out_dir, seed=seed, real_scale=real_scale)
    elif annotations_only:
        summary = synth.synthesize_annotations_only(out_dir, seed=seed, real_scale=real_scale)
    else:
        kwargs = {k: v for k, v in (("videos", videos), ("seconds", seconds)) if v is not None}
        summary = synth.synthesize(out_dir, seed=seed, **kwargs)
    out.print(
        f"Wrote {summary.root}: {summary.n_train} train, {summary.n_val} validation, "
        f"{summary.n_test} test names; {summary.n_labelled:,} labelled of {summary.n_frames:,} "
        f"frames; {summary.bytes_on_disk / 1e6:.1f} MB in {summary.seconds_taken:.1f} s"
    )


@data_app.command("info")
def data_info(data: DataOpt = None) -> None:
    """Summarise a release: edition, folders found, names, frames, test set, coverage."""
    from harness.reports import coverage_report, release_table

    release = load(data)
    out.print(release_table(release))
    for part in coverage_report(release):
        out.print(part, soft_wrap=isinstance(part, str))


FoldsOpt = Annotated[Path | None, typer.Option(
    "--folds", help="Split membership file (harness splits --write): splits are rebuilt from "
    "it, never recomputed.")]
FaceOofOpt = Annotated[int | None, typer.Option(
    "--face-oof", metavar="K", help="Training names' face features cross-fitted over K "
    "recording groups (0: in-sample, the paper's and the default).")]
AllowMissingFacesOpt = Annotated[bool, typer.Option(
    "--allow-missing-faces", help="Run even if some names have no face image (their face "
    "features are zeros, flagged; one warning per name) instead of stopping.")]


@app.command("splits")
def splits_cmd(
    data: DataOpt = None,
    write: Annotated[Path | None, typer.Option(
        help="Write fold membership (JSON) here for audit and exact rebuilds.")] = None,
    folds: FoldsOpt = None,
) -> None:
    """Show the official split and the five seeded folds (grouped by recording), per class."""
    from harness.data.splits import SPLIT_NAMES, get_split, read_membership
    from harness.reports import splits_table, write_membership

    release = load(data)
    if folds is not None:
        splits = list(read_membership(folds, release).values())
    else:
        splits = [get_split(release, n) for n in SPLIT_NAMES]
    out.print(splits_table(release, splits))
    if write is not None:
        write_membership(write, release, splits)
        out.print(f"Fold membership written to {write}")


OutOpt = Annotated[Path, typer.Option("--workdir", envvar="HARNESS_WORKDIR",
                                       help="Working folder for runs, leaderboard, submissions.")]
DeviceOpt = Annotated[str, typer.Option(help="auto (CUDA if present), cpu or cuda[:N].")]


def _feature_config(device: str, backbone: str, face_weights: Path | None, audio: str,
                    audio_weights: Path | None, face_epochs: int | None,
                    face_oof: int | None = None, allow_missing_faces: bool = False,
                    workers: int | None = None, frozen: dict | None = None):
    from harness.features.extract import FeatureConfig
    from harness.features.face_stage import FaceConfig

    face = FaceConfig(backbone=backbone, weights=str(face_weights) if face_weights else None,
                      num_workers=workers, **_frozen_options(backbone, **(frozen or {})))
    if face_epochs is not None:
        face.max_epochs = face_epochs
    cfg = FeatureConfig(face=face, audio=audio, device=device,
                        audio_weights=str(audio_weights) if audio_weights else None,
                        allow_missing_faces=allow_missing_faces)
    if face_oof is not None:
        cfg.face_oof = face_oof
    return cfg


BackboneOpt = Annotated[str, typer.Option(
    "--backbone", help="Face backbone: light (default), emonet, or onnx:PATH (a frozen ONNX "
    "model run with ONNX Runtime; needs abaw-harness\\[onnx]).")]
FinetuneOpt = Annotated[bool | None, typer.Option(
    "--finetune/--no-finetune", help="Fine-tune the face backbone in stage 1, or use it "
    "frozen (features straight from it; --no-finetune needs --face-weights). Default: "
    "fine-tune light and emonet; an onnx: backbone is always frozen.")]
ImageSetOpt = Annotated[str, typer.Option(
    "--image-set", help="Face images: cropped_aligned (default) or cropped (the release's "
    "non-aligned crops).")]
OnnxSizeOpt = Annotated[int | None, typer.Option(
    "--onnx-size", help="onnx: input side in pixels (default: the model's static side, "
    "else 224).")]
OnnxChannelsOpt = Annotated[str, typer.Option(
    "--onnx-channels", help="onnx: channel order the model expects, rgb or bgr.")]
OnnxMeanOpt = Annotated[str | None, typer.Option(
    "--onnx-mean", help="onnx: per-channel mean of pixels/255, e.g. 0.485,0.456,0.406 "
    "(the default, ImageNet's).")]
OnnxStdOpt = Annotated[str | None, typer.Option(
    "--onnx-std", help="onnx: per-channel std, e.g. 0.229,0.224,0.225 (the default).")]


def _frozen_options(backbone: str, finetune: bool | None = None,
                    image_set: str = "cropped_aligned", size: int | None = None,
                    channels: str = "rgb", mean: str | None = None, std: str | None = None
                    ) -> dict:
    """FaceConfig fields of --finetune, --image-set and the --onnx-* options."""
    from harness.features.onnx_backbone import (
        OnnxBackboneConfig,
        import_onnxruntime,
        is_onnx,
        onnx_path,
    )

    if is_onnx(backbone):  # before any data is read: a missing package or file fails fast
        import_onnxruntime()
        onnx_path(backbone)
    onnx = OnnxBackboneConfig(size=size, channels=channels.lower())
    if mean is not None:
        onnx.mean = _triple("--onnx-mean", mean)
    if std is not None:
        onnx.std = _triple("--onnx-std", std)
    if onnx != OnnxBackboneConfig() and not is_onnx(backbone):
        raise HarnessError("--onnx-size, --onnx-channels, --onnx-mean and --onnx-std apply to "
                           f"--backbone onnx:PATH, not {backbone}")
    return {"finetune": finetune, "image_set": image_set, "onnx": onnx}


def _triple(option: str, text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise HarnessError(f"{option} takes 3 numbers separated by commas, not {text!r}") \
            from None
    if len(values) != 3:
        raise HarnessError(f"{option} takes 3 numbers (one a channel), not {text!r}")
    return values  # type: ignore[return-value]
FaceWeightsOpt = Annotated[Path | None, typer.Option(
    "--face-weights", help="Local EmoNet-style state dict (e.g. emonet_8.pth).")]
AudioOpt = Annotated[str, typer.Option("--audio", help="logmel (default), deepspectrum, egemaps.")]
AudioWeightsOpt = Annotated[Path | None, typer.Option(
    "--audio-weights", help="Local DenseNet121 ImageNet state dict for deepspectrum.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", min=0, help="Face-image decoding processes (0: decode in the main process; "
    "default: the CPUs available, at most 8, shared among torchrun ranks).")]


@app.command("extract")
def extract_cmd(
    data: DataOpt = None,
    modality: Annotated[list[str] | None, typer.Option(
        help="face, audio or pose (repeatable); default: all three.")] = None,
    split: Annotated[str, typer.Option(help="Split whose face model extracts faces.")]
    = "official",
    shard: Annotated[str | None, typer.Option(
        help="i/n: only the i-th of n video shards (cluster job arrays).")] = None,
    device: DeviceOpt = "auto",
    backbone: BackboneOpt = "light",
    face_weights: FaceWeightsOpt = None,
    audio: AudioOpt = "logmel",
    audio_weights: AudioWeightsOpt = None,
    source: Annotated[Path | None, typer.Option(
        "--from", help="Import precomputed features from this folder (<name>.npy per frame, "
        "or <name>.npz with feat and frame or time) instead of extracting.")] = None,
    name: Annotated[str | None, typer.Option(
        "--as", help="With --from: the name of the imported feature set (e.g. hsemotion).")]
    = None,
    face_oof: FaceOofOpt = None,
    allow_missing_faces: AllowMissingFacesOpt = False,
    folds: FoldsOpt = None,
    workers: WorkersOpt = None,
    finetune: FinetuneOpt = None,
    image_set: ImageSetOpt = "cropped_aligned",
    onnx_size: OnnxSizeOpt = None,
    onnx_channels: OnnxChannelsOpt = "rgb",
    onnx_mean: OnnxMeanOpt = None,
    onnx_std: OnnxStdOpt = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Extract and cache face, audio and pose features (once; re-runs do no work), or import
    features computed elsewhere (--from DIR --as NAME)."""
    from harness.data.splits import get_split
    from harness.features.extract import all_names, extract_all, shard_names
    from harness.features.modalities import MODALITIES

    if (source is None) != (name is None):
        raise HarnessError("--from DIR and --as NAME go together")
    cfg = _feature_config(device, backbone, face_weights, audio, audio_weights, None, face_oof,
                          allow_missing_faces, workers,
                          frozen=dict(finetune=finetune, image_set=image_set, size=onnx_size,
                                      channels=onnx_channels, mean=onnx_mean, std=onnx_std))
    release = load(data)
    if source is not None:
        from harness.features.imported import import_features

        done = import_features(release, source, name, names=all_names(release), quiet=quiet)
        out.print(f"Imported {done.name!r}: {done.n_names} names, {done.n_rows:,} {done.kind} "
                  f"rows of {done.dim} features, cached in {done.cache_dir}", soft_wrap=True)
        return
    names = shard_names(all_names(release), _parse_shard(shard))
    mods = tuple(modality) if modality else MODALITIES
    caches, _ = extract_all(release, get_split(release, split, membership=folds), mods, cfg,
                            names=names, quiet=quiet or not _main_rank())
    for m, cache in caches.items() if _main_rank() else ():
        out.print(f"{m:>5}: {len(names)} names cached in {cache.dir} "
                  f"({cache.size_bytes() / 1e6:.1f} MB)", soft_wrap=True)


def _main_rank() -> bool:
    """False on the other ranks of a torchrun job: only rank 0 prints results."""
    from harness import distributed

    return distributed.is_main()


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise HarnessError(f"--shard takes i/n (e.g. 2/8), not {text!r}") from None
    if not 1 <= i <= n:
        raise HarnessError(f"--shard {text}: need 1 <= i <= n")
    return i, n


@app.command("baselines")
def baselines_cmd(
    baseline_module: Annotated[list[str] | None, typer.Option(
        help="Import this module (or .py file) first to register your own baselines.")] = None,
) -> None:
    """List registered baselines with their modalities and parameter counts."""
    from harness.reports import baselines_table

    _load_user_modules(baseline_module)
    out.print(baselines_table())


def _load_user_modules(modules: list[str] | None) -> None:
    from baselines import load_baseline_module

    if modules and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: modules beside the user
    for m in modules or []:
        names = load_baseline_module(m)
        err.print(f"Registered from {m}: {', '.join(names)}")


@app.command("run")
def run_cmd(
    baseline: Annotated[str, typer.Argument(help="Registered baseline name.")],
    split: Annotated[str, typer.Option(help="official, fold1..fold5, or all.")] = "official",
    data: DataOpt = None,
    out_dir: OutOpt = Path("harness-out"),
    device: DeviceOpt = "auto",
    epochs: Annotated[int | None, typer.Option(help="Max fusion epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Windows per step.")] = None,
    frame_stride: Annotated[int | None, typer.Option(
        help="Train the fusion stage on one labelled frame in N per epoch (default 5).")] = None,
    cpu_bf16: Annotated[bool, typer.Option(
        "--cpu-bf16", help="bf16 autocast for the fusion stage on the CPU (fast where the "
        "CPU has native bf16, e.g. AVX512-BF16/AMX; off: fp32).")] = False,
    lr: Annotated[float | None, typer.Option(
        help="Fusion learning rate (default 1e-3 with AdamW; the paper's is 0.02).")] = None,
    optimizer: Annotated[str, typer.Option(
        help="Fusion optimizer: adamw, or sgd (momentum 0.9; with --lr 0.02 --batch-size 4 "
        "our reading of the paper's recipe).")] = "adamw",
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
    face_epochs: Annotated[int | None, typer.Option(help="Max stage-1 face epochs.")] = None,
    backbone: BackboneOpt = "light",
    face_weights: FaceWeightsOpt = None,
    audio: AudioOpt = "logmel",
    audio_weights: AudioWeightsOpt = None,
    baseline_module: Annotated[list[str] | None, typer.Option(
        help="Import this module (or .py file) first to register your own baselines.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue a killed run from its last epoch.")]
    = False,
    threads: Annotated[int | None, typer.Option(
        help="CPU threads (default: torch's; 1 is often faster on a shared machine).")] = None,
    face_features: Annotated[str | None, typer.Option(
        help="Feature set the face inputs read: an imported one (harness extract --from DIR "
        "--as NAME); default: the harness's own face model.")] = None,
    audio_features: Annotated[str | None, typer.Option(
        help="Feature set the audio inputs read (default: --audio's extractor).")] = None,
    pose_features: Annotated[str | None, typer.Option(
        help="Feature set the pose inputs read (default: OpenPose).")] = None,
    window_frames: Annotated[int | None, typer.Option(
        help="Frames per window of a dense-window baseline (dense_temporal: 75).")] = None,
    chunk_frames: Annotated[int | None, typer.Option(
        help="Frames per chunk of a sequence baseline (dense_sequence: 300).")] = None,
    workers: WorkersOpt = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    face_oof: FaceOofOpt = None,
    allow_missing_faces: AllowMissingFacesOpt = False,
    folds: FoldsOpt = None,
    finetune: FinetuneOpt = None,
    image_set: ImageSetOpt = "cropped_aligned",
    onnx_size: OnnxSizeOpt = None,
    onnx_channels: OnnxChannelsOpt = "rgb",
    onnx_mean: OnnxMeanOpt = None,
    onnx_std: OnnxStdOpt = None,
) -> None:
    """Run a baseline on a split: features, training, metrics, predictions, leaderboard row.
    Several GPUs or processes: torchrun --nproc_per_node N -m harness run ..."""
    from harness.fusion_stage import TrainConfig
    from harness.reports import run_report
    from harness.runs import RunConfig, run_config

    _load_user_modules(baseline_module)
    tcfg = TrainConfig(seed=seed, cpu_bf16=cpu_bf16, optimizer=optimizer)
    for key, value in (("max_epochs", epochs), ("batch_size", batch_size), ("lr", lr),
                       ("frame_stride", frame_stride)):
        if value is not None:
            setattr(tcfg, key, value)
    fcfg = _feature_config(device, backbone, face_weights, audio, audio_weights, face_epochs,
                           face_oof, allow_missing_faces, workers,
                           frozen=dict(finetune=finetune, image_set=image_set, size=onnx_size,
                                       channels=onnx_channels, mean=onnx_mean, std=onnx_std))
    inputs = {slot: name for slot, name in (("face", face_features), ("audio", audio_features),
                                            ("pose", pose_features)) if name}
    splits = _splits_of(split)
    release = load(data)
    for s in splits:
        cfg = RunConfig(baseline=baseline, split=s, data=data, out=out_dir, features=fcfg,
                        train=tcfg, resume=resume, quiet=quiet, threads=threads, inputs=inputs,
                        window_frames=window_frames, chunk_frames=chunk_frames, folds=folds)
        result = run_config(cfg, release)
        if _main_rank():
            out.print(run_report(result))
    if len(splits) > 1 and _main_rank():
        from leaderboard.report import table1_for

        out.print(table1_for(out_dir, baseline))


def _splits_of(split: str) -> list[str]:
    from harness.data.splits import SPLIT_NAMES

    if split == "all":
        return list(SPLIT_NAMES)
    if split not in SPLIT_NAMES:
        raise HarnessError(f"unknown split {split!r}; choose all or one of "
                           f"{', '.join(SPLIT_NAMES)}")
    return [split]


@app.command("submit")
def submit_cmd(
    run: Annotated[str | None, typer.Argument(
        help="Run folder or id; default: the best run on the official split.")] = None,
    data: DataOpt = None,
    out_dir: OutOpt = Path("harness-out"),
    template: Annotated[Path | None, typer.Option(help="Template; default: the release's.")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Submission file to write.")] = None,
    zip: Annotated[bool, typer.Option("--zip", help="Also write a .zip of the file.")] = False,
) -> None:
    """Write the ABAW submission file of a run (every template frame labelled), validated."""
    from harness.publish import submit

    release = load(data)
    done = submit(release, out_dir, run, template=template, out=out, zip=zip)
    _print(f"Wrote {done.path} ({done.n_rows:,} rows) from {done.run_dir.name}; it validates.")
    if zip:
        from submissions import zip_path

        _print(f"Zipped: {zip_path(done.path)}")
    if done.test_scores is not None:
        s = done.test_scores
        _print(f"Test macro F1 on the embedded corpus's hidden labels: {100 * s.macro_f1:.1f} "
               f"(accuracy {100 * s.accuracy:.1f}, {s.n_frames:,} frames)")


def _print(text: str) -> None:
    out.print(text, soft_wrap=True)


@app.command("validate")
def validate_cmd(
    file: Annotated[Path, typer.Argument(help="Submission file to check.")],
    template: Annotated[Path | None, typer.Option(help="Template; default: the release's.")]
    = None,
    data: DataOpt = None,
) -> None:
    """Check any submission file: header, rows, order, names, labels 0..7, duplicates."""
    from harness.publish import validate

    release = None if template is not None else load(data)
    problems = validate(file, release, template)
    if not problems:
        _print(f"{file}: valid")
        return
    for p in problems:
        where = f"{file}:{p.line}" if p.line is not None else str(file)
        err.print(f"[red]{where}[/red]: {p.message}", soft_wrap=True)
    err.print(f"[bold red]{file}: {len(problems)} problem(s) shown[/bold red]")
    raise typer.Exit(1)


WindowOpt = Annotated[float, typer.Option(
    "--window", help="Window in seconds (full width), converted with each video's own fps.")]
SweepOpt = Annotated[bool, typer.Option(
    "--sweep", help="Score a grid of filters and windows on validation and keep the best "
    "(out of fold on fold sets); saves sweep.csv and sweep.png.")]
MethodsOpt = Annotated[str | None, typer.Option(
    help="Comma-separated filters for --sweep; default: all registered.")]
WindowsOpt = Annotated[str | None, typer.Option(
    help="Comma-separated windows (s) for --sweep; default: 0.25,0.5,1,1.5,2,3,4,6,8,12.")]
ExcludeOpt = Annotated[bool, typer.Option(
    "--exclude-imputed", help="Only frames whose face was observed enter a window.")]
BiasOpt = Annotated[bool, typer.Option(
    "--tune-bias", help="Per-class logit offsets chosen for macro F1 on validation (marked "
    "\\[val-tuned]; tuned out of fold on fold sets).")]
TimelinesOpt = Annotated[bool, typer.Option(
    help="Per-video timeline plots of validation (truth, raw, post-processed).")]
TestTimelinesOpt = Annotated[bool, typer.Option(
    "--test-timelines", help="Also plot a timeline per test video.")]


def _post_config(method: str | None, window: float, sweep: bool, methods: str | None,
                 windows: str | None, exclude_imputed: bool, tune_bias: bool):
    from harness.postprocess import PostConfig
    from harness.postprocess.sweep import DEFAULT_WINDOWS

    try:
        grid = tuple(float(w) for w in windows.split(",")) if windows else DEFAULT_WINDOWS
    except ValueError:
        raise HarnessError(f"--windows takes seconds separated by commas, not {windows!r}") \
            from None
    return PostConfig(method=None if sweep else method, window=window, sweep=sweep,
                      methods=tuple(methods.split(",")) if methods else None, windows=grid,
                      exclude_imputed=exclude_imputed, tune_bias=tune_bias)


def _where(data: Path | None, out_dir: Path, timelines: bool, test_timelines: bool,
           quiet: bool):
    from harness.postprocess import TimelineConfig, Where

    return Where(workdir=out_dir, data=data, timelines=TimelineConfig(timelines, test_timelines),
                 quiet=quiet)


def _print_derived(derived, where) -> None:
    from harness.postprocess.report import derived_report

    for part in derived_report(derived, where.load()):
        out.print(part, soft_wrap=isinstance(part, str), markup=False)


@app.command("smooth")
def smooth_cmd(
    run: Annotated[str, typer.Argument(help="Run folder or id (with saved logits).")],
    method: Annotated[str, typer.Option(
        help="Filter: mean, median, gaussian, hamming or mode (or a registered one).")]
    = "median",
    window: WindowOpt = 3.4,
    sweep: SweepOpt = False,
    methods: MethodsOpt = None,
    windows: WindowsOpt = None,
    exclude_imputed: ExcludeOpt = False,
    tune_bias: BiasOpt = False,
    timelines: TimelinesOpt = True,
    test_timelines: TestTimelinesOpt = False,
    data: DataOpt = None,
    out_dir: OutOpt = Path("harness-out"),
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Temporal smoothing of a run's saved outputs, as a derived run (validation and test)."""
    from harness.postprocess import smooth

    cfg = _post_config(method, window, sweep, methods, windows, exclude_imputed, tune_bias)
    where = _where(data, out_dir, timelines, test_timelines, quiet)
    _print_derived(smooth(run, cfg, where), where)


@app.command("ensemble")
def ensemble_cmd(
    runs: Annotated[list[str] | None, typer.Argument(
        help="Runs of one split (e.g. seeds), or of fold1..fold5 (pooled out-of-fold).")]
    = None,
    baseline: Annotated[list[str] | None, typer.Option(
        help="Pick runs of this baseline from the results store instead (repeatable).")]
    = None,
    split: Annotated[str, typer.Option(
        help="With --baseline: all (the latest complete fold set) or one split (the latest "
        "run of each configuration, e.g. seeds).")] = "all",
    combine: Annotated[str, typer.Option(
        help="logits (mean of logits), probs (mean of probabilities) or vote (labels).")]
    = "logits",
    smooth: Annotated[str | None, typer.Option(
        "--smooth", help="Then smooth with this filter (mean, median, gaussian, hamming, "
        "mode).")] = None,
    window: WindowOpt = 3.4,
    sweep: SweepOpt = False,
    methods: MethodsOpt = None,
    windows: WindowsOpt = None,
    exclude_imputed: ExcludeOpt = False,
    tune_bias: BiasOpt = False,
    timelines: TimelinesOpt = True,
    test_timelines: TestTimelinesOpt = False,
    data: DataOpt = None,
    out_dir: OutOpt = Path("harness-out"),
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Average (or vote) several runs' outputs, optionally smoothed, as a derived run."""
    from harness.postprocess import ensemble

    cfg = _post_config(smooth, window, sweep, methods, windows, exclude_imputed, tune_bias)
    where = _where(data, out_dir, timelines, test_timelines, quiet)
    derived = ensemble(runs or (), baselines=baseline or (), split=split, combine=combine,
                       post=cfg, where=where)
    _print_derived(derived, where)


@app.command("leaderboard")
def leaderboard_cmd(
    out_dir: OutOpt = Path("harness-out"),
    by: Annotated[str, typer.Option(
        help="baseline: Table 2 (one row per baseline and feature configuration); split: "
        "Table 1 (one baseline across official and fold1..fold5).")] = "baseline",
    split: Annotated[str, typer.Option(help="Split for Table 2 and --compare.")] = "official",
    baseline: Annotated[str | None, typer.Option(help="Baseline for --by split.")] = None,
    dataset: Annotated[str | None, typer.Option(
        help="Data set (e.g. synth-seed0, affwild2); default: the newest result's.")] = None,
    fingerprint: Annotated[str | None, typer.Option(
        help="Data fingerprint (harness data info shows a release's); default: the newest "
        "result's. Tables and comparisons never mix two.")] = None,
    features: Annotated[list[str] | None, typer.Option(
        help="Only runs with this feature setting, KEY=VALUE (repeatable), e.g. face=emonet.")]
    = None,
    fmt: Annotated[str, typer.Option("--format", help="rich, markdown, latex, csv or json.")]
    = "rich",
    compare: Annotated[tuple[str, str] | None, typer.Option(
        help="Paired bootstrap p-value between two baselines (their latest runs) or two run "
        "ids on --split.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Draw macro F1 with 95 % CIs to this PNG.")]
    = None,
    ci: Annotated[bool, typer.Option(help="Show 95 % bootstrap CIs (videos resampled).")]
    = True,
    over_seeds: Annotated[bool, typer.Option(
        "--over-seeds", help="Table 2 rows as mean ± std over the training seeds (--seed) of "
        "each baseline's latest recipe.")] = False,
) -> None:
    """Print the paper's Table 2 (or Table 1 with --by split) from the results store."""
    from leaderboard.queries import parse_features
    from leaderboard.report import leaderboard_output

    parts = leaderboard_output(out_dir, by=by, split=split, baseline=baseline, dataset=dataset,
                               fingerprint=fingerprint, features=parse_features(features),
                               fmt=fmt, compare=compare, plot=plot, ci=ci,
                               over_seeds=over_seeds)
    for part in parts:
        out.print(part) if not isinstance(part, str) else print(part)


@app.command("bench")
def bench_cmd(
    baselines: Annotated[str | None, typer.Option(
        help="Comma-separated baselines; default: all registered.")] = None,
    batch_sizes: Annotated[str, typer.Option(help="Comma-separated batch sizes.")]
    = "1,32,256,1024",
    device: DeviceOpt = "auto",
    amp: Annotated[bool, typer.Option(help="bf16/fp16 autocast on CUDA.")] = False,
    compile: Annotated[bool, typer.Option("--compile", help="torch.compile the models.")]
    = False,
    repeats: Annotated[int, typer.Option(help="Timed runs per row (after warm-up).")] = 10,
    threads: Annotated[int | None, typer.Option(
        help="CPU threads (1 is often faster on a shared machine).")] = None,
    backbones: Annotated[str | None, typer.Option(
        help="Comma-separated face backbones to time; default: all.")] = None,
    quick: Annotated[bool, typer.Option(help="Tiny sizes: a smoke test of the bench.")] = False,
    json_out: Annotated[Path, typer.Option("--json", help="Where to save all figures.")]
    = Path("harness-out/bench.json"),
    fmt: Annotated[str, typer.Option("--format", help="rich or markdown.")] = "rich",
) -> None:
    """Throughput of each baseline (inference and training) and face backbone, vs peak."""
    from harness.bench import BenchConfig, bench_table, run_bench, write_bench_json

    cfg = BenchConfig(
        baselines=baselines.split(",") if baselines else None,
        batch_sizes=tuple(int(b) for b in batch_sizes.split(",")),
        device=device, amp=amp, compile=compile, repeats=repeats, threads=threads,
        backbones=backbones.split(",") if backbones else None, quick=quick,
    )
    result = run_bench(cfg)
    write_bench_json(result, json_out)
    table = bench_table(result, fmt)
    out.print(table) if fmt == "rich" else print(table)
    _print(f"All figures saved to {json_out}")


def main() -> None:
    """Console entry point: run the app, turning expected failures into one line and exit 2."""
    debug = "--debug" in sys.argv or os.environ.get("HARNESS_DEBUG") == "1"
    if not debug:
        warnings.showwarning = _show_warning
    try:
        app()
    except HarnessError as exc:
        if debug:
            raise
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}")  # [onnx], [x]: as is
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("[red]interrupted[/red]")
        sys.exit(130)


if __name__ == "__main__":
    main()
