"""Throughput of HF extractors on this machine: ``python -m harness.features.huggingface.bench``.

Builds random models of the published sizes (no weights needed: speed does not depend on their
values) into a temp folder with ``save_pretrained``, loads them through the harness as
``hf:PATH`` and times the harness's own calls: a DINOv2 ViT-S/14 (12 layers, 384 wide, 6 heads,
patch 14, 224 input) on 112-pixel uint8 faces (preprocessing included) in images/s, and a
wav2vec2-base (12 layers, 768 wide, the published conv stack) in audio seconds per second.
``python -m harness.throughput.huggingface`` times the same models as ``harness bench --hf``
rows (per decoding-worker count, with FLOPs per item and the fraction of the matmul peak).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from harness.device import resolve_device
from harness.features.audio.windows import AudioTrack
from harness.features.huggingface import create_hf_audio_extractor, create_hf_backbone
from harness.features.huggingface.loading import import_transformers


def build_models(root: Path) -> dict[str, Path]:
    t = import_transformers()
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vit = t.Dinov2Model(t.Dinov2Config(hidden_size=384, num_hidden_layers=12,
                                           num_attention_heads=6, intermediate_size=1536,
                                           patch_size=14, image_size=224))
        vit.save_pretrained(root / "dinov2-vits14")
        t.BitImageProcessor(size={"shortest_edge": 256}, crop_size={"height": 224, "width": 224},
                            do_center_crop=True, resample=3,
                            image_mean=[0.485, 0.456, 0.406],
                            image_std=[0.229, 0.224, 0.225]).save_pretrained(root / "dinov2-vits14")
        w2v = t.Wav2Vec2Model(t.Wav2Vec2Config())  # the defaults are wav2vec2-base's sizes
        w2v.save_pretrained(root / "wav2vec2-base")
        t.Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(root / "wav2vec2-base")
    return {"image": root / "dinov2-vits14", "audio": root / "wav2vec2-base"}


def time_images(folder: Path, device: torch.device, batch: int, batches: int) -> float:
    backbone = create_hf_backbone(f"hf:{folder}", device)
    faces = torch.randint(0, 256, (batch, 112, 112, 3), dtype=torch.uint8)
    backbone.features(faces)  # warm-up
    _sync(device)
    start = time.perf_counter()
    for _ in range(batches):
        backbone.features(faces)
    _sync(device)
    return batch * batches / (time.perf_counter() - start)


def time_audio(folder: Path, device: torch.device, seconds: float, reps: int) -> float:
    extractor = create_hf_audio_extractor(f"hf:{folder}", device=str(device))
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(round(seconds * 16000))).astype(np.float32)
    track = AudioTrack(y, 16000, True, seconds)
    extractor.timed(AudioTrack(y[:16000], 16000, True, 1.0))  # warm-up
    _sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        extractor.timed(track)
    _sync(device)
    return seconds * reps / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=8, help="faces per forward pass")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per track")
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        folders = build_models(Path(tmp))
        row = {"device": str(device), "threads": args.threads,
               "load_avg_1min": round(os.getloadavg()[0], 1),
               "dinov2_vits14_images_per_s": round(time_images(
                   folders["image"], device, args.batch, args.batches), 2),
               "wav2vec2_base_audio_s_per_s": round(time_audio(
                   folders["audio"], device, args.seconds, args.reps), 2)}
    print(json.dumps(row))
    return row


if __name__ == "__main__":
    main()
