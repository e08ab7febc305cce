"""Images per second of ``--backbone onnx:PATH`` extraction on this machine.

    python examples/time_onnx_extraction.py --model tiny.onnx [--data CORPUS] [--threads 1]

Times the harness's own extraction (``harness.features.face.frozen.extract_frozen``: jpg decoding
and resizing in one DataLoader worker, ONNX Runtime on the CPU) over every face image of the
release (default: the embedded corpus), from a cold cache in a temporary harness home, then
the model alone on random batches of 128. Wall-clock figures on a shared machine: quote the
load (``uptime``) with them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)  # ONNX Runtime takes torch's thread count
    from harness.data.release import load_release
    from harness.features.extract import all_names
    from harness.features.face.config import FaceConfig
    from harness.features.face.frozen import extract_frozen
    from harness.features.face.onnx import OnnxBackbone

    release = load_release(args.data)
    names = all_names(release)
    n = sum(int((release.faces.frames(x) <= release.n_frames(x)).sum()) for x in names)
    cfg = FaceConfig(backbone=f"onnx:{args.model}", device="cpu", num_workers=args.workers)
    with tempfile.TemporaryDirectory() as home:
        os.environ["ABAW_HARNESS_HOME"] = home  # a cold cache, removed afterwards
        t = time.perf_counter()
        extract_frozen(release, names, cfg, quiet=True)
        s = time.perf_counter() - t
    print(f"extraction: {n} images in {s:.1f} s = {n / s:,.0f} images/s "
          f"({args.workers} decoding worker(s), {args.threads} thread(s))")
    net = OnnxBackbone(args.model, cfg.onnx)
    x = torch.rand(128, 3, net.input_size, net.input_size)
    net(x)
    t = time.perf_counter()
    for _ in range(20):
        net(x)
    print(f"model alone: {20 * 128 / (time.perf_counter() - t):,.0f} images/s "
          f"({net.input_size}x{net.input_size} input, {net.feature_dim}-d output)")


if __name__ == "__main__":
    main()
