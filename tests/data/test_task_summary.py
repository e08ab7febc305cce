"""``task_summary``: per part names, frames, valid frames and the task's label summary."""

from __future__ import annotations

import numpy as np
import pytest

from harness.data.release import load_release
from harness.data.task_summary import task_summary
from harness.tasks import get_task


@pytest.mark.parametrize("name", ["expr", "va", "au"])
def test_summary_per_part(task_release, tiny_release, name):
    release = load_release(tiny_release if name == "expr" else task_release(name), task=name)
    parts = task_summary(release)
    assert [p.part for p in parts] == ["train", "validation", "test"]
    train = parts[0]
    assert train.names == len(release.train)
    assert train.frames == sum(len(v) for v in release.train.values())
    assert train.valid_frames == sum(int(get_task(name).valid(v).sum())
                                     for v in release.train.values())
    assert parts[2].valid_frames is None and parts[2].frames == release.template.n_rows
    labels = train.to_dict()
    if name == "expr":
        assert sum(labels["class_counts"].values()) == train.valid_frames
    elif name == "va":
        v = np.concatenate([a[get_task("va").valid(a)] for a in release.train.values()])
        assert labels["valence"]["mean"] == pytest.approx(v[:, 0].mean(), abs=1e-6)
        assert labels["arousal"]["std"] == pytest.approx(v[:, 1].std(), abs=1e-6)
    else:
        assert labels["au_positives"]["AU1"] == sum(
            int(a[get_task("au").valid(a), 0].sum()) for a in release.train.values())
