"""The MTL submission: header, 16-field rows in test-list order, every problem with its line,
bounded reading, and scoring against hidden truth."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from harness.data.mtl import TEST_HEADER, MtlTestList, read_mtl_annotations, read_mtl_test_list
from harness.data.synth import mtl as synth_mtl
from harness.errors import HarnessError, ReleaseFormatError
from harness.metrics.mtl import mtl_scores
from submissions.formats import SUBMISSION_FORMATS
from submissions.mtl import (
    read_mtl_submission,
    validate_mtl_submission,
    write_mtl_submission,
)

IMAGES = ("video45_1/00001.jpg", "video45_1/00008.jpg", "video45_1/00017.jpg",
          "b_left/00003.jpg")
MTL = SUBMISSION_FORMATS.get("mtl")


@pytest.fixture
def test_list(tmp_path) -> MtlTestList:
    path = tmp_path / "test_set_examples" / "MTL.txt"
    path.parent.mkdir()
    path.write_text(synth_mtl.test_list_text(list(IMAGES)))  # ABAW7: a trailing comma per image
    return read_mtl_test_list(path)


def predictions(n: int = len(IMAGES), seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"va": rng.uniform(-1.2, 1.2, (n, 2)), "expr": rng.integers(0, 8, n),
            "au": rng.integers(0, 2, (n, 12))}


def test_header_and_rows_exactly_as_the_reference_says(tmp_path, test_list):
    assert test_list.trailing_comma
    preds = predictions()
    path = MTL.write(test_list, preds, tmp_path / "sub.txt")
    lines = path.read_text().splitlines()
    assert lines[0] == "image,valence,arousal,expression,aus" == TEST_HEADER == MTL.header
    assert len(lines) == 1 + len(IMAGES)
    for line, image, k in zip(lines[1:], IMAGES, range(len(IMAGES))):
        fields = line.split(",")
        assert len(fields) == 16 and fields[0] == image  # the list's comma is not echoed
        va = [float(x) for x in fields[1:3]]
        assert va == pytest.approx(np.clip(preds["va"][k], -1, 1), abs=1e-6)
        assert all(-1 <= v <= 1 for v in va)
        assert fields[3] == str(preds["expr"][k])
        assert fields[4:] == [str(x) for x in preds["au"][k]]
    assert MTL.validate(path, test_list) == []
    back = MTL.read(path, test_list)
    assert back["expr"].tolist() == preds["expr"].tolist()
    assert back["au"].tolist() == preds["au"].tolist()


def test_zip_holds_the_text_file(tmp_path, test_list):
    path = write_mtl_submission(test_list, predictions(), tmp_path / "sub.txt", zip=True)
    with zipfile.ZipFile(path.with_suffix(".zip")) as zf:
        assert zf.read("sub.txt") == path.read_bytes()
    assert validate_mtl_submission(path.with_suffix(".zip"), test_list) == []


@pytest.mark.parametrize("change, message", [
    (lambda p: p.pop("au"), "lack the au head"),
    (lambda p: p.update(va=np.zeros((3, 2))), r"va predictions have shape \(3, 2\)"),
    (lambda p: p.update(expr=np.full(4, 8)), "a class outside 0..7"),
    (lambda p: p.update(expr=np.zeros(4)), "not class numbers"),
    (lambda p: p.update(au=np.full((4, 12), 0.7)), "not 0/1 decisions"),
    (lambda p: p["va"].__setitem__((2, 1), np.nan), "video45_1/00017.jpg"),
])
def test_the_writer_refuses_bad_predictions(tmp_path, test_list, change, message):
    preds = predictions()
    change(preds)
    with pytest.raises(HarnessError, match=message):
        write_mtl_submission(test_list, preds, tmp_path / "sub.txt")
    assert not (tmp_path / "sub.txt").exists()


def problems_of(tmp_path, test_list, text: str) -> list[str]:
    path = tmp_path / "bad.txt"
    path.write_bytes(text.encode("utf-8"))
    return [str(p) for p in validate_mtl_submission(path, test_list)]


ROW = "0.1,0.2,3,0,1,0,0,0,0,0,0,0,0,1,0"


def good_lines() -> list[str]:
    return [TEST_HEADER] + [f"{i},{ROW}" for i in IMAGES]


@pytest.mark.parametrize("edit, expected", [
    (lambda ls: ls.__setitem__(0, "image,valence,arousal,expression," + ",".join(
        f"AU{k}" for k in (1, 2, 4, 6, 7, 10, 12, 15, 23, 24, 25, 26))), ["line 1: header"]),
    (lambda ls: ls.__setitem__(2, ls[2] + ",1"), ["line 3: 17 field(s)"]),
    (lambda ls: ls.__setitem__(2, ls[2] + ","), ["line 3: 17 field(s) where an MTL row has 16 "
                                                 "(image, valence, arousal, expression, 12 AUs)"
                                                 "; it ends with a comma"]),
    (lambda ls: ls.__setitem__(2, ls[2].split(",")[0] + ","), ["line 3: 2 field(s)",
                                                               "ABAW7's MTL.txt"]),
    (lambda ls: ls.__setitem__(2, ls[2].replace("0.1,0.2", "1.5,0.2")),
     ["line 3: valence '1.5' is outside [-1, 1]"]),
    (lambda ls: ls.__setitem__(2, ls[2].replace("0.1,0.2", "nan,0.2")),
     ["line 3: valence 'nan' is not a number"]),
    (lambda ls: ls.__setitem__(3, ls[3].replace(",3,", ",8,")),
     ["line 4: expression '8' is not a class 0..7"]),
    (lambda ls: ls.__setitem__(4, ls[4][:-1] + "2"), ["line 5: AU26 '2' is not 0 or 1"]),
    (lambda ls: ls.__setitem__(4, ls[4].replace("0.1", "0.\u0661")),
     ["line 5: a non-ASCII character"]),
    (lambda ls: ls.__setitem__(2, ls[2].replace("video45_1", "video99")),
     ["line 3: image 'video99/00008.jpg' is not in the test list",
      "1 test image(s) have no row, first 'video45_1/00008.jpg'"]),
    (lambda ls: ls.__setitem__(3, ls[2]),
     ["line 4: image 'video45_1/00008.jpg' repeats line 3",
      "test image(s) have no row, first 'video45_1/00017.jpg'"]),
    (lambda ls: ls.__setitem__(slice(2, 4), [ls[3], ls[2]]),
     ["line 3: image 'video45_1/00017.jpg' is test image 3; rows must follow",
      "line 4: image 'video45_1/00008.jpg' is test image 2"]),
    (lambda ls: ls.pop(), ["1 test image(s) have no row, first 'b_left/00003.jpg'"]),
    (lambda ls: ls.insert(3, ""), ["line 4: an empty line"]),
])
def test_every_problem_with_its_line(tmp_path, test_list, edit, expected):
    lines = good_lines()
    assert problems_of(tmp_path, test_list, "\n".join(lines) + "\n") == []
    edit(lines)
    got = problems_of(tmp_path, test_list, "\n".join(lines) + "\n")
    for want in expected:
        assert any(want in g for g in got), (want, got)


def test_several_problems_are_all_listed(tmp_path, test_list):
    lines = good_lines()
    lines[1] = lines[1].replace("0.1", "2")
    lines[3] = lines[3].replace(",3,", ",x,")
    got = problems_of(tmp_path, test_list, "\n".join(lines) + "\n")
    assert [g.split(":")[0] for g in got] == ["line 2", "line 4"]


def test_untrusted_files_are_bounded(tmp_path, test_list):
    got = problems_of(tmp_path, test_list, TEST_HEADER + "\n" + "x\n" * 30_000)
    assert len(got) == 1 and "not a submission" in got[0]
    long = good_lines()
    long[1] = "v/" + "9" * 100_000 + ".jpg," + ROW
    got = problems_of(tmp_path, test_list, "\n".join(long) + "\n")
    assert any("line 2: line of 100," in g for g in got)
    assert all(len(g) < 400 for g in got)
    with pytest.raises(ReleaseFormatError, match="not a valid submission"):
        read_mtl_submission(tmp_path / "bad.txt", test_list)


def test_scoring_against_hidden_truth(tmp_path, test_list):
    rng = np.random.default_rng(1)
    t_va = rng.uniform(-1, 1, (4, 2)).round(4)
    t_va[1] = -5
    t_ex = np.array([2, -1, 5, 0])
    t_au = rng.integers(0, 2, (4, 12))
    t_au[3] = -1
    truth_path = tmp_path / "truth.txt"
    truth_path.write_text(synth_mtl.mtl_text(np.array(IMAGES, dtype=object),
                                             t_va.astype(np.float32), t_ex, t_au))
    truth = read_mtl_annotations(truth_path)
    preds = predictions(seed=2)
    path = write_mtl_submission(test_list, preds, tmp_path / "sub.txt")
    got = MTL.score(path, truth, test_list)
    want = mtl_scores(t_va, np.round(np.clip(preds["va"], -1, 1), 6), t_ex, preds["expr"], t_au,
                      preds["au"])
    assert got.p_mtl == pytest.approx(want.p_mtl, abs=1e-6)
    assert (got.p_va, got.p_expr, got.p_au) == pytest.approx((want.p_va, want.p_expr,
                                                              want.p_au), abs=1e-6)


def test_the_format_is_registered_beside_the_others():
    assert SUBMISSION_FORMATS.names() == ["expr", "va", "au", "mtl"]
    assert MTL.task == "mtl"


def test_rows_read_from_bytes_and_as_strings_agree(tmp_path, test_list):
    """Rows ending in 13 one-digit fields are decoded from their bytes; any other row sends
    the file through the field-by-field checks: same values, same verdicts."""
    lines = good_lines()
    plain = tmp_path / "plain.txt"
    plain.write_text("\n".join(lines) + "\n")
    spaced = tmp_path / "spaced.txt"
    spaced.write_text("\n".join(lines[:2] + [lines[2].replace(",1,0", ", 1 ,0").replace(
        "0.1", " 0.1")] + lines[3:]) + "\n")
    a, b = (read_mtl_submission(p, test_list) for p in (plain, spaced))
    assert all(np.array_equal(a[k], b[k]) for k in ("va", "expr", "au"))
    assert a["va"][1].tolist() == [0.1, 0.2] and a["expr"].tolist() == [3] * 4
    for value, problem in (("1e 3", "valence '1e 3' is not a number"),
                           ("+1e-1", None), ("1e5", "valence '1e5' is outside [-1, 1]"),
                           ("-.5", None), ("..5", "not a number")):
        bad = good_lines()
        bad[2] = bad[2].replace("0.1", value, 1)
        got = problems_of(tmp_path, test_list, "\n".join(bad) + "\n")
        assert (got == []) if problem is None else any(problem in g for g in got), (value, got)
    bad = good_lines()
    bad[3] = bad[3].replace(",3,", ",+3,")
    assert problems_of(tmp_path, test_list, "\n".join(bad) + "\n") == [
        "line 4: expression '+3' is not a class 0..7"]
