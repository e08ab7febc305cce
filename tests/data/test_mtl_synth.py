"""The embedded corpus's s-Aff-Wild2 (MTL) release, and the annotation-only one at real size."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from harness.data.mtl import load_mtl_release, read_mtl_annotations
from harness.data.synth import files, synthesize
from harness.data.synth.mtl import missing_rates, task_rates
from harness.data.synth.scale import TINY, plan_scale
from harness.data.synth.scale_mtl import _sizes, missing_layout, write_mtl_scale
from harness.tasks import get_task


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mtl_synth") / "corpus"
    synthesize(root, seed=3, videos=3, seconds=3, progress=False)
    return root


def test_laid_out_as_abaw7_with_hidden_truth(corpus):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rel = load_mtl_release(corpus)  # every row's image checked, test images too
    assert rel.edition == "ABAW7/11" and rel.test.trailing_comma
    assert rel.layout.test_images == corpus / "test_data" / "cropped_aligned"
    assert len(rel.train) and len(rel.val) and rel.test.n_rows
    truth = read_mtl_annotations(corpus / get_task("mtl").hidden_truth)
    assert tuple(truth.images) == rel.test.images
    meta = json.loads((corpus / files.MANIFEST).read_text())
    side = {n: info["split"] for n, info in meta["names"].items()}
    for split, rows in (("train", rel.train), ("val", rel.val), ("test", truth)):
        assert {side[v] for v in rows.videos} == {split}  # a person keeps its side
        assert meta["mtl"]["rows"][split] == len(rows)
        assert meta["mtl"]["valid"][split] == {"va": int(rows.va_valid.sum()),
                                               "expr": int(rows.expr_valid.sum()),
                                               "au": int(rows.au_valid.sum())}


def test_rows_are_sparse_frames_with_tasks_missing(corpus):
    rel = load_mtl_release(corpus)
    rows = rel.train
    for video in set(rows.videos):
        frames = rows.frames[rows.videos == video]
        gaps = np.diff(frames)  # 1..9 drawn; longer where faces or labels are missing
        assert (gaps >= 1).all() and np.median(gaps) <= 9 if gaps.size else True
        assert frames.size < frames.max()  # sparse, not every frame
    ok = np.stack([rows.va_valid, rows.expr_valid, rows.au_valid], axis=1)
    assert ok.any(axis=1).all()
    assert (ok.sum(axis=1) < 3).any()
    assert rel.val.va_valid.all() and rel.val.au_valid.all()  # as the release's validation


def test_missing_rates_give_the_release_shares_among_kept_rows():
    rng = np.random.default_rng(0)
    rates = task_rates("train")
    assert rates == pytest.approx([103_917 / 142_333, 90_645 / 142_333, 103_316 / 142_333])
    gone = rng.random((400_000, 3)) < missing_rates(rates)
    kept = ~gone[~gone.all(axis=1)]
    assert kept.mean(axis=0) == pytest.approx(rates, abs=0.005)


def test_real_sizes_exactly():
    rows = {s: _sizes(s, True) for s in ("train", "val", "test")}
    assert [rows[s][0] for s in rows] == [142_333, 26_876, 51_159]
    assert rows["train"][1] == {"va": 103_917, "expr": 90_645, "au": 103_316}
    assert rows["val"][1] == {"va": 26_876, "expr": 15_440, "au": 26_876}
    assert rows["train"][2].tolist() == [23_976, 4_555, 3_168, 3_122, 18_135, 7_609, 5_228,
                                         24_852]
    ok = missing_layout(np.random.default_rng(0), 142_333, rows["train"][1])
    assert ok.sum(axis=0).tolist() == [103_917, 90_645, 103_316]
    assert ok.any(axis=1).all() and (ok.sum(axis=1) == 1).any()


def test_annotation_only_release_is_read_back(tmp_path):
    plan = plan_scale(0, TINY)
    meta = write_mtl_scale(tmp_path, 0, plan, real_scale=False)
    rel = load_mtl_release(tmp_path)
    assert (len(rel.train), len(rel.val), rel.test.n_rows) == (1_423, 268, 511)
    assert meta["valid"]["train"] == {"va": int(rel.train.va_valid.sum()),
                                      "expr": int(rel.train.expr_valid.sum()),
                                      "au": int(rel.train.au_valid.sum())}
    again = tmp_path / "again"
    write_mtl_scale(again, 0, plan, real_scale=False)
    for name in ("training_set_annotations.txt", "test_set_examples/MTL.txt"):
        assert (again / name).read_bytes() == (tmp_path / name).read_bytes()


@pytest.mark.parametrize("n, rows", [(3, 20), (4, 268), (8, 511), (22, 1_423), (43, 26_876),
                                     (228, 142_333), (82, 51_159)])
def test_rows_per_video_folder_fit_and_sum(n, rows):
    from harness.data.synth.scale_mtl import _lengths

    lengths = _lengths(np.random.default_rng(0), n, rows)
    assert len(lengths) == n and lengths.sum() == rows and lengths.min() >= 2
