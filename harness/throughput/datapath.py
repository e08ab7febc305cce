"""Face data path rows: jpgs on disk to model-ready batches on the device, per worker count.

Each row times full passes over ``n_images`` 112x112 jpgs (drawn faces, the corpus's JPEG
quality), synchronised on CUDA, after a warm-up pass that starts the persistent workers and puts
the files in the page cache (the model, not the disk, should set the pace). Modes:

- ``decode``: ``FaceLoader`` alone, uint8 batches at the stored size in the main process: what
  the workers of a CUDA run must sustain (the GPU does the rest);
- ``to device``: the whole path to the model's input at ``input_size``, as stage 1 and
  extraction run it on this device (on the CPU the workers also resize);
- ``legacy``: the previous path, for comparison: decode, ``cv2.resize`` and float conversion
  per image in the main process, stacked into a float batch;
- ``extract``: face-feature extraction end to end with a backbone (random weights, eval mode,
  bf16 autocast on CUDA): the data path and the model together, as ``harness extract`` runs.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from harness.data.synth.cues import N_AU
from harness.data.synth.face_drawing import SIZE, draw_face, random_identity
from harness.data.synth.render_video import JPEG_QUALITY
from harness.device import autocast
from harness.features.face.backbones import create_backbone, get_backbone_spec
from harness.features.face.images import (
    FaceFiles,
    FaceImages,
    FaceLoader,
    chunks,
    loader_size,
    to_device,
    to_model_input,
)

from .timing import sync


def write_faces(folder: Path, n: int, seed: int = 0) -> FaceFiles:
    """``n`` drawn 112x112 faces with sensor noise, as the corpus's jpgs."""
    rng = np.random.default_rng(seed)
    idents = [random_identity(rng) for _ in range(16)]
    for k in range(1, n + 1):
        img = draw_face(idents[k % len(idents)], rng.normal(0, 0.5, N_AU).astype(np.float32))
        img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"{k:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return FaceFiles((str(folder),), np.zeros(n, np.int32), np.arange(1, n + 1, dtype=np.int32))


def data_path_rows(device: torch.device, sizes: tuple[int, ...], workers: tuple[int, ...],
                   n_images: int = 2048, batch: int = 128, repeats: int = 3,
                   extract_with: tuple[str, ...] = ()) -> list[dict]:
    """Decode rows per worker count; a legacy row and a row per worker count per size; an
    extraction row per worker count for each backbone of ``extract_with``."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="harness-bench-faces-") as tmp:
        files = write_faces(Path(tmp), n_images)
        plan = chunks(n_images, batch)
        base = {"path": "face data", "batch": batch, "images": n_images}
        for name in extract_with:
            rows += _extract_rows(name, files, plan, workers, device, base, repeats)
        for w in workers:
            loader = FaceLoader(FaceImages(files, SIZE), w, pin=device.type == "cuda")
            rows.append(base | {"mode": "decode", "workers": w, "input_size": SIZE}
                        | _rates(lambda ld=loader: _pass(ld, plan, None, device), n_images,
                                 repeats))
            del loader  # stops its workers before the next row starts its own
        for size in sizes:
            rows.append(base | {"mode": "legacy", "workers": 0, "input_size": size}
                        | _rates(lambda s=size: _legacy_pass(files, plan, s, device), n_images,
                                 repeats))
            for w in workers:
                images = FaceImages(files, loader_size(SIZE, size, device))
                loader = FaceLoader(images, w, pin=device.type == "cuda")
                rows.append(base | {"mode": "to device", "workers": w, "input_size": size}
                            | _rates(lambda s=size, ld=loader: _pass(ld, plan, s, device),
                                     n_images, repeats))
                del loader
    return rows


def _extract_rows(name: str, files: FaceFiles, plan: list[np.ndarray], workers: tuple[int, ...],
                  device: torch.device, base: dict, repeats: int) -> list[dict]:
    torch.manual_seed(0)
    model = create_backbone(name).to(device).eval()
    size = get_backbone_spec(name).input_size

    @torch.inference_mode()
    def one_pass(loader: FaceLoader) -> None:
        for img, _ok in loader.batches(plan):
            x = to_model_input(to_device(img, device), size)
            with autocast(device):
                model(x)
        sync(device)

    rows = []
    for w in workers:
        loader = FaceLoader(FaceImages(files, loader_size(SIZE, size, device)), w,
                            pin=device.type == "cuda")
        rows.append(base | {"mode": f"extract {name}", "workers": w, "input_size": size}
                    | _rates(lambda ld=loader: one_pass(ld), len(files), repeats))
        del loader
    return rows


def _pass(loader: FaceLoader, plan: list[np.ndarray], size: int | None,
          device: torch.device) -> None:
    for img, _ok in loader.batches(plan):
        if size is not None:
            to_model_input(to_device(img, device), size)
    sync(device)


def _legacy_pass(files: FaceFiles, plan: list[np.ndarray], size: int,
                 device: torch.device) -> None:
    for idx in plan:
        batch = []
        for i in idx.tolist():
            img = cv2.imread(files.path(i), cv2.IMREAD_COLOR)
            if img.shape[0] != size:
                interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
                img = cv2.resize(img, (size, size), interpolation=interp)
            rgb = np.ascontiguousarray(img[:, :, ::-1])
            batch.append(torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255.0))
        torch.stack(batch).to(device)
    sync(device)


def _rates(one_pass, n_images: int, repeats: int) -> dict:
    one_pass()  # warm-up: workers started, files cached
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        one_pass()
        seconds.append(time.perf_counter() - start)
    rates = n_images / np.asarray(seconds)
    return {"images_per_s": float(np.median(rates)),
            "images_per_s_p10": float(np.percentile(rates, 10)),
            "images_per_s_p90": float(np.percentile(rates, 90)), "repeats": repeats}
