"""VA / AU run folders made through the records API on tiny arrays (nothing is trained).

A "model" here is the truth plus noise: VA values near the truth, AU logits that lean towards
the truth, so figures are known to be good but not perfect, and ``noise`` orders two runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.records import TRAINED, FrameOutputs, RunFolder, RunInfo, evaluate, finish, start
from harness.tasks import get_task


def fake_outputs(task, names, lengths, truth, rng, noise: float) -> FrameOutputs:
    """Per-frame outputs of ``names``: truth + noise where truth is valid, noise elsewhere."""
    task = get_task(task)
    parts = []
    for name, n in zip(names, lengths):
        t = truth.get(name)
        if task.output_size == 2:  # VA values in [-1, 1]
            base = np.zeros((n, 2)) if t is None else np.where(t[:n] >= -1, t[:n], 0.0)
            parts.append(np.clip(base + rng.normal(scale=noise, size=(n, 2)), -1, 1))
        else:  # AU logits, positive where the AU is present
            base = np.zeros((n, 12)) if t is None else np.where(t[:n] >= 0, 3.0 * t[:n] - 1.5,
                                                                 0.0)
            parts.append(base + rng.normal(scale=4 * noise, size=(n, 12)) - 0.5)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    values = np.concatenate(parts).astype(np.float32) if parts else \
        np.zeros((0, task.output_size), np.float32)
    imputed = np.zeros(int(offsets[-1]), bool)
    imputed[::7] = True
    return FrameOutputs(tuple(names), offsets, values, imputed)


def make_task_run(workdir: Path, release, *, baseline: str = "attention_fusion",
                  split: str = "official", val_names=None, seed: int = 0, noise: float = 0.3,
                  test: bool = True, features: dict | None = None) -> RunFolder:
    """A finished run of ``release.task`` on ``split`` (validation: ``val_names``, default the
    release's), with test outputs for every template name, and its row in the store."""
    task = release.task
    rng = np.random.default_rng(seed + 1000 * int(noise * 100))
    labelled = release.train | release.val
    val_names = sorted(val_names if val_names is not None else release.val)
    train_names = sorted(n for n in labelled if n not in set(val_names))
    recipe = {"baseline": baseline, "noise": noise, "task": task.name}
    folder = start(workdir, f"{baseline}-{split}-", recipe | {"seed": seed},
                   {"name": split, "train": train_names, "val": val_names})
    val = fake_outputs(task, val_names, [len(labelled[n]) for n in val_names], labelled, rng,
                       noise)
    preds = folder.write_outputs("val", val, task)
    if test:
        tpl = release.template
        folder.write_outputs("test", fake_outputs(
            task, list(tpl.names), [tpl.n_frames[n] for n in tpl.names],
            _hidden(release), rng, noise), task)
    scores = evaluate(folder, {n: labelled[n] for n in val_names}, preds, baseline, task)
    info = RunInfo(kind=TRAINED, baseline=baseline, split=split, dataset=release.dataset,
                   task=task.name, data_root=str(release.root),
                   data_fingerprint=release.fingerprint, config_hash=f"{noise}-{seed}",
                   seed=seed, recipe=f"{baseline}-{noise}",
                   features=features or {"face": "light", "audio": "logmel"})
    finish(folder, info, scores, workdir)
    return folder


def _hidden(release) -> dict:
    from harness.data.testset import hidden_test_labels

    return hidden_test_labels(release) or {}
