"""``harness extract``: extract and cache features, or import a peer's (--from DIR --as NAME)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli import options as o
from harness.console import out


def extract_cmd(
    ctx: typer.Context,
    data: o.DataOpt = None,
    config: o.ConfigOpt = None,
    modality: Annotated[list[str] | None, typer.Option(
        help="face, audio or pose (repeatable); default: all three.")] = None,
    split: Annotated[str, typer.Option(help="Split whose face model extracts faces.")]
    = "official",
    shard: Annotated[str | None, typer.Option(
        help="i/n: only the i-th of n video shards (cluster job arrays).")] = None,
    device: o.DeviceOpt = "auto",
    backbone: o.BackboneOpt = "light",
    face_weights: o.FaceWeightsOpt = None,
    audio: o.AudioOpt = "logmel",
    audio_weights: o.AudioWeightsOpt = None,
    import_from: Annotated[Path | None, typer.Option(
        "--from", help="Import precomputed features from this folder (<name>.npy per frame, "
        "or <name>.npz with feat and frame or time) instead of extracting.")] = None,
    import_as: Annotated[str | None, typer.Option(
        "--as", help="With --from: the name of the imported feature set (e.g. hsemotion).")]
    = None,
    face_oof: o.FaceOofOpt = None,
    allow_missing_faces: o.AllowMissingFacesOpt = False,
    folds: o.FoldsOpt = None,
    task: o.TaskOpt = None,
    face_from: o.FaceFromOpt = None,
    workers: o.WorkersOpt = None,
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
    quiet: o.QuietOpt = False,
    threads: o.ThreadsOpt = None,
    face_seed: o.FaceSeedOpt = None,
    feature_threads: o.FeatureThreadsOpt = None,
) -> None:
    """Extract and cache face, audio and pose features (once; re-runs do no work), or import
    features computed elsewhere (--from DIR --as NAME)."""
    from harness.api.common import is_main
    from harness.api.extract import extract

    done = extract(**o.given(ctx))
    if done.imported is not None:
        d = done.imported
        o.say(f"Imported {d.name!r}: {d.n_names} names, {d.n_rows:,} {d.kind} rows of {d.dim} "
              f"features, cached in {d.cache_dir}")
        return
    for m, cache in done.caches.items() if is_main() else ():
        out.print(f"{m:>5}: {len(done.names)} names cached in {cache.dir} "
                  f"({cache.size_bytes() / 1e6:.1f} MB)", soft_wrap=True)
