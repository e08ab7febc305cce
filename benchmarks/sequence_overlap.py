"""Which overlap rule (docs/sequence-models.md): one ``dense_sequence`` trained on a
features-only corpus, its validation set predicted under each rule; macro F1 and frames/s.

    harness data synth --features-only --seed 1 --out fo
    harness extract --data fo --from fo/features/face --as face256   # audio1024, pose36 likewise
    python benchmarks/sequence_overlap.py fo 6                       # corpus, training epochs
"""

import sys
import time
import warnings

import torch

from baselines import create_baseline
from harness.data.release import load_release
from harness.data.splits import get_split
from harness.data.synth.scale_features import IMPORT_NAMES
from harness.features.chunks import build_chunks, chunk
from harness.features.imported import imported_source
from harness.fusion_stage import TrainConfig, predict_logits, train_baseline
from harness.metrics import scores

torch.set_num_threads(1)
root = sys.argv[1]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    release = load_release(root)
split = get_split(release, "official")
src = {m: imported_source(release, n) for m, n in IMPORT_NAMES}
spec = chunk(300)
tr = build_chunks(release, split.train, src, spec)
va = build_chunks(release, split.val, src, spec)
torch.manual_seed(0)
model = create_baseline("dense_sequence", tr.dims)
cfg = TrainConfig(max_epochs=int(sys.argv[2]), device="cpu")
res = train_baseline(model, tr, va, cfg, quiet=True)
print("trained", res.best_epoch, res.best_val_f1, flush=True)
RULES = [("centre stride 150 (margin 75)", chunk(300)),
         ("centre stride 240 (margin 30)", chunk(300, stride=240)),
         ("centre stride 300 (no overlap)", chunk(300, stride=300)),
         ("mean stride 150", chunk(300, overlap="mean")),
         ("mean stride 100", chunk(300, stride=100, overlap="mean"))]
for name, rule in RULES:
    va.spec = rule
    t = time.perf_counter()
    logits = predict_logits(model, va, cfg)
    seconds = time.perf_counter() - t
    labels = va.labels
    keep = labels >= 0
    f1 = scores(labels[keep], logits[keep].argmax(1)).macro_f1
    print(f"{name}: macro F1 {100 * f1:.2f}, {len(va) / seconds:,.0f} frames/s", flush=True)
