"""Reading the annotation folders and building the splits, per task (real scale: EXPR 247 + 70
files, 1.56 M lines; VA 334 + 76 files, 2.17 M lines; AU 320 + 105 files, 1.90 M lines).

Targets (reported, not asserted): each task's annotations read in <= 1 s, its official split
and five folds built in <= 5 s.
"""

from __future__ import annotations

import json
import warnings

import pytest

from harness.data.annotations import read_annotation_dir
from harness.data.release import load_release
from harness.data.splits import fold_splits, official_split
from harness.data.synth import files
from harness.tasks import get_task

TASKS = ("va", "au")


def _check(labels: dict, expected: dict[str, int]) -> None:
    assert set(labels) == set(expected)
    assert all(labels[n].size == k for n, k in expected.items())
    assert all(int(v.min()) >= -1 and int(v.max()) <= 7 for v in labels.values())


def test_read_train_set(benchmark, corpus):
    labels = benchmark(read_annotation_dir, corpus.train_dir)
    _check(labels, corpus.n_frames["train"])


def test_read_validation_set(benchmark, corpus):
    labels = benchmark(read_annotation_dir, corpus.val_dir)
    _check(labels, corpus.n_frames["val"])


def test_read_both_splits(benchmark, corpus):
    """The ~1 s target: both splits, as ``load_release`` reads them."""
    def both():
        return read_annotation_dir(corpus.train_dir), read_annotation_dir(corpus.val_dir)

    train, val = benchmark(both)
    lines = sum(v.size for v in train.values()) + sum(v.size for v in val.values())
    assert lines == sum(corpus.n_frames["train"].values()) + sum(corpus.n_frames["val"].values())


def _task_frames(corpus, name: str) -> dict[str, dict[str, int]]:
    return json.loads((corpus.root / files.MANIFEST).read_text())["tasks"][name]


@pytest.mark.parametrize("name", TASKS)
def test_read_task_both_splits(benchmark, corpus, name):
    """The <= 1 s target for VA and AU: Train_Set and Validation_Set of the task."""
    task = get_task(name)
    dirs = {s: corpus.root / d for s, d in files.task_split_dirs(task).items()}

    def both():
        return read_annotation_dir(dirs["train"], task), read_annotation_dir(dirs["val"], task)

    train, val = benchmark(both)
    expected = _task_frames(corpus, name)
    for split, labels in (("train", train), ("val", val)):
        assert {n: len(v) for n, v in labels.items()} == expected[split]
        assert all(v.shape[1] == task.output_size for v in labels.values())


@pytest.mark.parametrize("name", ("expr", *TASKS))
def test_build_task_splits(benchmark, corpus, name):
    """The <= 5 s target: the official split and the five folds of the task's release."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EXPR's planted train/val duplicate
        release = load_release(corpus.root, task=name)

    def splits():
        return official_split(release), fold_splits(release)

    official, folds = benchmark(splits)
    names = set(release.train) | set(release.val)
    assert set(official.train) | set(official.val) == names
    assert sorted(n for f in folds for n in f.val) == sorted(names)
