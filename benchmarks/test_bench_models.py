"""Each registered baseline's forward and training step on cached-feature windows.

Full mode: batch 256 (the trainer's default), 5 timed rounds after 1 warm-up. The step is the
one ``harness.throughput`` times (forward, cross-entropy, backward, clip, AdamW), so the two agree.
"""

from __future__ import annotations

import contextlib

import pytest
import torch

from baselines import list_baselines
from harness.throughput.models import (
    build_model,
    infer_step,
    make_batch,
    model_dims,
    train_step,
    window_steps,
)

DIMS = {"face": 256, "audio": 1024, "pose": 36}
CPU = torch.device("cpu")
NAMES = [s.name for s in list_baselines()]


@pytest.mark.parametrize("name", NAMES)
def test_forward(benchmark, sizes, name):
    model, _ = build_model(name, DIMS, CPU, False)
    model.eval()
    batch = make_batch(model_dims(name, DIMS), sizes.model_batch, CPU, steps=window_steps(name))
    step = infer_step(model, batch, contextlib.nullcontext)
    logits = benchmark.pedantic(step, rounds=sizes.model_rounds, warmup_rounds=1)
    # a window baseline classifies the current frame; a sequence baseline every frame
    shape = (sizes.model_batch, 8) if logits.dim() == 2 else \
        (sizes.model_batch, window_steps(name), 8)
    assert logits.shape == shape and torch.isfinite(logits).all()


@pytest.mark.parametrize("name", NAMES)
def test_train_step(benchmark, sizes, name):
    model, _ = build_model(name, DIMS, CPU, False)
    model.train()
    batch = make_batch(model_dims(name, DIMS), sizes.model_batch, CPU, steps=window_steps(name))
    step = train_step(model, batch, contextlib.nullcontext)
    before = [p.detach().clone() for p in model.parameters()]
    loss = benchmark.pedantic(step, rounds=sizes.model_rounds, warmup_rounds=1)
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
