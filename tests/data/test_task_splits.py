"""Official split and five folds per task, grouped by recording, stratified on the task's labels."""

from __future__ import annotations

import numpy as np
import pytest

from harness.data.release import load_release
from harness.data.splits import SPLIT_NAMES, fold_splits, get_split, split_summary
from harness.data.videos import recording_of
from harness.tasks import get_task


def values(task, n, rng):
    if task.output_size == 2:
        return rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    return (rng.random((n, 12)) < 0.4).astype(np.int8)


@pytest.fixture(params=["va", "au"])
def release(request, task_release):
    task = get_task(request.param)
    rng = np.random.default_rng(3)
    train = {f"{k}-30-640x360": values(task, 40, rng) for k in range(8)}
    train |= {"9-30-640x360_left": values(task, 30, rng),
              "9-30-640x360_right": values(task, 30, rng),
              "12-25-480x360-1": values(task, 20, rng), "12-25-480x360-2": values(task, 20, rng)}
    val = {f"video{k}": values(task, 35, rng) for k in range(3)}
    return load_release(task_release(task.name, train=train, val=val), task=task)


def test_official_split_is_the_task_folders(release):
    official = get_split(release, "official")
    assert set(official.train) == set(release.train) and set(official.val) == set(release.val)


def test_five_folds_grouped_by_recording_cover_every_name_once(release):
    folds = fold_splits(release)
    names = set(release.train) | set(release.val)
    assert [f.name for f in folds] == list(SPLIT_NAMES[1:])
    seen = [n for f in folds for n in f.val]
    assert sorted(seen) == sorted(names)
    for fold in folds:
        assert not set(fold.train) & set(fold.val)
        for group in ({"9-30-640x360_left", "9-30-640x360_right"},
                      {"12-25-480x360-1", "12-25-480x360-2"}):
            assert group <= set(fold.train) or group <= set(fold.val)
        assert {recording_of(n) for n in fold.train}.isdisjoint(
            {recording_of(n) for n in fold.val})
    assert fold_splits(release) == folds  # seeded


def test_split_summary_holds_the_tasks_label_summary(release):
    summary = split_summary(release, get_split(release, "official"))
    train = summary["train"]
    assert train["videos"] == 12 and train["recordings"] == 10
    assert train["labelled_frames"] == sum(int(release.task.valid(release.labels(n)).sum())
                                           for n in release.train)
    if release.task.output_size == 2:
        assert set(train) >= {"valence", "arousal"}
        assert -1 <= train["valence"]["mean"] <= 1
    else:
        assert sum(train["au_positives"].values()) > 0 and len(train["au_rates"]) == 12
