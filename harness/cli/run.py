"""``harness run``: a baseline on a split (or all six, then Table 1), from options or a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli import options as o
from harness.console import out


def run_cmd(
    ctx: typer.Context,
    baseline: Annotated[str | None, typer.Argument(
        help="Registered baseline name (or the --config file's baseline).")] = None,
    split: Annotated[str, typer.Option(help="official, fold1..fold5, or all.")] = "official",
    config: Annotated[str | None, typer.Option(
        "--config", help="TOML or JSON file of run settings (a run folder's config.json works),"
        " or a recipe: its file or name (harness recipes lists them); options typed on the "
        "command line override its keys.")] = None,
    data: o.DataOpt = None,
    workdir: o.OutOpt = Path("harness-out"),
    device: o.DeviceOpt = "auto",
    epochs: Annotated[int | None, typer.Option(min=1, help="Max fusion epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Windows per step.")] = None,
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
    face_epochs: Annotated[int | None, typer.Option(min=1, help="Max stage-1 face epochs.")]
    = None,
    face_seed: o.FaceSeedOpt = None,
    feature_threads: o.FeatureThreadsOpt = None,
    backbone: o.BackboneOpt = "light",
    face_weights: o.FaceWeightsOpt = None,
    audio: o.AudioOpt = "logmel",
    audio_weights: o.AudioWeightsOpt = None,
    baseline_module: o.BaselineModuleOpt = None,
    resume: Annotated[bool, typer.Option(help="Continue a killed run from its last epoch.")]
    = False,
    threads: o.ThreadsOpt = None,
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
        min=1, help="Frames per chunk of a sequence baseline (dense_sequence: 300).")] = None,
    workers: o.WorkersOpt = None,
    quiet: o.QuietOpt = False,
    face_oof: o.FaceOofOpt = None,
    allow_missing_faces: o.AllowMissingFacesOpt = False,
    folds: o.FoldsOpt = None,
    finetune: o.FinetuneOpt = None,
    finetune_blocks: o.FinetuneBlocksOpt = "all",
    layer_decay: o.LayerDecayOpt = 1.0,
    image_set: o.ImageSetOpt = "cropped_aligned",
    onnx_size: o.OnnxSizeOpt = None,
    onnx_channels: o.OnnxChannelsOpt = "rgb",
    onnx_mean: o.OnnxMeanOpt = None,
    onnx_std: o.OnnxStdOpt = None,
    hf_pool: o.HfPoolOpt = None,
    hf_layers: o.HfLayersOpt = "last",
    hf_audio_layers: o.HfAudioLayersOpt = "last",
    hf_audio_rows: o.HfAudioRowsOpt = "frames",
    track: o.TrackOpt = None,
    task: o.TaskOpt = None,
    va_loss: o.VaLossOpt = None,
    mtl_weighting: o.MtlWeightingOpt = None,
    face_from: o.FaceFromOpt = None,
) -> None:
    """Run a baseline on a split: features, training, metrics, predictions, leaderboard row.
    Several GPUs or processes: torchrun --nproc_per_node N -m harness run ..."""
    from harness.api.common import is_main
    from harness.api.run import run
    from harness.cli.tables import run_report

    def show(result) -> None:
        if is_main():
            out.print(run_report(result))

    done = run(**o.given(ctx), on_result=show)
    if done.derived is not None:
        from harness.postprocess.comparison import derived_report

        for part in derived_report(done.derived, done.release):
            out.print(part, soft_wrap=isinstance(part, str), markup=False)
    if done.table1 is not None:
        from leaderboard.render import rich_table

        out.print(rich_table(done.table1))
