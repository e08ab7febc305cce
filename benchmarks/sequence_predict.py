"""Prediction of a release's whole test set, sequence or window form (docs/sequence-models.md).

    harness data synth --real-scale --features-only --out big
    harness extract --data big --from big/features/face --as face256  # audio1024, pose36 likewise
    python benchmarks/sequence_predict.py big [threads]                  # the sequence form
    python benchmarks/sequence_predict.py big [threads] window [sample]  # the window form

``dense_sequence`` (chunks of 300, centre overlap, stride 150) predicts every test frame;
``dense_temporal`` (75-frame windows, the centre frame predicted) predicts ``sample`` test
windows (default 50,000, spread evenly over the test set as the side-by-side benchmark samples
them), its whole-test-set time extrapolated. Both as a run does (``predict_logits``), with a
freshly initialised model: prediction costs the same whatever the weights (the side-by-side
benchmark times it after training). Prints the rate, wall and CPU seconds, peak RssAnon and the
load average at both ends: the two forms' rates give the prediction ratio of issue 27 without
the side-by-side benchmark's training epochs.
"""

import os
import sys
import time
import warnings

import numpy as np
import torch

from baselines import create_baseline, get_baseline
from harness.data.release import load_release
from harness.data.synth.scale_features import IMPORT_NAMES
from harness.features.chunks import build_chunks
from harness.features.imported import imported_source
from harness.features.windows import build_windows
from harness.fusion_stage import TrainConfig, predict_logits
from harness.measure import StageClock

root = sys.argv[1]
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads())
window = len(sys.argv) > 3 and sys.argv[3] == "window"
sample = int(sys.argv[4]) if len(sys.argv) > 4 else 50_000
load0 = os.getloadavg()[0]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    release = load_release(root)
src = {m: imported_source(release, n) for m, n in IMPORT_NAMES}
names = release.template.names
if window:
    test = build_windows(release, names, src, labelled_only=False,
                         spec=get_baseline("dense_temporal").window)
    items = test.subset(np.linspace(0, len(test) - 1, min(sample, len(test))).astype(int))
else:
    test = items = build_chunks(release, names, src, get_baseline("dense_sequence").sequence)
torch.manual_seed(0)
model = create_baseline("dense_temporal" if window else "dense_sequence", test.dims)
clock = StageClock(interval_s=0.05)
with clock.stage("predict"):
    t, c = time.perf_counter(), time.process_time()
    logits = predict_logits(model, items, TrainConfig(device="cpu"))
    wall, cpu = time.perf_counter() - t, time.process_time() - c
clock.close()
assert logits.shape == (len(items), 8) and np.isfinite(logits).all()
rate = len(items) / wall
what = (f"{len(items):,} of {len(test):,} test windows in {wall:.1f} s ({rate:,.1f} windows/s; "
        f"whole test set {len(test) / rate:,.0f} s extrapolated)" if window else
        f"{len(test):,} test frames in {wall:.1f} s ({rate:,.0f} frames/s)")
print(f"{what}, {cpu:.1f} CPU s, {torch.get_num_threads()} threads, peak RssAnon "
      f"{clock.peak_mb() or 0:,.0f} MB, load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
