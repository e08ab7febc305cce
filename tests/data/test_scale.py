"""The features-only corpus (100x smaller than real scale here): files in the import format,
learnable signal, and the whole training path through the CLI with per-stage measurements."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from harness.data.annotations import read_annotation_dir
from harness.data.release import load_release
from harness.data.synth import files
from harness.data.synth.scale_features import (
    FACE_CLASSES,
    FeatureDims,
    synthesize_features_only,
)
from harness.data.videos import video_of
from harness.measure import StageClock, rss_anon_mb


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("features_only") / "corpus"
    summary = synthesize_features_only(root, seed=1, real_scale=False, progress=False)
    return root, summary


def test_files_in_the_import_format(corpus):
    root, summary = corpus
    release = load_release(root)
    names = sorted(set(release.train) | set(release.val) | set(release.template.names))
    assert summary.n_test == 23 and summary.n_videos == len({video_of(n) for n in names})
    for name in names:
        face = np.load(root / "features" / "face" / f"{name}.npy")
        assert face.shape == (release.n_frames(name), 256) and face.dtype == np.float32
        with np.load(root / "features" / "pose" / f"{name}.npz") as z:
            assert z["feat"].shape[1] == 36 and np.all(np.diff(z["time"]) == 0.5)
        with np.load(root / "features" / "audio" / f"{video_of(name)}.npz") as z:
            assert z["feat"].shape == (z["time"].size, 1024)
        info = release.video_info(name)  # the time base: fps from the container, as always
        assert round(info.fps, 2) in (25.0, 29.97, 30.0)
        assert info.n_frames == max(release.n_frames(n) for n in names
                                    if video_of(n) == video_of(name))
    manifest = json.loads((root / files.MANIFEST).read_text())
    assert manifest["complete"] and manifest["features"]["audio"]["dim"] == 1024


def test_face_features_carry_the_label(corpus):
    """One frame is a weak cue, the mean of a few frames a strong one; Fear == Surprise."""
    root, _ = corpus
    labels = read_annotation_dir(root / files.SPLIT_DIRS["train"])
    x = np.concatenate([np.load(root / "features" / "face" / f"{n}.npy") for n in labels])
    y = np.concatenate(list(labels.values())).astype(np.int64)
    keep = y >= 0
    x, y = x[keep], np.asarray(FACE_CLASSES)[y[keep]]
    means = np.stack([x[y == c].mean(0) if (y == c).any() else np.zeros(256) for c in range(8)])
    nearest = ((x[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    accuracy = (nearest == y).mean()
    assert 0.2 < accuracy < 0.8  # far above chance (1/7), far from trivial
    assert 3 in y and 6 not in y  # Surprise shows as Fear in the face


def test_same_seed_same_features(tmp_path, corpus):
    root, _ = corpus
    again = synthesize_features_only(tmp_path / "again", seed=1, real_scale=False,
                                     dims=FeatureDims(), progress=False)
    name = sorted((root / "features" / "face").iterdir())[3].name
    np.testing.assert_array_equal(np.load(root / "features" / "face" / name),
                                  np.load(again.root / "features" / "face" / name))


def test_stage_clock_records_time_and_anonymous_memory():
    clock = StageClock(interval_s=0.005)
    with clock.stage("allocate"):
        block = np.ones(64 * 2**20 // 8)  # 64 MiB of anonymous memory
        block.sum()
        during = rss_anon_mb()  # what the process holds with the block (allocator-dependent)
    del block
    with clock.stage("idle"):
        pass
    clock.close()
    (alloc, idle) = clock.records
    assert alloc["stage"] == "allocate" and alloc["seconds"] >= 0
    if rss_anon_mb() is not None:  # Linux
        assert alloc["peak_rss_anon_mb"] >= round(during, 1) - 0.1  # the peak, not the start
        assert clock.peak_mb() == alloc["peak_rss_anon_mb"]


def _harness(*args: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "harness", *args], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_import_and_train_without_media(tmp_path, corpus):
    """The README's features-only commands: three imports, then attention_fusion on them."""
    root, _ = corpus
    env = dict(os.environ, ABAW_HARNESS_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1",
               COLUMNS="200")
    for modality, name in (("face", "face256"), ("audio", "audio1024"), ("pose", "pose36")):
        _harness("extract", "--data", str(root), "--from", str(root / "features" / modality),
                 "--as", name, "--quiet", env=env)
    work = tmp_path / "work"
    _harness("run", "attention_fusion", "--data", str(root), "--workdir", str(work),
             "--face-features", "face256", "--audio-features", "audio1024",
             "--pose-features", "pose36", "--epochs", "1", "--quiet", env=env)
    (run,) = (work / "runs").iterdir()
    info = json.loads((run / "run.json").read_text())
    assert info["features"] == {"face": "import:face256", "audio": "import:audio1024",
                                "pose": "import:pose36", "training": "max_epochs 1"}
    stages = [s["stage"] for s in info["stages"]]
    assert stages == ["features", "windows", "train epoch 1", "validate epoch 1",
                      "predict validation", "predict test", "write run folder"]
    if rss_anon_mb() is not None:
        assert 0 < info["peak_rss_anon_mb"] < 2048
    assert json.loads((run / "metrics.json").read_text())["macro_f1"] > 0


SLURM = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "slurm")


def _array(script: str, tasks: range, **env: str) -> list[str]:
    """The command each array task of ``script`` runs (``DRY_RUN``: printed, not run)."""
    out = []
    for task in tasks:
        done = subprocess.run(["bash", os.path.join(SLURM, script)], capture_output=True,
                              text=True, env=dict(os.environ, DRY_RUN="1",
                                                  SLURM_ARRAY_TASK_ID=str(task), **env))
        assert done.returncode == 0, done.stderr
        out.append(done.stdout.strip())
    return out


def test_slurm_arrays_cover_every_split_shard_and_seed():
    splits = ["official", "fold1", "fold2", "fold3", "fold4", "fold5"]
    extract = _array("extract.sbatch", range(48))
    wanted = {(s, f"{k}/8") for s in splits for k in range(1, 9)}
    got = {(c.split("--split ")[1].split()[0], c.split("--shard ")[1].split()[0])
           for c in extract}
    assert got == wanted and len(extract) == 48
    assert all(("--modality audio" in c) == ("--split official" in c) for c in extract)
    first = _array("extract.sbatch", range(0, 48, 8))  # submit.sh's first step: stage 1
    assert [c.split("--split ")[1].split()[0] for c in first] == splits
    runs = _array("runs.sbatch", range(18))
    pairs = {(c.split("--split ")[1].split()[0], c.split("--seed ")[1].split()[0]) for c in runs}
    assert pairs == {(s, str(k)) for s in splits for k in range(3)}
