"""ABAW submission files: write, validate (every problem on its line), per-video files, scoring."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from harness.data.labels import ANNOTATION_HEADER, TEMPLATE_HEADER
from harness.data.testset import Template, read_template
from harness.errors import HarnessError, ReleaseFormatError
from harness.metrics import scores
from submissions import (
    MAX_PROBLEMS,
    read_per_video,
    read_prediction_folder,
    read_submission,
    score_submission,
    validate_submission,
    validate_submission_or_raise,
    write_per_video,
    write_prediction_folder,
    write_submission,
    zip_path,
)
from tests.conftest import write_labels, write_template

FRAMES = {"a_left": 12, "b": 7, "a_right": 5}


@pytest.fixture
def template(tmp_path) -> Template:
    return read_template(write_template(tmp_path / "template.txt", FRAMES))


@pytest.fixture
def preds() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {name: rng.integers(0, 8, n) for name, n in FRAMES.items()}


@pytest.fixture
def lines(tmp_path, template, preds) -> list[str]:
    return write_submission(template, preds, tmp_path / "sub.txt").read_text().splitlines()


def _write(tmp_path: Path, lines: list[str], newline: str = "\n") -> Path:
    p = tmp_path / "edited.txt"
    p.write_bytes((newline.join(lines) + newline).encode())
    return p


def test_write_then_validate_and_read_back(tmp_path, template, preds):
    preds["b"] = np.append(preds["b"], [3, 3])  # extra trailing predictions are dropped
    out = write_submission(template, preds, tmp_path / "sub.txt", zip=True)
    lines = out.read_text().splitlines()
    assert lines[0] == TEMPLATE_HEADER and len(lines) == 1 + sum(FRAMES.values())
    assert lines[1] == f"a_left/00001.jpg,{preds['a_left'][0]}"
    assert lines[13] == f"b/00001.jpg,{preds['b'][0]}"
    assert [ln.rsplit(",", 1)[0] for ln in lines[1:]] == \
        [ln.rstrip(",") for ln in template.path.read_text().splitlines()[1:]]
    assert validate_submission(out, template) == []
    back = read_submission(out, template)
    assert all(np.array_equal(back[n], preds[n][: FRAMES[n]]) for n in FRAMES)
    with zipfile.ZipFile(zip_path(out)) as zf:
        assert zf.namelist() == ["sub.txt"] and zf.read("sub.txt") == out.read_bytes()
    assert validate_submission(zip_path(out), template) == []


def test_crlf_bom_trailing_blank_lines_and_spaces_accepted(tmp_path, template, lines):
    lines = [*lines]
    lines[0] = "\ufeff" + lines[0]
    lines[3] = lines[3][:-1] + " " + lines[3][-1]  # ' 5' is still an integer label
    p = _write(tmp_path, [*lines, "", ""], newline="\r\n")
    assert validate_submission(p, template) == []
    assert int(read_submission(p, template)["a_left"][2]) == int(lines[3][-1])


def _edit(lines: list[str], k: int, new: str) -> list[str]:
    out = [*lines]
    out[k - 1] = new
    return out


def _swap(lines, k):
    out = [*lines]
    out[k - 1], out[k] = out[k], out[k - 1]
    return out


EDITS = {
    # name: (edit of the 1-based lines, expected problem lines, words in the first problem)
    "missing row": (lambda ls: ls[:5] + ls[6:], [6], "missing row 'a_left/00005.jpg'"),
    "label 8": (lambda ls: _edit(ls, 9, "a_left/00008.jpg,8"), [9], "label 8 is outside"),
    "non-integer": (lambda ls: _edit(ls, 15, "b/00002.jpg,2.5"), [15], "not an integer"),
    "swapped": (lambda ls: _swap(ls, 4), [4, 5], "out of template order"),
    "header": (lambda ls: _edit(ls, 1, "image,Neutral"), [1], "header"),
    "duplicate": (lambda ls: ls[:7] + [ls[6]] + ls[7:], [8], "duplicate row for "
                  "'a_left/00006.jpg' (first at line 7)"),
    "empty label": (lambda ls: _edit(ls, 20, "b/00007.jpg,"), [20], "empty label"),
    "extra column": (lambda ls: _edit(ls, 3, "a_left/00002.jpg,1,0.5"), [3], "extra column"),
    "unknown video": (lambda ls: _edit(ls, 21, "zz/00001.jpg,0"), [21, 21], "not in the template"),
    "padding": (lambda ls: _edit(ls, 2, "a_left/1.jpg,0"), [2], "should be written "
                "'a_left/00001.jpg'"),
    "bad image": (lambda ls: _edit(ls, 2, "a_left/00001.png,0"), [2, 2], "is not written"),
    "blank line": (lambda ls: ls[:10] + [""] + ls[10:], [11], "empty line inside"),
    "no label column": (lambda ls: _edit(ls, 2, "a_left/00001.jpg"), [2], "no ',<label>'"),
}


@pytest.mark.parametrize("case", list(EDITS))
def test_each_problem_on_its_line(tmp_path, template, lines, case):
    edit, want_lines, words = EDITS[case]
    problems = validate_submission(_write(tmp_path, edit(lines)), template)
    assert [p.line for p in problems if p.line is not None] == want_lines, problems
    first = next(p for p in problems if p.line is not None)
    assert words in first.message
    with pytest.raises(ReleaseFormatError) as exc:
        validate_submission_or_raise(_write(tmp_path, edit(lines)), template)
    assert exc.value.line == want_lines[0]


def test_row_count_reported(tmp_path, template, lines):
    problems = validate_submission(_write(tmp_path, lines[:-3]), template)
    assert any(p.line is None and "21 rows, the template has 24" in p.message for p in problems)
    assert any(p.line == 23 and "missing rows 'a_right/00003.jpg'..'a_right/00005.jpg'"
               in p.message for p in problems)


def test_all_problems_listed_then_capped(tmp_path, template, lines):
    both = _edit(_edit(lines, 2, "a_left/00001.jpg,9"), 24, "a_right/00004.jpg,")
    assert [p.line for p in validate_submission(_write(tmp_path, both), template)] == [2, 24]
    bad = [lines[0]] + [ln[:-1] + "9" for ln in lines[1:]] * 3
    problems = validate_submission(_write(tmp_path, bad), template)
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1].line is None and "more problems" in problems[-1].message
    listed = [p.line for p in problems if p.line is not None]
    assert listed == sorted(listed)


def test_unreadable_inputs(tmp_path, template):
    assert "not found" in validate_submission(tmp_path / "nope.txt", template)[0].message
    (tmp_path / "empty.txt").write_text("")
    assert "empty" in validate_submission(tmp_path / "empty.txt", template)[0].message


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda p: p.pop("b"), "'b': frame 1 of 7 is the first missing"),
        (lambda p: p.__setitem__("b", p["b"][:4]), "'b' stop after 4 frames: frame 5 of 7"),
        # one label check for both formats (submissions.label_check): the per-video wording
        (lambda p: p["a_right"].__setitem__(2, 8), "'a_right': frame 3 has label 8"),
        (lambda p: p.__setitem__("b", p["b"].astype(float)), "not integer"),
    ],
)
def test_refusals_name_video_and_frame_and_write_nothing(tmp_path, template, preds, change,
                                                         words):
    out = tmp_path / "sub.txt"
    change(preds)
    with pytest.raises(HarnessError, match=words):
        write_submission(template, preds, out, zip=True)
    assert list(tmp_path.iterdir()) == [template.path]  # no file, no temp file left behind


def test_refusal_keeps_previous_file(tmp_path, template, preds):
    out = write_submission(template, preds, tmp_path / "sub.txt")
    before = out.read_bytes()
    with pytest.raises(HarnessError):
        write_submission(template, {"a_left": preds["a_left"]}, out)
    assert out.read_bytes() == before


def test_in_memory_template_and_wide_frame_numbers(tmp_path):
    t = Template(tmp_path / "t.txt", TEMPLATE_HEADER, ("v",), {"v": 100_000})
    labels = np.zeros(100_000, dtype=np.int64)
    out = write_submission(t, {"v": labels}, tmp_path / "s.txt")
    tail = out.read_text().splitlines()[-2:]
    assert tail == ["v/99999.jpg,0", "v/100000.jpg,0"]
    assert validate_submission(out, t) == []


def test_per_video_roundtrip_and_errors(tmp_path):
    p = write_per_video(tmp_path / "v.txt", np.array([0, 7, 3]))
    assert p.read_text() == f"{ANNOTATION_HEADER}\n0\n7\n3\n"
    assert read_per_video(p).tolist() == [0, 7, 3]
    write_labels(tmp_path / "bad.txt", [1, 8, 2])
    with pytest.raises(ReleaseFormatError) as exc:
        read_per_video(tmp_path / "bad.txt")
    assert exc.value.line == 3
    write_labels(tmp_path / "inv.txt", [1, 2, -1])
    with pytest.raises(ReleaseFormatError, match="-1") as exc:
        read_per_video(tmp_path / "inv.txt")
    assert exc.value.line == 4
    with pytest.raises(HarnessError, match="frame 2 has label 9"):
        write_per_video(tmp_path / "w.txt", np.array([1, 9]))


def test_prediction_folder(tmp_path, preds):
    folder = write_prediction_folder(tmp_path / "pred", preds)
    back = read_prediction_folder(folder)
    assert sorted(back) == sorted(preds)
    assert all(np.array_equal(back[n], preds[n]) for n in preds)
    for bad in ("../escape", "/abs/x", "sub/x"):
        with pytest.raises(HarnessError, match="refusing"):
            write_prediction_folder(tmp_path / "p2", {"ok": np.array([1]), bad: np.array([1])})
        assert not (tmp_path / "p2").exists() and not (tmp_path / "escape.txt").exists()


def test_score_submission_against_truth(tmp_path, template, preds):
    rng = np.random.default_rng(2)
    truth = {n: rng.integers(-1, 8, k) for n, k in FRAMES.items()}
    for name, lab in truth.items():
        write_labels(tmp_path / "truth" / f"{name}.txt", lab)
    out = write_submission(template, preds, tmp_path / "sub.txt")
    want = scores(np.concatenate([truth[n] for n in FRAMES]),
                  np.concatenate([preds[n] for n in FRAMES]))
    assert score_submission(out, tmp_path / "truth", template) == want
    assert score_submission(out, tmp_path / "truth") == want  # template implied by the file


# --- real scale: 1,022,655 rows over 228 names (the ABAW5 test template) -------------------

REAL_ROWS, REAL_NAMES = 1_022_655, 228


@pytest.fixture(scope="module")
def real_scale():
    rng = np.random.default_rng(0)
    w = rng.random(REAL_NAMES) + 0.2
    n = np.floor(w / w.sum() * REAL_ROWS).astype(int)
    n[0] += REAL_ROWS - n.sum()
    names = tuple(f"{i}-{rng.integers(10, 99)}-1920x1080" + ("_left" if i % 9 == 0 else "")
                  for i in range(REAL_NAMES))
    t = Template(Path("template.txt"), TEMPLATE_HEADER, names, dict(zip(names, map(int, n))))
    preds = {name: rng.integers(0, 8, k + 1) for name, k in t.n_frames.items()}
    return t, preds


def test_bench_submission_real_scale(benchmark, tmp_path, real_scale):
    """Write + validate the full-size submission (timed when run with --benchmark-enable)."""
    template, preds = real_scale
    out = tmp_path / "sub.txt"

    def write_and_validate():
        write_submission(template, preds, out)
        return validate_submission(out, template)

    assert benchmark.pedantic(write_and_validate, rounds=1, iterations=1) == []
    assert template.n_rows == REAL_ROWS
    back = read_submission(out, template)
    assert list(back) == list(template.names)
    assert all(np.array_equal(back[n], preds[n][: template.n_frames[n]]) for n in back)
    data = out.read_bytes()
    assert data.count(b"\n") == REAL_ROWS + 1
    # one wrong label deep inside is found on its line
    k = data.index(b"\n", len(data) // 2)
    edited = bytearray(data)
    edited[k - 1] = ord("9")
    out.write_bytes(bytes(edited))
    line = data[:k].count(b"\n") + 1
    problems = validate_submission(out, template)
    assert [(p.line, p.message) for p in problems] == [(line, "label 9 is outside 0..7")]


def test_one_label_check_for_both_formats(tmp_path, template, preds):
    """Per-video files and the submission refuse a bad label with the same words."""
    bad = preds["a_right"].copy()
    bad[2] = 8
    with pytest.raises(HarnessError) as per_video:
        write_prediction_folder(tmp_path / "p", {"a_right": bad})
    with pytest.raises(HarnessError) as submission:
        write_submission(template, {**preds, "a_right": bad}, tmp_path / "s.txt")
    assert str(per_video.value) == "a_right: frame 3 has label 8, outside 0..7"
    assert str(submission.value) == \
        "predictions for 'a_right': frame 3 has label 8, outside 0..7"
    for write in (lambda: write_per_video(tmp_path / "f.txt", np.array([1.0, 2.0])),
                  lambda: write_submission(template, {**preds, "b": preds["b"] * 1.0},
                                           tmp_path / "s.txt")):
        with pytest.raises(HarnessError, match="float64, not integer labels"):
            write()
    assert not (tmp_path / "p").exists() and not (tmp_path / "s.txt").exists()


def test_every_malformed_row_listed_on_its_line(tmp_path, template, lines):
    """The validator and the template reader share one scanner; the validator lists all."""
    edited = _edit(_edit(_edit(lines, 3, "a_left/0000x.jpg,1"), 6, "00005.jpg,2"),
                   9, "a_left/00008.jpeg,3")
    problems = validate_submission(_write(tmp_path, edited), template)
    not_written = [p.line for p in problems if "is not written" in p.message]
    assert not_written == [3, 6, 9]
