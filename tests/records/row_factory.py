"""Results-store rows for tests: one ``Result`` from a seed, and a row with fields replaced."""

from __future__ import annotations

import json

import numpy as np

from harness.records import Result

EYE = tuple(tuple(int(i == j) for j in range(8)) for i in range(8))


def make_result(baseline="attention_fusion", split="official", seed=0, created=None,
                dataset="synth-seed0", run_id=None) -> Result:
    rng = np.random.default_rng(seed)
    f1 = rng.random(8)
    kw = {"created": created} if created else {}
    return Result(run_id=run_id or f"{baseline}-{split}-{seed}", baseline=baseline, split=split,
                  dataset=dataset, per_class_f1=tuple(float(x) for x in f1),
                  accuracy=float(rng.random()), macro_f1=float(f1.mean()), confusion=EYE,
                  config_hash="c0ffee", data_fingerprint="fp", run_dir="/runs/x",
                  n_frames=100, extra={"seed": seed}, **kw)


def with_(r: Result, **kw) -> Result:
    return Result.from_dict({**json.loads(r.to_json()), **kw})
