"""Reading the annotation folders (real scale: 247 + 70 files, 1.56 M lines; target ~1 s)."""

from __future__ import annotations

from harness.data.annotations import read_annotation_dir


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
