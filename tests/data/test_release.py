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


def test_recording_strips_side_and_segment_number():
    from harness.data.videos import recording_of

    assert recording_of("28-30-1280x720-2") == "28-30-1280x720"
    assert recording_of("122-60-1920x1080-4") == "122-60-1920x1080"
    assert recording_of("24-30-1920x1080-1_left") == "24-30-1920x1080"
    assert recording_of("135-24-1920x1080_left") == "135-24-1920x1080"
    for plain in ("10-60-1280x720", "video63", "134", "282"):
        assert recording_of(plain) == plain


def test_folds_keep_the_segments_of_one_recording_together(tmp_path):
    """Real names: the official split puts -2 in validation and -1, -3, -4 in train."""
    rng = np.random.default_rng(1)
    segments = [f"28-30-1280x720-{k}" for k in (1, 3, 4)]
    train = {n: rng.integers(0, 8, 30) for n in
             [*segments, "10-60-1280x720", "10-60-1280x720_right", "video2", "video2_left",
              *(f"{i}-30-640x360" for i in range(20, 30)), "134", "282"]}
    val = {n: rng.integers(0, 8, 30) for n in
           ["28-30-1280x720-2", "122-60-1920x1080-1", "122-60-1920x1080-3", "video63"]}
    rel = load_release(make_release(tmp_path, train=train, val=val))
    recordings = [{f"28-30-1280x720-{k}" for k in (1, 2, 3, 4)},
                  {"122-60-1920x1080-1", "122-60-1920x1080-3"},
                  {"10-60-1280x720", "10-60-1280x720_right"}, {"video2", "video2_left"}]
    for fold in fold_splits(rel):
        for names in recordings:
            assert names <= set(fold.train) or names <= set(fold.val), (fold.name, names)


def test_folds_are_rebuilt_from_a_membership_file(tiny_release, tmp_path, monkeypatch):
    """A different scikit-learn (simulated: another shuffle) must not change written folds."""
    import sklearn.model_selection as model_selection  # splits imports it lazily, from here

    from harness.api.data import write_membership

    rel = load_release(tiny_release)
    written = [get_split(rel, n) for n in SPLIT_NAMES]
    path = tmp_path / "folds.json"
    write_membership(path, rel, written)

    real = model_selection.StratifiedGroupKFold

    class OtherVersion(real):  # the same folds, numbered the other way round
        def split(self, *args):
            return reversed(list(super().split(*args)))

    monkeypatch.setattr(model_selection, "StratifiedGroupKFold", OtherVersion)
    assert [get_split(rel, n) for n in SPLIT_NAMES[1:]] != written[1:]  # recomputed: changed
    rebuilt = [get_split(rel, n, membership=path) for n in SPLIT_NAMES]
    assert rebuilt == written


def test_membership_file_of_another_release_is_refused(tiny_release, tmp_path):
    import json

    from harness.errors import ReleaseFormatError

    rel = load_release(tiny_release)
    path = tmp_path / "folds.json"
    path.write_text(json.dumps({"splits": [{"name": "fold1", "train": ["vid0", "elsewhere"],
                                            "val": ["val0"]}]}))
    with pytest.raises(ReleaseFormatError, match="folds.json.*'elsewhere'"):
        get_split(rel, "fold1", membership=path)
    path.write_text(json.dumps({"name": "fold1", "train": ["vid0"], "val": ["val0"]}))
    assert get_split(rel, "fold1", membership=path).val == ("val0",)  # a run's split.json
    with pytest.raises(HarnessError, match="no split 'fold2'"):
        get_split(rel, "fold2", membership=path)
    path.write_text("{not json")
    with pytest.raises(ReleaseFormatError, match="folds.json"):
        get_split(rel, "fold1", membership=path)


def test_videos_found_at_any_depth_and_in_the_root(tmp_path):
    root = make_release(tmp_path / "r")
    deep = root / "videos" / "batch2" / "part" / "a" / "b"
    deep.mkdir(parents=True)
    for path in (root / "vid0.mp4", deep / "vid1.avi", root / "cropped_aligned" / "x.mp4"):
        path.write_bytes(b"")
    rel = load_release(root)
    assert rel.video_path("vid0") == root / "vid0.mp4"
    assert rel.video_path("vid1") == deep / "vid1.avi"
    assert rel.video_path("x") is None  # image roots are never searched
    assert root in rel.layout.video_dirs and deep in rel.layout.video_dirs


def test_a_resumed_run_takes_its_split_from_its_own_split_json(tiny_release, tmp_path):
    from harness.records import RunFolder
    from harness.runs import RunConfig, _split

    rel = load_release(tiny_release)
    folder = RunFolder.create(tmp_path, "run")
    folder.write_split({"name": "fold2", "seed": 2023, "train": ["vid0", "vid1"],
                        "val": ["val0"]})
    cfg = RunConfig(baseline="only_video", split="fold2")
    assert _split(cfg, rel, folder) == get_split(rel, "fold2", membership=folder.path /
                                                 "split.json")
    assert _split(cfg, rel, folder).train == ("vid0", "vid1")
    assert _split(cfg, rel, None) == get_split(rel, "fold2")  # a new run: recomputed


def test_a_killed_run_is_pointed_out_and_resumed_only_when_asked(tiny_release, tmp_path,
                                                                  capsys):
    from harness.records import RunFolder
    from harness.runs import RunConfig, _prefix, _resumable
    from harness.train import TrainState

    rel = load_release(tiny_release)
    cfg = RunConfig(baseline="only_video", out=tmp_path)
    assert _resumable(cfg, rel) is None  # nothing ran yet
    killed = RunFolder.create(tmp_path, _prefix(cfg, rel) + "20260101-000000-000000")
    TrainState(epoch=3).save(killed.state_file)
    other = RunFolder.create(tmp_path, _prefix(RunConfig(baseline="only_video", out=tmp_path,
                                                         split="fold1"), rel) + "x")
    TrainState(epoch=5).save(other.state_file)  # another configuration: never picked
    assert _resumable(cfg, rel) is None  # a new run starts, but says so
    assert f"{killed.path.name} is an unfinished run" in capsys.readouterr().err.replace("\n", "")
    cfg.resume = True
    assert _resumable(cfg, rel).path == killed.path
    killed.state_file.write_bytes(b"cut")
    with pytest.raises(HarnessError, match="last.pt: damaged"):
        _resumable(cfg, rel)  # asked to resume a damaged state: say which file
    cfg.resume = False
    assert _resumable(cfg, rel) is None  # not asked: a damaged leftover does not stop a run
