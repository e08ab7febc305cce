"""``run_bench``: every measurement of the bench, in one JSON-able dict.

The matmul peak is measured in the same process and with the same thread settings as the rows,
at the start and again at the end (the higher one counts), so that the fraction of peak compares
like with like even on a machine shared with other jobs.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch

from baselines import list_baselines
from harness.console import err
from harness.device import cpu_threads, resolve_device
from harness.features.face.backbones import get_backbone_spec, list_backbones
from harness.features.face.images import default_workers
from harness.features.modalities import PAPER_DIMS

from .datapath import data_path_rows
from .faces import REAL_TRAIN_WINDOWS, SLOW_BACKBONES, backbone_row, paper_design
from .flops import TRAIN_FLOP_FACTOR
from .models import MODES, RowPlan, add_flop_fields, flops_per_window, measure_row
from .profile import profile_train_step
from .timing import load_average, machine_info, matmul_peak_gflops, memory_kind

QUICK_BATCHES = (1, 8)
QUICK_DIMS = {"face": 256, "audio": 64, "pose": 36}


@dataclass
class BenchConfig:
    """What to measure. ``quick`` shrinks everything for tests (tiny dims, light backbone)."""

    baselines: list[str] | None = None  # None: every registered baseline
    batch_sizes: tuple[int, ...] = (1, 32, 256, 1024)
    device: str = "auto"
    amp: bool = False
    compile: bool = False
    warmup: int = 3
    repeats: int = 10
    dims: dict[str, int] = field(default_factory=lambda: dict(PAPER_DIMS))
    backbones: list[str] | None = None  # None: every registered backbone (quick: not emonet)
    paper_design: bool = True
    quick: bool = False
    threads: int | None = None  # torch intra-op threads; None: torch's default (quick: 1)
    row_budget_s: float | None = 20.0  # cut repeats so one row's timed part stays near this
    profile: bool = True  # profile one attention_fusion training step
    epoch_windows: int = REAL_TRAIN_WINDOWS
    data_path: bool = True  # face data path rows (jpg -> device batch) per worker count
    # None: 0, 1, 2 and default_workers() (quick: 0 and 1)
    data_path_workers: tuple[int, ...] | None = None
    data_path_images: int = 2048  # jpgs per timed pass (quick: 64)
    hf: list[str] | None = None  # hf:DIR models to time (harness.throughput.huggingface)
    hf_images: int = 256  # jpgs per timed extraction pass of an hf: vision model (quick: 16)
    hf_audio_s: float = 30.0  # seconds of audio per timed pass of an hf: speech model (quick: 2)

    def __post_init__(self) -> None:
        """Refuse a count that cannot be measured before minutes of warm-up (a batch of 0
        divides by zero at the end)."""
        from harness.config_files import require

        for b in self.batch_sizes:
            require("--batch-sizes", b, minimum=1)
        require("--repeats", self.repeats, minimum=1)
        require("warmup", self.warmup, minimum=0)
        require("--threads", self.threads, minimum=1)
        require("row_budget_s", self.row_budget_s, positive=True)
        require("epoch_windows", self.epoch_windows, minimum=1)
        for w in self.data_path_workers or ():
            require("data_path_workers", w, minimum=0)
        require("data_path_images", self.data_path_images, minimum=1)
        require("hf_images", self.hf_images, minimum=1)
        require("hf_audio_s", self.hf_audio_s, positive=True)


def run_bench(cfg: BenchConfig, progress: bool = True) -> dict:
    """Measure every configured row; see ``harness.throughput`` for the fields of the result."""
    device = resolve_device(cfg.device)
    threads = cfg.threads or (1 if cfg.quick and device.type == "cpu" else None)
    with cpu_threads(threads):
        started = time.perf_counter()
        result = _header(cfg, device)
        peak = result["matmul_peak_gflops"]
        result["rows"] = _baseline_rows(cfg, device, peak, progress)
        result["backbone_rows"] = _backbone_rows(cfg, device, peak, progress)
        if cfg.hf:
            result["hf_rows"] = _hf_rows(cfg, device, peak, progress)
        if cfg.data_path:
            _say(progress, "face data path: jpgs to device batches, per worker count")
            result["data_path_rows"] = _data_path_rows(cfg, device)
        if cfg.paper_design:
            _say(progress, "paper design: face model in the loop vs cached features")
            result["paper_design"] = _paper(cfg, device, result["rows"])
        if cfg.profile:
            _say(progress, "profiling one attention_fusion training step")
            result["profile"] = _profile(cfg, device)
        result["machine"]["load_average_end"] = load_average()
        result["machine"]["contended"] = _contended(result["machine"])
        _recheck_peak(result, device)
        result["seconds"] = time.perf_counter() - started
    return result


def _header(cfg: BenchConfig, device: torch.device) -> dict:
    config = asdict(cfg)
    config["dims"] = _dims(cfg)
    return {
        "machine": machine_info(device),
        "torch_version": torch.__version__,
        "device": str(device),
        "device_name": machine_info(device)["device_name"],
        "matmul_peak_gflops": matmul_peak_gflops(device),
        "memory_kind": memory_kind(device),
        "flop_convention": (f"matmul/conv FLOPs (multiply-add = 2) from FlopCounterMode on the "
                            f"forward, fused LSTM kernels added analytically; training = "
                            f"{TRAIN_FLOP_FACTOR:g}x forward"),
        "amp": "off" if not cfg.amp else ("ignored on cpu (fp32)" if device.type != "cuda"
                                          else "cuda autocast (bf16, else fp16)"),
        "config": config,
    }


def _dims(cfg: BenchConfig) -> dict[str, int]:
    return dict(QUICK_DIMS) if cfg.quick and cfg.dims == BenchConfig().dims else dict(cfg.dims)


def _baseline_names(cfg: BenchConfig) -> list[str]:
    return list(cfg.baselines) if cfg.baselines else [s.name for s in list_baselines()]


def _batches(cfg: BenchConfig) -> tuple[int, ...]:
    if cfg.quick and cfg.batch_sizes == BenchConfig().batch_sizes:
        return QUICK_BATCHES
    return tuple(cfg.batch_sizes)


def _baseline_rows(cfg: BenchConfig, device: torch.device, peak: float, progress: bool
                   ) -> list[dict]:
    dims, rows = _dims(cfg), []
    for name in _baseline_names(cfg):
        fwd = flops_per_window(name, dims, device)
        for batch in _batches(cfg):
            for mode in MODES:
                _say(progress, f"{name} {mode} batch {batch}")
                plan = RowPlan(batch, cfg.warmup, cfg.repeats, cfg.amp, cfg.compile,
                               cfg.row_budget_s)
                row = measure_row(name, mode, plan, dims, device)
                rows.append(add_flop_fields(row, fwd, peak, "windows_per_s"))
    return rows


def _backbone_names(cfg: BenchConfig) -> list[str]:
    if cfg.backbones is not None:
        return list(cfg.backbones)
    return [s.name for s in list_backbones() if not (cfg.quick and s.name == "emonet")]


def _backbone_rows(cfg: BenchConfig, device: torch.device, peak: float, progress: bool
                   ) -> list[dict]:
    batch = 4 if cfg.quick else (32 if device.type == "cpu" else 128)
    rows = []
    for name in _backbone_names(cfg):
        _say(progress, f"backbone {name} batch {batch}")
        row = backbone_row(name, batch, device, cfg.warmup, cfg.repeats, cfg.row_budget_s)
        rows.append(add_flop_fields(row, row.get("flops_fwd", 0), peak, "images_per_s"))
    return rows


def _hf_rows(cfg: BenchConfig, device: torch.device, peak: float, progress: bool
             ) -> list[dict]:
    from .huggingface import hf_rows

    _say(progress, f"hf: models {', '.join(cfg.hf)}")
    quick = cfg.quick and device.type == "cpu"
    return hf_rows(list(cfg.hf), device, peak, workers=_workers(cfg),
                   images=16 if quick and cfg.hf_images == BenchConfig().hf_images
                   else cfg.hf_images,
                   batch=8 if cfg.quick else (32 if device.type == "cpu" else 128),
                   audio_s=2.0 if quick and cfg.hf_audio_s == BenchConfig().hf_audio_s
                   else cfg.hf_audio_s,
                   warmup=min(cfg.warmup, 1) if cfg.quick else cfg.warmup,
                   repeats=min(cfg.repeats, 2) if cfg.quick else cfg.repeats)


def _workers(cfg: BenchConfig) -> tuple[int, ...]:
    """Decoding-worker counts to time: given, else 0, 1 (quick) or 0, 1, 2 and the default."""
    if cfg.data_path_workers is not None:
        return tuple(cfg.data_path_workers)
    return (0, 1) if cfg.quick else tuple(sorted({0, 1, 2, default_workers()}))


def _data_path_rows(cfg: BenchConfig, device: torch.device) -> list[dict]:
    sizes = tuple(sorted({get_backbone_spec(n).input_size for n in _backbone_names(cfg)}))
    workers = _workers(cfg)
    images = 64 if cfg.quick and cfg.data_path_images == BenchConfig().data_path_images \
        else cfg.data_path_images
    extract = tuple(n for n in _backbone_names(cfg)  # EmoNet: minutes per pass on a CPU
                    if device.type == "cuda" or n not in SLOW_BACKBONES)
    try:
        return data_path_rows(device, sizes, workers, images, batch=32 if cfg.quick else 128,
                              repeats=2 if cfg.quick else 3, extract_with=extract)
    except Exception as exc:  # noqa: BLE001  (reported, not fatal)
        return [{"path": "face data", "error": f"{type(exc).__name__}: {exc}"[:300]}]


def _paper(cfg: BenchConfig, device: torch.device, rows: list[dict]) -> dict:
    backbone = "light" if cfg.quick else "emonet"
    cached_batch = 8 if cfg.quick else 256
    cached = next((r["ms_per_batch"] / 1e3 for r in rows
                   if r["baseline"] == "attention_fusion" and r["mode"] == "train"
                   and r["batch"] == cached_batch and "error" not in r and not cfg.compile
                   and not cfg.amp), None)
    try:
        return paper_design(backbone, _dims(cfg), device, cached, max(2, min(cfg.repeats, 5)),
                           n_windows=cfg.epoch_windows, cached_batch=cached_batch)
    except Exception as exc:  # noqa: BLE001  (reported, not fatal)
        return {"backbone": backbone, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _profile(cfg: BenchConfig, device: torch.device) -> dict:
    batch = 8 if cfg.quick else 256
    try:
        return profile_train_step("attention_fusion", _dims(cfg), batch, device)
    except Exception as exc:  # noqa: BLE001
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def _contended(machine: dict) -> bool:
    """True when other jobs kept more runnable threads than CPUs: rates are then lower bounds
    (with 2 OpenMP threads a step can be 3-10x slower than on an idle machine)."""
    loads = [x for x in (machine.get("load_average_start"), machine.get("load_average_end")) if x]
    cpus = machine.get("cpu_count") or 1
    return any(load[0] > cpus for load in loads)


def _recheck_peak(result: dict, device: torch.device) -> None:
    """Measure the peak again at the end and keep the higher one, re-deriving the fractions.

    On a shared machine one peak measurement can catch a busy moment; a too-low peak would make
    fractions exceed 1. Both measurements are kept in the result.
    """
    first = result["matmul_peak_gflops"]
    again = matmul_peak_gflops(device)
    result["matmul_peak_gflops_start_end"] = [first, again]
    peak = max(first, again)
    result["matmul_peak_gflops"] = peak
    for row in result["rows"] + result["backbone_rows"] + result.get("hf_rows", []):
        if row.get("achieved_gflops") is not None:
            row["fraction_of_peak"] = row["achieved_gflops"] / peak


def _say(progress: bool, text: str) -> None:
    if progress:
        err.print(f"[dim]bench[/dim] {text}")
