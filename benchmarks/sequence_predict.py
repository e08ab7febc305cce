"""The sequence form's prediction of a release's whole test set (docs/sequence-models.md).

    harness data synth --real-scale --features-only --out big
    harness extract --data big --from big/features/face --as face256  # audio1024, pose36 likewise
    python benchmarks/sequence_predict.py big [threads]

``dense_sequence`` (chunks of 300, centre overlap, stride 150) predicts every test frame, as a
run does (``predict_logits``); prints frames/s, wall and CPU seconds, peak RssAnon and the load
average at both ends. The model is freshly initialised: prediction costs the same whatever the
weights (the side-by-side benchmark times it after training).
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
from harness.fusion_stage import TrainConfig, predict_logits
from harness.measure import StageClock

root = sys.argv[1]
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads())
load0 = os.getloadavg()[0]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    release = load_release(root)
src = {m: imported_source(release, n) for m, n in IMPORT_NAMES}
spec = get_baseline("dense_sequence").sequence
test_cs = build_chunks(release, release.template.names, src, spec)
torch.manual_seed(0)
model = create_baseline("dense_sequence", test_cs.dims)
clock = StageClock(interval_s=0.05)
with clock.stage("predict"):
    t, c = time.perf_counter(), time.process_time()
    logits = predict_logits(model, test_cs, TrainConfig(device="cpu"))
    wall, cpu = time.perf_counter() - t, time.process_time() - c
clock.close()
assert logits.shape == (release.template.n_rows, 8) and np.isfinite(logits).all()
print(f"{len(test_cs):,} test frames in {wall:.1f} s ({len(test_cs) / wall:,.0f} frames/s), "
      f"{cpu:.1f} CPU s, {torch.get_num_threads()} threads, peak RssAnon "
      f"{clock.peak_mb() or 0:,.0f} MB, load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
