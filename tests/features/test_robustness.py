"""Bad input, interrupted and concurrent work: every case gets a clear error or a safe result."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from harness.data.videos import probe_video
from harness.errors import ReleaseFormatError
from harness.features.face.images import FaceFiles, FaceImages, to_model_input
from harness.features.timeline import fill_from_nearest


def test_corrupt_and_empty_jpgs_are_no_face(tmp_path):
    good = tmp_path / "00001.jpg"
    cv2.imwrite(str(good), np.full((112, 112, 3), 200, np.uint8))
    empty = tmp_path / "00002.jpg"
    empty.write_bytes(b"")
    corrupt = tmp_path / "00003.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    files = FaceFiles((str(tmp_path),), np.zeros(3, np.int32), np.array([1, 2, 3], np.int32))
    ds = FaceImages(files, 112)
    oks = [ds[i][1] for i in range(3)]
    assert oks == [True, False, False]
    assert ds[1][0].shape == (112, 112, 3) and int(ds[1][0].max()) == 0  # black, masked out
    img = to_model_input(ds[0][0][None], 64)
    assert img.shape == (1, 3, 64, 64) and float(img.max()) <= 1.0
    feat, flag = fill_from_nearest(np.array([[1.0], [5.0]], np.float32), np.array([2, 6]), 7, 1)
    assert feat[:, 0].tolist() == [1, 1, 1, 1, 5, 5, 5]
    assert flag.tolist() == [True, False, True, True, True, False, True]


def test_truncated_video_is_a_clear_error(tmp_path, synth_root):
    video = next((synth_root / "videos").glob("*.mp4"))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(video.read_bytes()[:2000])
    with pytest.raises(ReleaseFormatError, match="cut.mp4"):
        probe_video(cut)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(ReleaseFormatError, match="empty.mp4"):
        probe_video(empty)


def test_eight_runs_at_once_share_caches_and_store(tmp_path, synth_root):
    """Eight `harness run` processes on one corpus, one cache, one results store."""
    env = dict(os.environ, ABAW_HARNESS_HOME=str(tmp_path / "home"), COLUMNS="200",
               OMP_NUM_THREADS="1")  # 8 processes on 2 cores: no thread spin-waiting
    work = tmp_path / "work"
    procs = [subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "current_face", "--data", str(synth_root),
         "--workdir", str(work), "--face-epochs", "1", "--seed", str(k), "--face-oof", "3",
         "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(8)]
    outs = [p.communicate(timeout=900) for p in procs]
    for p, (_, e) in zip(procs, outs):
        assert p.returncode == 0, e
    from leaderboard import read_results

    rows = read_results(work / "leaderboard.jsonl")
    assert len(rows) == 8 and len({r.run_id for r in rows}) == 8
    assert len({round(r.macro_f1, 12) for r in rows}) == 1  # one shared face model
    models = [p.stem for p in (tmp_path / "home").rglob("face_models/*.pt")]
    full = [m for m in models if "-oof" not in m]  # the others: the cross-fitting models
    folds = [m.split("-oof")[1].split("-")[0] for m in models if "-oof" in m]
    assert len(full) == 1 and len(folds) == len(set(folds)) >= 2  # each trained once
