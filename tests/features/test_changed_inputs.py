"""Inputs that change under a cache, and user files that are not what they claim (issue 29).

Driven through ``python -m harness`` in a subprocess, as the user meets them, with a fresh
harness home per test so that nothing is shared with other tests' caches.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch


def harness(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, ABAW_HARNESS_HOME=str(home), COLUMNS="200", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "harness", *args], env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def data(tmp_path, synth_root) -> Path:
    """A copy of the synthetic corpus the test may change."""
    return Path(shutil.copytree(synth_root, tmp_path / "data"))


def test_restored_faces_are_recomputed_and_reported(tmp_path, data):
    """A name cached while its faces were away (zeros, flagged) is recomputed once they are
    back, with a warning naming it; an unchanged corpus then reuses the cache in silence."""
    from harness.features.face.backbones import create_backbone

    torch.manual_seed(0)
    weights = tmp_path / "light.pt"
    torch.save(create_backbone("light").state_dict(), weights)
    faces = data / "cropped_aligned"
    name = sorted(p.name for p in faces.iterdir())[0]
    (faces / name).rename(tmp_path / "held")
    home = tmp_path / "home"
    args = ["extract", "--data", str(data), "--modality", "face", "--no-finetune",
            "--face-weights", str(weights), "--quiet"]
    first = harness(*args, "--allow-missing-faces", home=home)
    assert first.returncode == 0, first.stderr
    [flag] = home.glob(f"cache/*/face-light-frozen-*/{name}/flag.npy")
    assert np.load(flag).all()  # no face at all: every row imputed

    (tmp_path / "held").rename(faces / name)
    second = harness(*args, home=home)
    assert second.returncode == 0, second.stderr
    said = " ".join(second.stderr.split())
    assert "changed" in said and name in said and "0 face images" in said, said
    assert not np.load(flag).all()  # recomputed from the restored faces

    third = harness(*args, home=home)
    assert third.returncode == 0 and "changed" not in third.stderr, third.stderr


def _keypoint_file(data: Path) -> Path:
    return sorted((data / "openpose").rglob("*_keypoints.json"))[0]


def test_nan_in_openpose_json_names_the_file_and_keypoint(tmp_path, data):
    """The pose cache is checked against its JSON files: a file edited after caching is read
    again, and a NaN in it blames the file, person and keypoint, with no numpy warning."""
    home = tmp_path / "home"
    args = ["extract", "--data", str(data), "--modality", "pose", "--quiet"]
    assert harness(*args, home=home).returncode == 0
    path = _keypoint_file(data)
    body = json.loads(path.read_text())
    person = next(i for i, p in enumerate(body["people"]) if p["pose_keypoints_2d"])
    body["people"][person]["pose_keypoints_2d"][3 * 2] = float("nan")  # RShoulder x
    path.write_text(json.dumps(body))  # Python writes NaN, as a broken exporter might
    out = harness(*args, home=home)
    said = " ".join((out.stdout + out.stderr).split())
    assert out.returncode == 2, said
    assert path.name in said and f"person {person}, keypoint 2 (RShoulder)" in said, said
    assert "row" not in said and "RuntimeWarning" not in said and "invalid value" not in said


@pytest.mark.parametrize("content", [b"hello, not weights\n", bytes(range(256)) * 20, b""],
                         ids=["text", "random-bytes", "empty"])
def test_face_weights_that_are_not_weights(tmp_path, content):
    from harness.errors import HarnessError
    from harness.features.weights import read_state_dict

    path = tmp_path / "emonet_8.pth"
    path.write_bytes(content)
    with pytest.raises(HarnessError, match="emonet_8.pth: not a PyTorch weights file"):
        read_state_dict(path)


def test_weights_options_refuse_unreadable_files_by_name(tmp_path, synth_root):
    home = tmp_path / "home"
    text = tmp_path / "notes.txt"
    text.write_text("these are not weights\n")
    noise = tmp_path / "noise.pth"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    for args, bad in ((["--modality", "face", "--face-weights", str(text)], text),
                      (["--modality", "audio", "--audio", "deepspectrum",
                        "--audio-weights", str(noise)], noise)):
        out = harness("extract", "--data", str(synth_root), *args, "--quiet", home=home)
        said = " ".join((out.stdout + out.stderr).split())
        assert out.returncode == 2 and bad.name in said, said
        assert "Traceback" not in said and "pickled whole model" not in said, said


def test_imported_files_that_are_not_features_are_named_without_traceback(tmp_path, synth_root,
                                                                          synth_release):
    """``extract --from``: a damaged zip, strings for times, values float32 cannot hold, and
    an ``.npz`` announcing 15 TiB are each refused naming the file (the last one unread)."""
    import io
    import zipfile

    from harness.features.extract import all_names

    src = tmp_path / "ext"
    src.mkdir()
    names = all_names(synth_release)
    for name in names:
        np.save(src / f"{name}.npy", np.ones((synth_release.n_frames(name), 4)))
    a, b, c, d = names[:4]
    np.save(src / f"{a}.npy", np.full((synth_release.n_frames(a), 4), 1e300))
    (src / f"{b}.npy").unlink()
    (src / f"{b}.npz").write_bytes(b"PK\x03\x04" + bytes(60))
    (src / f"{c}.npy").unlink()
    np.savez(src / f"{c}.npz", feat=np.ones((3, 4)), time=np.array(["0", "1", "2"]))
    (src / f"{d}.npy").unlink()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 4096)})
    with zipfile.ZipFile(src / f"{d}.npz", "w") as z:
        z.writestr("feat.npy", header.getvalue())
        z.writestr("time.npy", header.getvalue())
    out = harness("extract", "--data", str(synth_root), "--from", str(src), "--as", "ext",
                  home=tmp_path / "home")
    said = " ".join((out.stdout + out.stderr).split())
    assert out.returncode == 2 and "Traceback" not in said, said
    assert f"{a}.npy: NaN or inf at row 0" in said, said
    assert f"{b}.npz: not a readable numpy file (BadZipFile" in said, said
    assert f"{c}.npz: 'time' must hold numbers" in said, said
    assert f"{d}.npz: 'feat' announces (1000000000, 4096)" in said, said
