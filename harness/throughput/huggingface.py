"""Bench rows of Hugging Face models (``harness bench --hf hf:DIR``): how fast the harness turns
faces into ``hf:`` features and audio into ``hf:`` audio features, and how close to the
device's matmul peak that runs.

A vision model gets a ``model`` row (112-pixel uint8 faces already in memory -> features,
the model's preprocessing included) and an ``extract`` row per decoding-worker count (the
harness's face data path: jpgs decoded by the workers, then the model), in images/s. A speech
model (its ``config.json`` holds ``conv_stride``) gets a ``model`` row: a track of noise
through the extractor (normalisation, chunks, model) in audio seconds per second; the harness
decodes audio in one process, so there is no worker count to vary. FLOPs per item (image, or
second of audio) are counted with ``FlopCounterMode`` on the model's forward
(``harness.throughput.flops``: matmuls and convolutions, multiply-add = 2).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from harness.device import autocast
from harness.features.face.images import (
    FaceImages,
    FaceLoader,
    chunks,
    loader_size,
    to_device,
    to_model_input,
)
from harness.features.huggingface.loading import import_transformers

from .datapath import SIZE, write_faces
from .flops import forward_flops
from .models import add_flop_fields, timing_fields
from .timing import peak_memory_mb, reset_peak_memory, sync, time_calls

AUDIO_RATE = "audio_s_per_s"


def is_speech(spec: str) -> bool:
    """A wav2vec2-style speech model (convolution strides in its configuration)."""
    from harness.features.huggingface.loading import read_config_json, resolve_folder

    return "conv_stride" in read_config_json(resolve_folder(spec))


def hf_rows(specs: list[str], device: torch.device, peak: float, *, workers: tuple[int, ...],
            images: int, batch: int, audio_s: float, warmup: int, repeats: int) -> list[dict]:
    """One or more rows per model of ``specs``; a failure is a row with ``error``."""
    from harness.features.huggingface import hf_label

    rows = []
    for spec in specs:
        base = {"model": hf_label(spec)}
        try:
            if is_speech(spec):
                rows.append(base | _audio_row(spec, device, peak, audio_s, warmup, repeats))
            else:
                rows += [base | r for r in _image_rows(spec, device, peak, workers, images,
                                                       batch, warmup, repeats)]
        except Exception as exc:  # noqa: BLE001  (reported in the row)
            rows.append(base | {"kind": "?", "mode": "-", "batch": batch,
                                "error": f"{type(exc).__name__}: {exc}"[:300]})
    return rows


def _image_rows(spec: str, device: torch.device, peak: float, workers: tuple[int, ...],
                images: int, batch: int, warmup: int, repeats: int) -> list[dict]:
    from harness.features.huggingface import create_hf_backbone

    backbone = create_hf_backbone(spec, device)
    faces = torch.randint(0, 256, (batch, SIZE, SIZE, 3), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    pixels = backbone.preprocess(faces[:1].to(device))
    flops = forward_flops(backbone.model, lambda: backbone.forward(pixels), device)
    base = {"kind": "image", "input_size": SIZE, "batch": batch}
    reset_peak_memory(device)
    timing = time_calls(lambda: backbone.features(faces), device, warmup, repeats)
    model_row = base | {"mode": "model", "workers": None, "peak_mem_mb":
                        round(peak_memory_mb(device), 1)} | timing_fields(timing, batch,
                                                                          unit="images")
    rows = [add_flop_fields(model_row, flops, peak, "images_per_s")]
    with tempfile.TemporaryDirectory(prefix="harness-bench-hf-") as tmp:
        files = write_faces(Path(tmp), images)
        plan = chunks(images, batch)

        @torch.inference_mode()
        def one_pass(loader: FaceLoader) -> None:
            for img, _ok in loader.batches(plan):
                x = to_model_input(to_device(img, device), backbone.input_size)
                with autocast(device):
                    backbone(x)
            sync(device)

        for w in workers:
            loader = FaceLoader(FaceImages(files, loader_size(SIZE, backbone.input_size, device)),
                                w, pin=device.type == "cuda")
            one_pass(loader)  # warm-up: workers started, files cached
            timing = time_calls(lambda ld=loader: one_pass(ld), device, 0, repeats)
            row = base | {"mode": "extract", "workers": w, "images": images} | timing_fields(
                timing, images, unit="images")
            row["ms_per_batch"] = row["ms_per_batch_p10"] = row["ms_per_batch_p90"] = None
            rows.append(add_flop_fields(row, flops, peak, "images_per_s"))
            del loader  # stops its workers before the next row starts its own
    return rows


def _audio_row(spec: str, device: torch.device, peak: float, seconds: float, warmup: int,
               repeats: int) -> dict:
    from harness.features.audio.windows import AudioTrack
    from harness.features.huggingface import create_hf_audio_extractor

    extractor = create_hf_audio_extractor(spec, device=str(device))
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(round(seconds * extractor.sr))).astype(np.float32)
    track = AudioTrack(y, extractor.sr, True, seconds)
    flops = forward_flops(extractor.model, lambda: extractor.hidden_states(y), device)
    reset_peak_memory(device)
    timing = time_calls(lambda: extractor.timed(track), device, max(warmup, 1), repeats)
    row = {"kind": "audio", "mode": "model", "batch": 1, "workers": None,
           "audio_s": seconds, "peak_mem_mb": round(peak_memory_mb(device), 1),
           **timing_fields(timing, 1, unit="tracks")}
    rate = seconds / timing.median_s
    row |= {AUDIO_RATE: rate, f"{AUDIO_RATE}_p10": seconds / timing.p90_s,
            f"{AUDIO_RATE}_p90": seconds / timing.p10_s, "flops_per_audio_s": flops / seconds}
    for key in ("tracks_per_s", "tracks_per_s_p10", "tracks_per_s_p90"):
        row.pop(key)
    row["achieved_gflops"] = flops / seconds * rate / 1e9
    row["fraction_of_peak"] = row["achieved_gflops"] / peak if peak > 0 else None
    return row


def build_models(root: Path) -> dict[str, Path]:
    """Random models of the published sizes under ``root`` (``save_pretrained``): a DINOv2
    ViT-S/14 with its processor, and a wav2vec2-base (the config's defaults are its sizes)."""
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


def main(argv: list[str] | None = None) -> list[dict]:
    """``python -m harness.throughput.huggingface``: the rows of random models of the published
    sizes (DINOv2 ViT-S/14, wav2vec2-base; speed does not depend on the weights), built into a
    temp folder, on this machine, without the rest of ``harness bench``."""
    import argparse
    import json

    from harness.device import resolve_device

    from .timing import load_average, matmul_peak_gflops

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=8, help="faces per forward pass")
    parser.add_argument("--images", type=int, default=32, help="jpgs per extraction pass")
    parser.add_argument("--workers", default="0,1", help="decoding-worker counts")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per track")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    load_start = load_average()
    peak = matmul_peak_gflops(device)
    with tempfile.TemporaryDirectory() as tmp:
        folders = build_models(Path(tmp))
        rows = hf_rows([f"hf:{folders['image']}", f"hf:{folders['audio']}"], device, peak,
                       workers=tuple(int(w) for w in args.workers.split(",")),
                       images=args.images, batch=args.batch, audio_s=args.seconds, warmup=1,
                       repeats=args.repeats)
    for row in rows:
        row |= {"device": str(device), "threads": args.threads, "matmul_peak_gflops": peak,
                "load_average_start": load_start, "load_average_end": load_average()}
        print(json.dumps(row))
    return rows


if __name__ == "__main__":
    main()
