"""Reading, splitting and validating the MTL release at its real size (ABAW4/7: 142,333 +
26,876 annotated rows, 51,159 test images; quick mode: 100x fewer).

The release comes from the annotation-only synth (``harness.data.synth.scale_mtl``), written
once per session by the ``corpus`` fixture. Targets (reported, not asserted): read both
files < 2 s; five folds < 2 s; write + validate a full-size submission < 1 s; the release
as per-video sequences, as an MTL run reads it (``load_release(task="mtl")``) < 4 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.data.mtl import load_mtl_release
from harness.data.mtl_splits import mtl_fold_splits
from submissions.mtl import validate_mtl_submission, write_mtl_submission


@pytest.fixture(scope="module")
def mtl(corpus):
    return load_mtl_release(corpus.root)


def test_read_mtl_release(benchmark, corpus, sizes):
    rel = benchmark(load_mtl_release, corpus.root)
    want = (142_333, 26_876, 51_159) if sizes.real_scale else (1_423, 268, 511)
    assert (len(rel.train), len(rel.val), rel.test.n_rows) == want


def test_read_mtl_as_sequences(benchmark, corpus, sizes):
    from harness.data.release import load_release

    rel = benchmark(load_release, corpus.root, task="mtl")
    assert len(rel.train) + len(rel.val) == len(set(load_mtl_release(corpus.root).train.videos)
                                                | set(load_mtl_release(corpus.root).val.videos))
    labelled = sum(int(rel.task.valid(a).sum()) for a in (*rel.train.values(),
                                                          *rel.val.values()))
    assert labelled == ((142_333 + 26_876) if sizes.real_scale else (1_423 + 268))


def test_mtl_folds(benchmark, mtl):
    folds = benchmark(mtl_fold_splits, mtl)
    assert len(folds) == 5
    assert sorted(v for f in folds for v in f.val) == sorted(set(mtl.train.videos)
                                                             | set(mtl.val.videos))


def test_write_and_validate_mtl_submission(benchmark, mtl, tmp_path):
    n = mtl.test.n_rows
    rng = np.random.default_rng(0)
    preds = {"va": rng.uniform(-1, 1, (n, 2)), "expr": rng.integers(0, 8, n),
             "au": rng.integers(0, 2, (n, 12))}

    def run():
        path = write_mtl_submission(mtl.test, preds, tmp_path / "mtl.txt")
        return validate_mtl_submission(path, mtl.test)

    assert benchmark(run) == []


def test_validate_mtl_submission(benchmark, mtl, tmp_path):
    n = mtl.test.n_rows
    rng = np.random.default_rng(1)
    path = write_mtl_submission(mtl.test, {"va": rng.uniform(-1, 1, (n, 2)),
                                           "expr": rng.integers(0, 8, n),
                                           "au": rng.integers(0, 2, (n, 12))},
                                tmp_path / "mtl.txt")
    assert benchmark(validate_mtl_submission, path, mtl.test) == []
