"""Throughput benchmarks: how fast each baseline infers and trains, and why not faster.

``run_bench(BenchConfig(...))`` returns one JSON-able dict:

- ``machine`` (platform, CPU count and model, torch threads, load average at start and end),
  ``torch_version``, ``device``, ``device_name``, ``matmul_peak_gflops`` (fp32, measured here),
  ``memory_kind`` (what ``peak_mem_mb`` means on this device), ``flop_convention``, ``config``;
- ``rows``: one per (baseline, batch, mode in ``infer``/``train``): ``windows_per_s`` (median)
  with ``windows_per_s_p10``/``_p90``, ``ms_per_batch`` (and p10/p90), ``repeats``,
  ``flops_per_window``, ``achieved_gflops``, ``fraction_of_peak``, ``peak_mem_mb``; or ``error``
  (e.g. ``torch.compile`` failing) instead of the numbers;
- ``backbone_rows``: face-feature extraction ``images_per_s`` at each backbone's input size;
- ``hf_rows`` (``--hf hf:DIR``): an ``hf:`` vision model's ``images_per_s`` (``model``, and
  ``extract`` per decoding-worker count) or speech model's ``audio_s_per_s``, each with FLOPs
  per item (``flops_per_image``, ``flops_per_audio_s``), ``achieved_gflops`` and
  ``fraction_of_peak`` (see ``huggingface``);
- ``paper_design``: seconds per epoch with the face model in the training loop (the paper's
  design, batch 4) vs on cached features (batch 256), and their ``ratio``;
- ``profile``: the top operators of one ``attention_fusion`` training step.

``write_bench_json`` stores it atomically; ``bench_table`` renders it (rich or markdown).
"""

from __future__ import annotations

from .faces import REAL_TRAIN_WINDOWS
from .flops import TRAIN_FLOP_FACTOR, forward_flops, lstm_flops
from .run import BenchConfig, run_bench
from .tables import bench_table, write_bench_json

__all__ = [
    "REAL_TRAIN_WINDOWS",
    "TRAIN_FLOP_FACTOR",
    "BenchConfig",
    "bench_table",
    "forward_flops",
    "lstm_flops",
    "run_bench",
    "write_bench_json",
]
