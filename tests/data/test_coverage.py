"""Missing faces are never silent: a name without any face image is an error (or, allowed, a
warning per name); low coverage is listed; ``data info`` shows each part's coverage."""

import shutil
import warnings

import pytest

from harness.data.coverage import check_faces, face_coverage, release_coverage
from harness.data.release import load_release
from harness.errors import HarnessError
from tests.conftest import make_release


def _release(tmp_path, faces):
    rel = make_release(tmp_path / "r", train={"a": [0] * 10, "b": [1] * 10},
                       val={"v": [2] * 10}, test={"t": 4}, faces=faces)
    return load_release(rel)


def test_name_without_any_face_is_an_error_naming_it_and_the_roots(tmp_path):
    rel = _release(tmp_path, {"a": range(1, 11), "b": range(1, 11), "t": [1, 2, 3, 4]})
    with pytest.raises(HarnessError) as exc:
        check_faces(rel, ["a", "b", "v", "t"])
    message = str(exc.value)
    assert "1 name(s) have no face image at all: v" in message
    assert str(rel.layout.image_roots[0]) in message and "--allow-missing-faces" in message


def test_allowed_missing_faces_warn_once_per_name(tmp_path):
    rel = _release(tmp_path, {"a": range(1, 11)})
    with pytest.warns(UserWarning) as record:
        cov = check_faces(rel, ["a", "b", "v", "t"], allow_missing=True)
    texts = [str(w.message) for w in record]
    assert sorted(cov.without_face) == ["b", "t", "v"]
    for name in ("b", "t", "v"):
        assert sum(t.startswith(f"{name}: no face image") for t in texts) == 1


def test_low_coverage_is_listed(tmp_path):
    rel = _release(tmp_path, {"a": range(1, 11), "b": [1, 2, 3], "v": range(1, 11),
                              "t": [1, 2, 3, 4]})
    with pytest.warns(UserWarning, match=r"1 name\(s\) have a face image on fewer than 50 %.*"
                                         r"b \(30 %\)"):
        check_faces(rel, ["a", "b", "v", "t"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # full coverage: silent
        check_faces(rel, ["a", "v", "t"])


def test_faces_beyond_the_last_frame_do_not_count(tmp_path):
    rel = _release(tmp_path, {"t": [5, 6]})  # t has 4 frames: these jpgs are not its frames
    assert face_coverage(rel, ["t"]).with_face == {"t": 0}


def test_release_coverage_per_part(synth_root, tmp_path):
    root = tmp_path / "corpus"
    shutil.copytree(synth_root, root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rel = load_release(root)
    gone = sorted(rel.val)[0]
    shutil.rmtree(root / "cropped_aligned" / gone)
    rel.faces._frames.clear()  # listed again
    parts = {c.part: c for c in release_coverage(rel)}
    assert list(parts) == ["train", "validation", "test"]
    val = parts["validation"]
    assert val.without_face == [gone] and val.names == len(rel.val)
    assert 0 < val.face_frames < val.frames
    train = parts["train"]
    assert train.without_face == [] and train.without_audio == 1  # the corpus's silent video
    assert train.with_audio + train.without_audio == train.videos
    assert all(p.pose_names == p.names and p.no_video_file == 0 for p in parts.values())
    assert 1.8 < parts["test"].pose_files / parts["test"].pose_seconds < 2.2
