"""Does bounding the window form's prediction batch by bytes slow it? (docs/sequence-models.md)

    python benchmarks/window_batch.py

``dense_temporal`` (75-frame windows) at the real feature sizes (256 + 1024 + 36), eval mode,
one thread: CPU ms per window (``time.process_time``, interleaved, medians of 3) and the
gathered inputs' size, for one batch of 2,048 windows (``TrainConfig.eval_batch_size``, the
only bound before) and for the batch ``windows.eval_batch_items`` allows under
``EVAL_BATCH_BYTES``, over the same 2,048 windows.
"""

import time

import numpy as np
import torch

from baselines import create_baseline
from harness.features.windows import EVAL_BATCH_BYTES, eval_batch_items

torch.set_num_threads(1)
dims, steps, n = {"face": 256, "audio": 1024, "pose": 36}, 75, 2048
gen = torch.Generator().manual_seed(0)
batch = {"mask": torch.ones(n, steps, dtype=torch.bool)}
for m, d in dims.items():
    batch[m] = torch.randn(n, steps, d, generator=gen)
    batch[f"{m}_mask"] = torch.rand(n, steps, generator=gen) > 0.1
torch.manual_seed(0)
model = create_baseline("dense_temporal", dims).eval()
bounded = eval_batch_items(n, steps, dims)
mb = steps * (4 * sum(dims.values()) + len(dims) + 1) / 2**20


def predict(size: int) -> tuple[float, torch.Tensor]:
    with torch.inference_mode():
        t = time.process_time()
        out = torch.cat([model({k: v[s:s + size] for k, v in batch.items()})
                         for s in range(0, n, size)])
        return time.process_time() - t, out


times: dict[int, list[float]] = {n: [], bounded: []}
for _ in range(3):
    for size in (n, bounded):
        s, out = predict(size)
        times[size].append(s)
        if size == n:
            ref = out
diff = float((out - ref).abs().max())
for size in (n, bounded):
    print(f"{size:5d} windows a batch ({size * mb:,.0f} MB of inputs): "
          f"{1000 * np.median(times[size]) / n:.2f} CPU ms a window")
print(f"EVAL_BATCH_BYTES {EVAL_BATCH_BYTES / 2**20:.0f} MiB; largest logit difference {diff:.1e}")
