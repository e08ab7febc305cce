"""``--task mtl`` through the real command line (``data info``, ``splits``, ``validate``) and
the Python API beside it, on a small annotation-only s-Aff-Wild2 release in a tmp dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import harness
from harness.data.mtl import TEST_HEADER, read_mtl_annotations
from harness.data.synth.scale import TINY, plan_scale
from harness.data.synth.scale_mtl import write_mtl_scale
from harness.errors import HarnessError
from harness.metrics.mtl import mtl_scores
from harness.tasks import get_task
from submissions.mtl import write_mtl_submission


def harness_cli(*args, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "harness", *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "250"})
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """ABAW7's layout: 1,423 / 268 training / validation rows, 511 test images, hidden truth."""
    root = tmp_path_factory.mktemp("mtl_cli") / "release"
    write_mtl_scale(root, 0, plan_scale(0, TINY), real_scale=False)
    return root


@pytest.fixture(scope="module")
def submission(release, tmp_path_factory) -> tuple[Path, dict]:
    """A valid submission: truth with noise on VA, some expressions and AUs wrong."""
    truth = read_mtl_annotations(release / get_task("mtl").hidden_truth)
    rng = np.random.default_rng(0)
    n = len(truth)
    preds = {"va": np.where(truth.va_valid[:, None], truth.va, 0) + rng.normal(0, 0.3, (n, 2)),
             "expr": np.where(rng.random(n) < 0.6, np.maximum(truth.expr, 0),
                              rng.integers(0, 8, n)).astype(np.int64),
             "au": np.where(rng.random((n, 12)) < 0.8, np.maximum(truth.au, 0),
                            1 - np.maximum(truth.au, 0)).astype(np.int64)}
    harness_list = harness.mtl_info(release).release.test
    path = write_mtl_submission(harness_list, preds, tmp_path_factory.mktemp("sub") / "s.txt")
    return path, preds


def test_data_info_shows_rows_task_counts_classes_and_aus(release):
    out = harness_cli("data", "info", "--task", "mtl", "--data", release).stdout
    assert "ABAW7/11" in out and "a trailing comma per image" in out
    info = harness.mtl_info(release)
    train, val, test = info.parts
    assert (train.frames, val.frames, test.frames) == (1_423, 268, 511)
    labels = train.labels
    for figure in (train.frames, labels["va_valid"], labels["expr_valid"], labels["au_valid"],
                   *labels["class_counts"].values(), *labels["au_positives"].values()):
        assert f"{figure:,}" in out
    assert "Images per expression class" in out and "AU26" in out


def test_splits_official_and_five_folds_written_and_read_back(release, tmp_path):
    members = tmp_path / "folds.json"
    out = harness_cli("splits", "--task", "mtl", "--data", release, "--write", members).stdout
    assert all(name in out for name in ("official", "fold1", "fold5"))
    written = json.loads(members.read_text())
    assert [s["name"] for s in written["splits"]] == ["official"] + [f"fold{k}"
                                                                     for k in range(1, 6)]
    again = harness.mtl_splits(release, folds=members)
    assert [s.to_dict() for s in again.splits] == written["splits"]
    videos = set(again.release.train.videos) | set(again.release.val.videos)
    for fold in again.splits[1:]:
        assert set(fold.train) | set(fold.val) == videos and not set(fold.train) & set(fold.val)


def test_validate_and_score_against_the_hidden_truth(release, submission):
    path, preds = submission
    proc = harness_cli("validate", "--task", "mtl", "--data", release, path, "--score")
    truth = read_mtl_annotations(release / get_task("mtl").hidden_truth)
    want = mtl_scores(truth.va, np.round(np.clip(preds["va"], -1, 1), 6), truth.expr,
                      preds["expr"], truth.au, preds["au"])
    assert "valid" in proc.stdout and f"P_MTL {want.p_mtl:.4f}" in proc.stdout
    assert f"P_VA {want.p_va:.4f} + P_EXPR {want.p_expr:.4f} + P_AU {want.p_au:.4f}" in \
        proc.stdout
    done = harness.mtl_validate(path, data=release, score=True)
    assert done.valid and done.scores.p_mtl == pytest.approx(want.p_mtl, abs=1e-6)
    assert harness.mtl_validate(path, data=release).scores is None  # scored only when asked


def test_every_problem_with_its_line_and_exit_1(release, submission, tmp_path):
    lines = submission[0].read_text().splitlines()
    lines[0] = "image,valence,arousal,expression," + ",".join(get_task("au").columns)
    lines[2] = lines[2] + ","  # as copied from ABAW7's MTL.txt
    lines[4] = lines[4].split(",")[0] + ",2,0,3," + ",".join(["0"] * 12)
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines) + "\n")
    proc = harness_cli("validate", "--task", "mtl", "--data", release, bad, "--score",
                       check=False)
    assert proc.returncode == 1 and "P_MTL" not in proc.stdout
    err = proc.stderr.replace("\n", " ")
    assert f"{bad}:1: header" in err and "(5 names; the 12 AUs are not listed)" in err
    assert f"{bad}:3: 17 field(s)" in err and "ends with a comma" in err
    assert f"{bad}:5: valence '2' is outside [-1, 1]" in err
    assert f"1 test image(s) have no row, first {lines[2].split(',')[0]!r}" in err  # line 3's
    assert "4 problem(s) shown" in err


def test_test_list_of_any_edition_and_a_truth_file(release, submission, tmp_path):
    """ABAW4's list (no trailing comma) as --template; --truth scores against any file."""
    path, _ = submission
    images = harness.mtl_info(release).release.test.images
    abaw4 = tmp_path / "MTL_Challenge_test_set_release.txt"
    abaw4.write_text(TEST_HEADER + "\n" + "".join(f"{i}\n" for i in images))
    truth = release / get_task("mtl").hidden_truth
    done = harness.mtl_validate(path, template=abaw4, truth=truth)
    assert done.valid and done.truth == truth and done.scores is not None
    harness_cli("validate", "--task", "mtl", "--template", abaw4, "--truth", truth, path)


def test_refusals_exit_2(release, submission, tmp_path):
    path, _ = submission
    bare = tmp_path / "bare"
    write_mtl_scale(bare, 1, plan_scale(1, TINY), real_scale=False)
    (bare / get_task("mtl").hidden_truth).unlink()  # a real release has no hidden truth
    proc = harness_cli("validate", "--task", "mtl", "--data", bare, path, "--score",
                       check=False)
    assert proc.returncode == 2 and "no hidden MTL test labels" in proc.stderr
    with pytest.raises(HarnessError, match="pass --truth"):
        harness.mtl_validate(path, data=bare, score=True)
    proc = harness_cli("validate", "--data", release, path, "--score", check=False)
    assert proc.returncode == 2 and "--score and --truth are for --task mtl" in proc.stderr
    (tmp_path / "empty").mkdir()
    with pytest.raises(HarnessError, match="is not an MTL \\(s-Aff-Wild2\\) release"):
        harness.mtl_info(tmp_path / "empty")
    with pytest.raises(HarnessError, match="ABAW_IMAGES do not apply to it"):
        harness.load_release(release, task="mtl", image_roots=(tmp_path,))
