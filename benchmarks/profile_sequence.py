"""Where a ``dense_sequence`` training step spends its time (docs/sequence-models.md), one thread.

    harness data synth --features-only --seed 0 --out fo
    harness extract --data fo --from fo/features/face --as face256   # audio1024, pose36 likewise
    python benchmarks/profile_sequence.py fo                         # corpus, [epochs]

Prints how full an epoch's chunks are, then CPU seconds (``time.process_time``: what the
load of other jobs changes least) of (1) the data path (chunk sampling, targets, gathering
rows from the packed tables) against the whole epoch, (2) the operators taking most self
CPU time under ``torch.profiler``, (3) one training step and one 16-chunk prediction batch of
4 x 300 frames inside their videos with the encoder's all-False key mask and without one
(``DenseTemporal`` passes none when no step is padded), interleaved, with the largest
difference in loss, gradients and prediction logits between the two.
"""

import copy
import sys
import time
import warnings

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from baselines import create_baseline
from harness.data.release import load_release
from harness.data.splits import get_split
from harness.data.synth.scale_features import IMPORT_NAMES
from harness.features.chunks import build_chunks, chunk
from harness.features.imported import imported_source
from harness.fusion_stage import SequenceStage, TrainConfig, make_optimizer
from harness.train import optimizer_step

torch.set_num_threads(1)
root, epochs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    release = load_release(root)
split = get_split(release, "official")
src = {m: imported_source(release, n) for m, n in IMPORT_NAMES}
train_cs = build_chunks(release, split.train, src, chunk(300))
cfg = TrainConfig(device="cpu")
torch.manual_seed(0)
model = create_baseline("dense_sequence", train_cs.dims)
stage = SequenceStage(train_cs, train_cs, cfg, torch.device("cpu"))
optimizer = make_optimizer(model, cfg)
gen = torch.Generator().manual_seed(0)


def epoch() -> tuple[float, float, int]:
    """CPU seconds of the data path and of the whole epoch, and the labelled frames."""
    model.train()
    start = time.process_time()
    data, frames = 0.0, 0
    n_items, batches = stage.batches(1, gen)
    it = iter(batches)
    while True:
        t = time.process_time()
        try:
            inputs, targets, weight = next(it)
        except StopIteration:
            break
        data += time.process_time() - t
        optimizer_step(model, optimizer, stage.loss(model(inputs).float(), targets, weight),
                       cfg.grad_clip)
        frames += len(targets)
    return data, time.process_time() - start, frames


owner, start = train_cs.train_chunks(torch.Generator().manual_seed(0))
labelled = int((train_cs.frame_labels >= 0).sum())
print(f"{len(train_cs.names)} training videos of {train_cs.n_frames.mean():,.0f} frames on "
      f"average: {labelled:,} labelled frames in {owner.size} chunks of 300 "
      f"({100 * labelled / (owner.size * 300):.0f} % of the chunks' slots)")
epoch()  # warm-up
data = total = 0.0
frames = 0
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for _ in range(epochs):
        d, t, f = epoch()
        data, total, frames = data + d, total + t, frames + f
print(f"{epochs} epochs, {frames:,} labelled frames: {total:.1f} CPU s "
      f"({frames / total:,.0f} labelled frames per CPU s), data path {data:.2f} CPU s "
      f"({100 * data / total:.1f} %)")
ops = prof.key_averages()
whole = sum(e.self_cpu_time_total for e in ops)
for e in sorted(ops, key=lambda e: -e.self_cpu_time_total)[:8]:
    print(f"  {e.key:32s} {100 * e.self_cpu_time_total / whole:5.1f} % self CPU")

# --- the key mask: an all-False one against none, on chunks wholly inside their videos
dims, steps = train_cs.dims, 300
g = torch.Generator().manual_seed(0)
batch = {"mask": torch.ones(4, steps, dtype=torch.bool)}
for m, d in dims.items():
    batch[m] = torch.randn(4, steps, d, generator=g)
    batch[f"{m}_mask"] = torch.rand(4, steps, generator=g) > 0.1
targets = torch.randint(8, (4 * steps,), generator=g)
forward = model.encoder.forward
force = {"mask": False}


def encoder(h, src_key_padding_mask=None):
    if force["mask"] and src_key_padding_mask is None:
        src_key_padding_mask = torch.zeros(h.shape[:2], dtype=torch.bool)
    return forward(h, src_key_padding_mask=src_key_padding_mask)


model.encoder.forward = encoder
weights = copy.deepcopy(model.state_dict())  # a training step moves BatchNorm's statistics


def step(masked: bool) -> tuple[float, torch.Tensor, list[torch.Tensor]]:
    force["mask"] = masked
    model.load_state_dict(weights)
    model.train()
    torch.manual_seed(1)  # the same dropout draws both ways
    t = time.process_time()
    loss = torch.nn.functional.cross_entropy(model(batch).reshape(-1, 8), targets)
    model.zero_grad(set_to_none=True)
    loss.backward()
    return time.process_time() - t, loss.detach(), [p.grad.clone() for p in model.parameters()]


def predict(masked: bool) -> tuple[float, torch.Tensor]:
    force["mask"] = masked
    model.load_state_dict(weights)
    model.eval()
    big = {k: torch.cat([v] * 4) for k, v in batch.items()}
    with torch.inference_mode():
        t = time.process_time()
        out = model(big)
    return time.process_time() - t, out


times = {True: [], False: []}
pred = {True: [], False: []}
for _ in range(5):
    for masked in (True, False):
        s, loss, grads = step(masked)
        times[masked].append(s)
        p, out = predict(masked)
        pred[masked].append(p)
        if masked:
            ref = (loss, grads, out)
        else:
            dloss = float((loss - ref[0]).abs())
            dgrad = max(float((a - b).abs().max()) for a, b in zip(grads, ref[1]))
            dout = float((out - ref[2]).abs().max())
            largest = float(ref[2].abs().max())
for masked in (True, False):
    print(f"{'all-False key mask' if masked else 'no key mask       '}: training step "
          f"{1000 * np.median(times[masked]):.0f} CPU ms, 16-chunk prediction "
          f"{1000 * np.median(pred[masked]):.0f} CPU ms (medians of 5)")
print(f"difference: loss {dloss:.1e}, gradients {dgrad:.1e}, prediction logits {dout:.1e} "
      f"(largest |logit| {largest:.1f})")
