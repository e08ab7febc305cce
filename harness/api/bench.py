"""``harness.bench``: throughput of each baseline (inference, training) and face backbone.

The measuring lives in ``harness.throughput``; this is its command: options in, the JSON-able
result out (and saved to ``json_out``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.api.common import names


def _hf_specs(hf: str | Sequence[str] | None) -> list[str] | None:
    """``hf:DIR`` models, each checked (folder, extra) before minutes of measuring."""
    from harness.errors import HarnessError
    from harness.features.huggingface import import_transformers, is_hf, resolve_folder

    specs = [s for s in (hf.split(",") if isinstance(hf, str) else hf or ()) if s]
    for spec in specs:
        if not is_hf(spec):
            raise HarnessError(f"--hf takes hf:DIR (a Hugging Face model folder), not {spec!r}")
        import_transformers()
        resolve_folder(spec)
    return specs or None


def bench(baselines: str | Sequence[str] | None = None,
          batch_sizes: str | Sequence[int] = (1, 32, 256, 1024), *, device: str = "auto",
          amp: bool = False, compile: bool = False, repeats: int = 10,
          threads: int | None = None, backbones: str | Sequence[str] | None = None,
          quick: bool = False, hf: str | Sequence[str] | None = None,
          json_out: Path | None = Path("harness-out/bench.json")) -> dict:
    """Measure every row (see ``harness.throughput``) and save the figures to ``json_out``.

    ``hf``: ``hf:DIR`` models (a list, or text separated by commas) timed as face or audio
    extractors besides the rest."""
    from harness.errors import HarnessError
    from harness.paths import check_output_file
    from harness.throughput import BenchConfig, run_bench, write_bench_json

    if json_out is not None:  # before minutes of measuring, not after
        check_output_file(json_out, "--json")
    if isinstance(batch_sizes, str):
        try:
            batch_sizes = tuple(int(b) for b in batch_sizes.split(","))
        except ValueError:
            raise HarnessError(f"--batch-sizes takes integers separated by commas, not "
                               f"{batch_sizes!r}") from None
    if any(b < 1 for b in batch_sizes):
        raise HarnessError(f"--batch-sizes must be 1 or more, got {tuple(batch_sizes)}")
    base = names(baselines)
    back = names(backbones)
    cfg = BenchConfig(baselines=list(base) if base else None, batch_sizes=tuple(batch_sizes),
                      device=device, amp=amp, compile=compile, repeats=repeats, threads=threads,
                      backbones=list(back) if back else None, quick=quick,
                      hf=_hf_specs(hf))
    result = run_bench(cfg)
    if json_out is not None:
        write_bench_json(result, json_out)
    return result
