import numpy as np
import pytest

from harness.data.face_index import FaceIndex, nearest_frames
from harness.data.layout import find_release
from harness.data.release import load_release
from harness.data.splits import SPLIT_NAMES, fold_splits, get_split, official_split
from harness.data.videos import side_of, video_of
from harness.errors import HarnessError
from tests.conftest import make_release, write_labels


def test_finds_abaw5_layout(tiny_release):
    lay = find_release(tiny_release)
    assert lay.edition == "ABAW5" and lay.train_dir.name == "Train_Set"
    assert lay.template.name == "CVPR_5th_ABAW_EXPR_test_set_sample.txt"
    assert lay.test_list.name.startswith("Expression_Classification")
    assert [p.name for p in lay.image_roots] == ["cropped_aligned"]


@pytest.mark.parametrize("ann, expr", [
    ("6th ABAW Annotations", "EXPR_Recognition_Challenge"),
    ("annotations", "EXPR_Recognition_Challenge"),
])
def test_finds_abaw6_and_abaw10(tmp_path, ann, expr):
    for split in ("Train_Set", "Validation_Set"):
        write_labels(tmp_path / ann / expr / split / "v.txt", [0, 1])
    assert find_release(tmp_path).train_dir == tmp_path / ann / expr / "Train_Set"


def test_not_a_release(tmp_path):
    with pytest.raises(HarnessError, match="does not exist"):
        find_release(tmp_path / "nope")
    with pytest.raises(HarnessError, match="not an Aff-Wild2 EXPR release"):
        find_release(tmp_path)


def test_several_image_roots(tmp_path):
    root = make_release(tmp_path)
    for batch, frames in (("batch1", [1, 2]), ("batch2", [4])):
        d = root / "cropped_aligned_new" / batch / "vid0"
        d.mkdir(parents=True)
        for k in frames:
            (d / f"{k:05d}.jpg").write_bytes(b"")
    faces = FaceIndex(find_release(root).image_roots)
    assert faces.frames("vid0").tolist() == [1, 2, 4]
    assert faces.path("vid0", 4).parent.parent.name == "batch2"


def test_nearest_face():
    have = np.array([2, 5, 9])
    assert nearest_frames(have, 10).tolist() == [2, 2, 2, 5, 5, 5, 5, 9, 9, 9]
    assert nearest_frames(np.array([], dtype=int), 3).tolist() == [0, 0, 0]


def test_left_right_naming():
    assert video_of("46-30-484x360_left") == "46-30-484x360"
    assert side_of("x_right") == "right" and side_of("x") is None
    assert video_of("plain") == "plain"


def test_duplicate_is_reported_and_kept_in_validation(tmp_path):
    root = make_release(tmp_path, train={"a": [0], "dup": [1, 2]}, val={"dup": [1, 2], "b": [3]})
    with pytest.warns(UserWarning, match="dup"):
        rel = load_release(root)
    assert "dup" not in rel.train and "dup" in rel.val and rel.duplicates == ("dup",)
    split = official_split(rel)
    assert "dup" in split.val and "dup" not in split.train


def test_folds_grouped_by_video_seeded_and_complete(tiny_release):
    rel = load_release(tiny_release)
    folds = fold_splits(rel)
    assert [f.name for f in folds] == list(SPLIT_NAMES[1:])
    pooled = set(rel.train) | set(rel.val)
    vals = [set(f.val) for f in folds]
    assert set().union(*vals) == pooled and sum(map(len, vals)) == len(pooled)
    for f in folds:
        assert not set(f.train) & set(f.val)
        both = {"pair_left", "pair_right"}
        assert both <= set(f.train) or both <= set(f.val)
    assert fold_splits(rel) == folds  # seeded
    assert get_split(rel, "fold3") == folds[2]
    with pytest.raises(HarnessError, match="unknown split"):
        get_split(rel, "fold9")


def test_fingerprint_changes_with_labels(tmp_path):
    a = load_release(make_release(tmp_path / "a"))
    b_root = make_release(tmp_path / "b")
    write_labels(next((b_root / "5th_ABAW_Annotations").rglob("vid0.txt")), [0, 0, 0])
    assert a.fingerprint != load_release(b_root).fingerprint
    assert a.fingerprint == load_release(tmp_path / "a").fingerprint


def test_env_overrides_one_piece_at_a_time(tmp_path, monkeypatch):
    root = make_release(tmp_path / "r")
    other = tmp_path / "faces_elsewhere"
    (other / "vid0").mkdir(parents=True)
    (other / "vid0" / "00003.jpg").write_bytes(b"")
    monkeypatch.setenv("ABAW_IMAGES", str(other))
    rel = load_release(root)
    assert rel.layout.image_roots == (other,) and rel.faces.frames("vid0").tolist() == [3]


def test_test_name_without_template_rows_names_the_line(tmp_path):
    from harness.errors import ReleaseFormatError

    root = make_release(tmp_path / "r", test={"t1": 3, "t2": 4})
    lst = root / "names_of_videos_in_each_test_set"
    (lst / "Expression_Classification_Challenge_test_set_release.txt").write_text("t1\nt9\nt2\n")
    rel = load_release(root)
    with pytest.raises(ReleaseFormatError, match="'t9' has no rows") as exc:
        _ = rel.test_names
    assert exc.value.line == 2
