"""The MTL (s-Aff-Wild2) reader: every edition's file names, 16-field rows, missing markers per
task, sparse frames, test lists, and a clear error for each malformed case."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from harness.data.mtl import (
    TEST_HEADER,
    find_mtl_release,
    load_mtl_release,
    read_mtl_annotations,
    read_mtl_test_list,
)
from harness.data.mtl_splits import get_mtl_split, mtl_fold_splits, split_rows
from harness.data.mtl_summary import mtl_summary
from harness.errors import HarnessError, ReleaseFormatError

HEADER = "image,valence,arousal,expression,AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26"
AUS = "0,1,0,0,1,0,0,0,0,0,1,0"
MISSING_AUS = ",".join(["-1"] * 12)
ROWS = [  # sparse frames; one or two tasks missing in some rows
    f"video45_1/00001.jpg,0.25,-0.5,4,{AUS}",
    f"video45_1/00008.jpg,-5,-5,2,{MISSING_AUS}",
    f"video45_1/00017.jpg,0.1,0.2,-1,{AUS}",
    f"video45_1/00021.jpg,-5,-5,-1,{AUS}",
    f"10-60-1280x720_right/00003.jpg,1,-1,7,{MISSING_AUS}",
]


def write(path: Path, lines: list[str], header: str = HEADER, crlf: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    end = "\r\n" if crlf else "\n"
    path.write_bytes((end.join([header, *lines]) + end).encode("utf-8"))
    return path


def test_rows_are_read_by_position_with_a_missing_marker_per_task(tmp_path):
    labels = read_mtl_annotations(write(tmp_path / "a.txt", ROWS, crlf=True))
    assert labels.images.tolist()[:2] == ["video45_1/00001.jpg", "video45_1/00008.jpg"]
    assert labels.videos.tolist() == ["video45_1"] * 4 + ["10-60-1280x720_right"]
    assert labels.frames.tolist() == [1, 8, 17, 21, 3]
    assert labels.va.dtype == np.float32 and labels.va.shape == (5, 2)
    assert labels.expr.dtype == np.int8 and labels.expr.tolist() == [4, 2, -1, -1, 7]
    assert labels.au.dtype == np.int8 and labels.au.shape == (5, 12)
    assert labels.va_valid.tolist() == [True, False, True, False, True]
    assert labels.expr_valid.tolist() == [True, True, False, False, True]
    assert labels.au_valid.tolist() == [True, False, True, True, False]
    assert labels.rows().shape == (5, 15)


def test_only_the_first_four_header_names_are_checked(tmp_path):
    read_mtl_annotations(write(tmp_path / "a.txt", ROWS, header="image,valence,arousal,"
                               "expression,aus"))
    with pytest.raises(ReleaseFormatError, match=r"b\.txt:1: line 1 .* not the MTL header"):
        read_mtl_annotations(write(tmp_path / "b.txt", ROWS, header=ROWS[0]))


@pytest.mark.parametrize("row, line_message", [
    (f"video45_1/00030.jpg,0.25,-0.5,4,{AUS},0", "17 field"),  # field count
    ("video45_1/00030.jpg,0.25,-0.5,4,0,1", "6 field"),
    (f"video45_1/00030.jpg,1.5,-0.5,4,{AUS}", "valence '1.5' is outside"),
    (f"video45_1/00030.jpg,0.5,-2,4,{AUS}", "arousal '-2' is outside"),
    (f"video45_1/00030.jpg,-5,0.5,4,{AUS}", None),  # half -5: warned, not an error
    (f"video45_1/00030.jpg,0.5,0.5,8,{AUS}", "expression '8' is not a class 0..7"),
    (f"video45_1/00030.jpg,0.5,0.5,2.5,{AUS}", "expression '2.5'"),
    (f"video45_1/00030.jpg,0.5,0.5,3,{AUS[:-1]}2", "AU26 '2' is not 0, 1"),
    (f"video45_1/00030.jpg,0.5,0.5,3,{AUS[:-1]}x", "AU26 'x' is not a number"),
    (f"video45_1/00030.jpg,nan,0.5,3,{AUS}", "valence 'nan' is not a number"),
    (f"video45_1/00030.jpg,0.\u0665,0.5,3,{AUS}", "non-ASCII"),  # Arabic-Indic digit
    (f"video45_1/30.jpg,0.5,0.5,3,{AUS}", "image 'video45_1/30.jpg' is not an image path"),
    (f"video45_1/00030.png,0.5,0.5,3,{AUS}", "is not an image path"),
    (f"video45_1/00001.jpg,0.5,0.5,3,{AUS}", "repeats line 2"),
    ("", "an empty line"),
])
def test_each_malformed_row_names_file_and_line(tmp_path, row, line_message):
    path = write(tmp_path / "train_set.txt", [*ROWS, row, ROWS[0].replace("00001", "00099")])
    if line_message is None:
        with pytest.warns(UserWarning, match="-5 in one VA column only"):
            labels = read_mtl_annotations(path)
        assert not labels.va_valid[5]
        return
    with pytest.raises(ReleaseFormatError, match=line_message) as err:
        read_mtl_annotations(path)
    assert err.value.path == path and err.value.line == len(ROWS) + 2


def test_a_long_bad_field_is_quoted_short(tmp_path):
    row = f"video45_1/00030.jpg,{'9' * 5000},0.5,3,{AUS}"
    with pytest.raises(ReleaseFormatError) as err:
        read_mtl_annotations(write(tmp_path / "a.txt", [row]))
    assert len(str(err.value)) < 300 and "5,000 characters" in str(err.value)


def test_a_row_without_its_image_is_an_error(tmp_path):
    path = write(tmp_path / "a.txt", ROWS)
    images = tmp_path / "cropped_aligned"
    for image in [r.split(",")[0] for r in ROWS][:-1]:
        (images / image).parent.mkdir(parents=True, exist_ok=True)
        (images / image).write_bytes(b"jpg")
    with pytest.raises(ReleaseFormatError, match=r"10-60-1280x720_right/00003.jpg' is not in") \
            as err:
        read_mtl_annotations(path, images)
    assert err.value.line == 6


def release(root: Path, edition: str, trailing: bool = False) -> Path:
    """A tiny release laid out as ``edition`` says (section 4)."""
    train = [r for r in ROWS if not r.startswith("10-60")] + [
        f"{v}/{k:05d}.jpg,0.1,0.1,{k % 8},{AUS}" for v in ("a-1", "a-2", "b", "c_left", "c_right",
                                                             "d", "e") for k in (1, 5, 9)]
    val = [f"{v}/{k:05d}.jpg,0.1,0.1,{k % 8},{AUS}" for v in ("f", "g") for k in (2, 3)]
    test = ["t1/00001.jpg", "t1/00004.jpg", "t2/00010.jpg"]
    names = {
        "ABAW3": (Path("Third ABAW Annotations/MTL_Challenge/train_set.txt"),
                  Path("Third ABAW Annotations/MTL_Challenge/validation_set.txt"),
                  Path("Multi_Task_Learning_Challenge_test_set_release.txt"), "mtl_test_data"),
        "ABAW4": (Path("training_set_annotations.txt"), Path("validation_set_annotations.txt"),
                  Path("MTL_Challenge_test_set_release.txt"), "mtl_test_data"),
        "ABAW7/11": (Path("data/training_set_annotations.txt"),
                     Path("data/validation_set_annotations.txt"),
                     Path("test_set_examples/MTL.txt"), "test_data"),
    }[edition]
    write(root / names[0], train)
    write(root / names[1], val)
    write(root / names[2], [t + ("," if trailing else "") for t in test], header=TEST_HEADER)
    for image in [r.split(",")[0] for r in train + val]:
        (root / "cropped_aligned" / image).parent.mkdir(parents=True, exist_ok=True)
        (root / "cropped_aligned" / image).write_bytes(b"jpg")
    for image in test:
        (root / names[3] / "cropped_aligned" / image).parent.mkdir(parents=True, exist_ok=True)
        (root / names[3] / "cropped_aligned" / image).write_bytes(b"jpg")
    return root


@pytest.mark.parametrize("edition, trailing", [("ABAW3", False), ("ABAW4", False),
                                               ("ABAW7/11", True)])
def test_every_editions_file_names(tmp_path, edition, trailing):
    root = release(tmp_path, edition, trailing)
    layout = find_mtl_release(root)
    assert layout.edition == edition
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rel = load_mtl_release(root)
    assert len(rel.train) == 25 and len(rel.val) == 4
    assert rel.test.images == ("t1/00001.jpg", "t1/00004.jpg", "t2/00010.jpg")
    assert rel.test.trailing_comma is trailing
    assert layout.test_images.parts[-2] == ("test_data" if edition == "ABAW7/11"
                                            else "mtl_test_data")


def test_a_root_without_mtl_files_is_refused(tmp_path):
    with pytest.raises(HarnessError, match="not an MTL .s-Aff-Wild2. release"):
        find_mtl_release(tmp_path)


def test_test_images_are_checked(tmp_path):
    root = release(tmp_path, "ABAW7/11", True)
    (root / "test_data/cropped_aligned/t2/00010.jpg").unlink()
    with pytest.raises(ReleaseFormatError, match="t2/00010.jpg") as err:
        load_mtl_release(root)
    assert err.value.line == 4


@pytest.mark.parametrize("lines, message", [
    (["image,valence,arousal,expression", "t/00001.jpg"], "not the MTL test-list header"),
    ([TEST_HEADER, "t/00001.jpg,,"], "not a test image"),
    ([TEST_HEADER, "t/00001.jpg", "t/00001.jpg,"], "listed twice"),
    ([TEST_HEADER], "no images"),
])
def test_malformed_test_lists(tmp_path, lines, message):
    path = tmp_path / "MTL.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReleaseFormatError, match=message):
        read_mtl_test_list(path)


def test_splits_official_and_folds_grouped_by_recording(tmp_path):
    rel = load_mtl_release(release(tmp_path, "ABAW4"))
    official = get_mtl_split(rel, "official")
    assert official.val == ("f", "g") and "video45_1" in official.train
    folds = mtl_fold_splits(rel)
    assert [f.name for f in folds] == [f"fold{k}" for k in range(1, 6)]
    everyone = set(official.train) | set(official.val)
    for f in folds:
        assert set(f.train) | set(f.val) == everyone and not set(f.train) & set(f.val)
        assert ({"a-1", "a-2"} <= set(f.val)) or not ({"a-1", "a-2"} & set(f.val))
        assert ({"c_left", "c_right"} <= set(f.val)) or not ({"c_left", "c_right"} & set(f.val))
        train, val = split_rows(rel, f)
        assert len(train) + len(val) == len(rel.train) + len(rel.val)
    assert sorted(v for f in folds for v in f.val) == sorted(everyone)
    assert mtl_fold_splits(rel) == folds  # seeded


def test_summary_counts_per_task_class_and_au(tmp_path):
    rel = load_mtl_release(release(tmp_path, "ABAW4"))
    parts = {p.part: p.to_dict() for p in mtl_summary(rel)}
    train = parts["train"]
    assert train["frames"] == 25 and train["names"] == 8
    assert (train["va_valid"], train["expr_valid"], train["au_valid"]) == (23, 23, 24)
    assert train["class_counts"]["Happiness"] == 1  # ROWS[0]
    assert train["class_counts"]["Anger"] == 14  # frames 1 and 9 of 7 videos (k % 8)
    assert train["au_positives"]["AU2"] == 24
    assert parts["test"]["frames"] == 3 and parts["test"]["valid_frames"] is None
