"""The window contract against the sequence contract on the same layers, in one process.

``dense_temporal`` (75-frame windows, the centre frame predicted) and ``dense_sequence`` (300-frame
chunks, every frame predicted) on the features-only corpus imported as ``harness extract --from``
does: frames per second of one training epoch over every labelled frame and of prediction over
the test frames, and the peak anonymous memory (RssAnon) of each. Full mode: the real-size
corpus (1.02 M test frames); the window form is timed on a sample (``WINDOW_SAMPLE`` windows
drawn evenly) and its rate extrapolated, the sequence form runs over every frame. Reduced mode
(CI, ``HARNESS_BENCH_QUICK=1``): the 100x smaller corpus and a 2,000-window sample. Run::

    python -m pytest benchmarks/test_bench_sequence.py --benchmark-enable -s

Targets (reported, not asserted): sequence prediction >= 20x the window form's frames/s; the
full test set predicted in <= 5 min on 2 cores; peak RssAnon <= 2 GB per form (asserted: the
bound). The report also gives each stage's CPU seconds and the load average at both ends (the
machine may be shared).
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from baselines import create_baseline, get_baseline
from harness.features.chunks import build_chunks
from harness.features.windows import build_windows
from harness.fusion_stage import TrainConfig, predict_logits, train_baseline
from harness.measure import StageClock

MEMORY_BOUND_MB = 2048


def _even(n: int, k: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, k)).astype(np.int64))


def _timed(clock: StageClock, name: str, fn, cpu: dict | None = None):
    """``fn()`` and its wall seconds; its CPU seconds (every thread) go to ``cpu[name]``."""
    with clock.stage(name):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
    if cpu is not None:
        cpu[name] = round(time.process_time() - c0, 1)
    return out, time.perf_counter() - t0


def test_window_vs_sequence_side_by_side(benchmark, feature_corpus, sizes):
    release, split, sources = (feature_corpus.release, feature_corpus.split,
                               feature_corpus.sources)
    sample = 50_000 if sizes.real_scale else 2_000
    cfg = TrainConfig(max_epochs=1, device="cpu", frame_stride=1, val_stride=1, batch_size=256)
    clock, report, cpu = StageClock(interval_s=0.05), {}, {}
    report["load_avg_start"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    # --- window form: dense_temporal, a sample of windows, rates extrapolated
    window = get_baseline("dense_temporal").window
    train_ws = build_windows(release, split.train, sources, labelled_only=True, spec=window)
    test_ws = build_windows(release, release.template.names, sources, labelled_only=False,
                            spec=window)
    torch.manual_seed(0)
    model = create_baseline("dense_temporal", train_ws.dims)
    sub = train_ws.subset(_even(len(train_ws), sample))
    res, _ = _timed(clock, "window train", lambda: train_baseline(
        model, sub, sub.subset(np.arange(256)), cfg, quiet=True), cpu)
    report["window_train_frames_per_s"] = res.history[0]["windows_per_s"]
    test_sub = test_ws.subset(_even(len(test_ws), sample))
    logits, s = _timed(clock, "window predict", lambda: predict_logits(model, test_sub, cfg),
                       cpu)
    assert logits.shape == (len(test_sub), 8)
    report["window_predict_frames_per_s"] = len(test_sub) / s
    report["window_peak_mb"] = max(r["peak_rss_anon_mb"] or 0 for r in clock.records)
    report["window_sample"] = len(sub)

    # --- sequence form: dense_sequence, every labelled frame, every test frame
    chunks = get_baseline("dense_sequence").sequence
    train_cs = build_chunks(release, split.train, sources, chunks)
    val_cs = build_chunks(release, split.val[:1], sources, chunks)
    test_cs = build_chunks(release, release.template.names, sources, chunks)
    torch.manual_seed(0)
    model = create_baseline("dense_sequence", train_cs.dims)
    res, _ = _timed(clock, "sequence train", lambda: train_baseline(
        model, train_cs, val_cs, cfg, quiet=True), cpu)
    report["sequence_train_frames_per_s"] = res.history[0]["frames_per_s"]
    seq_clock = StageClock(interval_s=0.05)

    def predict_test():
        with seq_clock.stage("sequence predict"):
            return predict_logits(model, test_cs, cfg)

    t0, c0 = time.perf_counter(), time.process_time()
    logits = benchmark.pedantic(predict_test, rounds=1, iterations=1)
    seconds = time.perf_counter() - t0
    cpu["sequence predict"] = round(time.process_time() - c0, 1)
    assert logits.shape == (release.template.n_rows, 8) and np.isfinite(logits).all()
    report["sequence_predict_frames_per_s"] = len(test_cs) / seconds
    report["sequence_predict_test_s"] = seconds
    report["test_frames"] = len(test_cs)
    clock.close()
    seq_clock.close()
    report["sequence_peak_mb"] = max(
        [r["peak_rss_anon_mb"] or 0 for r in clock.records if r["stage"].startswith("sequence")]
        + [seq_clock.peak_mb() or 0])
    report["predict_speedup"] = (report["sequence_predict_frames_per_s"]
                                 / report["window_predict_frames_per_s"])
    report["train_speedup"] = (report["sequence_train_frames_per_s"]
                               / report["window_train_frames_per_s"])
    report["window_predict_test_s_extrapolated"] = (
        len(test_cs) / report["window_predict_frames_per_s"])
    report["threads"] = torch.get_num_threads()
    report["cpu_s"] = cpu
    report["load_avg_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    benchmark.extra_info.update({k: round(v, 2) if isinstance(v, float) else v
                                 for k, v in report.items()})
    print("\nwindow vs sequence:", benchmark.extra_info)
    for form in ("window", "sequence"):  # Linux (RssAnon); prediction batches are bounded
        if report[f"{form}_peak_mb"]:  # by bytes (windows.EVAL_BATCH_BYTES)
            assert report[f"{form}_peak_mb"] <= MEMORY_BOUND_MB, (form, report)
