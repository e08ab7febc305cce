"""The window form's prediction rate on a release's test set, beside ``sequence_predict.py``
(docs/sequence-models.md): the two scripts give the prediction-speed ratio of issue 27 without
the side-by-side benchmark's training epochs (about an hour at the real size here).

    python benchmarks/window_predict.py big [threads] [sample]

``dense_temporal`` (75-frame windows, the centre frame predicted, freshly initialised: the cost
does not depend on the weights) predicts ``sample`` test windows (default 50,000, spread evenly
over the test set, as the side-by-side benchmark samples), as a run does (``predict_logits``);
prints windows/s, the whole test set's time extrapolated, CPU seconds, peak RssAnon and the load
average at both ends.
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
from harness.features.imported import imported_source
from harness.features.windows import build_windows
from harness.fusion_stage import TrainConfig, predict_logits
from harness.measure import StageClock

root = sys.argv[1]
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads())
sample = int(sys.argv[3]) if len(sys.argv) > 3 else 50_000
load0 = os.getloadavg()[0]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    release = load_release(root)
src = {m: imported_source(release, n) for m, n in IMPORT_NAMES}
window = get_baseline("dense_temporal").window
test_ws = build_windows(release, release.template.names, src, labelled_only=False, spec=window)
sub = test_ws.subset(np.linspace(0, len(test_ws) - 1, min(sample, len(test_ws))).astype(int))
torch.manual_seed(0)
model = create_baseline("dense_temporal", test_ws.dims)
clock = StageClock(interval_s=0.05)
with clock.stage("predict"):
    t, c = time.perf_counter(), time.process_time()
    logits = predict_logits(model, sub, TrainConfig(device="cpu"))
    wall, cpu = time.perf_counter() - t, time.process_time() - c
clock.close()
assert logits.shape == (len(sub), 8) and np.isfinite(logits).all()
rate = len(sub) / wall
print(f"{len(sub):,} of {len(test_ws):,} test windows in {wall:.1f} s ({rate:,.1f} windows/s; "
      f"whole test set {len(test_ws) / rate:,.0f} s extrapolated), {cpu:.1f} CPU s, "
      f"{torch.get_num_threads()} threads, peak RssAnon {clock.peak_mb() or 0:,.0f} MB, "
      f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
