"""``harness bench``: throughput of each baseline and face backbone, vs the measured peak."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.options import DeviceOpt, say
from harness.console import out


def bench_cmd(
    baselines: Annotated[str | None, typer.Option(
        help="Comma-separated baselines; default: all registered.")] = None,
    batch_sizes: Annotated[str, typer.Option(help="Comma-separated batch sizes.")]
    = "1,32,256,1024",
    device: DeviceOpt = "auto",
    amp: Annotated[bool, typer.Option(help="bf16/fp16 autocast on CUDA.")] = False,
    compile: Annotated[bool, typer.Option("--compile", help="torch.compile the models.")]
    = False,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs per row (after warm-up).")]
    = 10,
    threads: Annotated[int | None, typer.Option(
        min=1, help="CPU threads (1 is often faster on a shared machine).")] = None,
    backbones: Annotated[str | None, typer.Option(
        help="Comma-separated face backbones to time; default: all.")] = None,
    quick: Annotated[bool, typer.Option(help="Tiny sizes: a smoke test of the bench.")] = False,
    hf: Annotated[list[str] | None, typer.Option(
        "--hf", help="hf:DIR model to time as a face or audio extractor (images/s per "
        "decoding-worker count, or audio-s/s; FLOPs per item, fraction of peak); repeatable.")]
    = None,
    json_out: Annotated[Path, typer.Option("--json", help="Where to save all figures.")]
    = Path("harness-out/bench.json"),
    fmt: Annotated[str, typer.Option("--format", help="rich or markdown.")] = "rich",
) -> None:
    """Throughput of each baseline (inference and training) and face backbone, vs peak."""
    from harness.api.bench import bench
    from harness.throughput import bench_table

    result = bench(baselines, batch_sizes, device=device, amp=amp, compile=compile,
                   repeats=repeats, threads=threads, backbones=backbones, quick=quick, hf=hf,
                   json_out=json_out)
    table = bench_table(result, fmt)
    out.print(table) if fmt == "rich" else print(table)
    say(f"All figures saved to {json_out}")
