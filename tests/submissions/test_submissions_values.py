"""VA and AU submission files: write, validate (every problem on its line), read, score."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from harness.data.rowscan import scan_rows
from harness.data.testset import Template, template_from_rows
from harness.errors import HarnessError, ReleaseFormatError
from harness.metrics import au_scores, va_scores
from submissions import (
    AU_FORMAT,
    SUBMISSION_FORMATS,
    VA_FORMAT,
    read_values_submission,
    score_values_submission,
    score_values_submission_per_video,
    validate_values_submission,
    validate_values_submission_or_raise,
    write_values_submission,
    zip_path,
)

FRAMES = {"a_left": 9, "b": 6, "a_right": 4}
VA_HEAD = "image_location,valence,arousal"
AU_HEAD = "image_location,AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26"


def _template(tmp_path: Path, header: str, placeholder: str = "") -> Template:
    """A template file as the release writes it (ABAW5 empty rows, ABAW6 placeholders)."""
    lines = [header] + [f"{n}/{k:05d}.jpg,{placeholder}" for n, m in FRAMES.items()
                        for k in range(1, m + 1)]
    path = tmp_path / "template.txt"
    path.write_text("\n".join(lines) + "\n")
    head, rows = scan_rows(path, path.read_bytes(), require_value=False)
    return template_from_rows(path, head, rows)


@pytest.fixture
def va_template(tmp_path):
    return _template(tmp_path, VA_HEAD, "0.5,-0.5")


@pytest.fixture
def au_template(tmp_path):
    return _template(tmp_path, AU_HEAD, "1,0,1,1,1,0,0,1,0,0,0,1")


def _va_preds(seed=0):
    rng = np.random.default_rng(seed)
    return {n: rng.uniform(-1.2, 1.2, (k + 1, 2)) for n, k in FRAMES.items()}


def _au_preds(seed=0):
    rng = np.random.default_rng(seed)
    return {n: rng.integers(0, 2, (k, 12)) for n, k in FRAMES.items()}


def test_va_write_validate_read_back(tmp_path, va_template):
    preds = _va_preds()
    preds["b"][2] = [-1e-9, 1e-5]  # no '-0.000000'; small values keep their digits
    out = write_values_submission(va_template, preds, tmp_path / "va.txt", VA_FORMAT, zip=True)
    lines = out.read_text().splitlines()
    assert lines[0] == VA_HEAD and len(lines) == 1 + sum(FRAMES.values())
    assert lines[1].startswith("a_left/00001.jpg,") and lines[12] == "b/00003.jpg,0.000000,0.000010"
    assert "0.5,-0.5" not in out.read_text()  # ABAW6 placeholders are never echoed
    assert validate_values_submission(out, va_template, VA_FORMAT) == []
    back = read_values_submission(out, va_template, VA_FORMAT)
    for n, k in FRAMES.items():
        assert np.allclose(back[n], np.clip(preds[n][:k], -1, 1), atol=5e-7)
    assert validate_values_submission(zip_path(out), va_template, VA_FORMAT) == []
    with zipfile.ZipFile(zip_path(out)) as zf:
        assert zf.read("va.txt") == out.read_bytes()


def test_au_write_validate_read_back(tmp_path, au_template):
    preds = _au_preds()
    preds["a_right"] = preds["a_right"].astype(bool)  # bool decisions are fine
    out = write_values_submission(au_template, preds, tmp_path / "au.txt", AU_FORMAT)
    lines = out.read_text().splitlines()
    assert lines[0] == AU_HEAD
    assert lines[1] == "a_left/00001.jpg," + ",".join(map(str, preds["a_left"][0]))
    assert validate_values_submission(out, au_template, AU_FORMAT) == []
    back = read_values_submission(out, au_template, AU_FORMAT)
    assert all(np.array_equal(back[n], preds[n]) for n in FRAMES)


def _lines(tmp_path, template, fmt, preds):
    return write_values_submission(template, preds, tmp_path / "s.txt", fmt).read_text() \
        .splitlines()


def _write(tmp_path, lines):
    p = tmp_path / "edited.txt"
    p.write_bytes(("\n".join(lines) + "\n").encode())
    return p


def _edit(lines, k, new):
    out = [*lines]
    out[k - 1] = new
    return out


VA_EDITS = {
    # name: (edit, expected problem lines, words in the first problem)
    "12 values": (lambda ls: _edit(ls, 3, "a_left/00002.jpg," + ",".join(["0"] * 12)), [3],
                  "12 values where a VA row has 2 (valence, arousal)"),
    "one value": (lambda ls: _edit(ls, 4, "a_left/00003.jpg,0.5"), [4], "1 value where"),
    "out of range": (lambda ls: _edit(ls, 5, "a_left/00004.jpg,1.5,0"), [5],
                     "valence '1.5' is outside [-1, 1]"),
    "huge exponent": (lambda ls: _edit(ls, 5, "a_left/00004.jpg,0,1e999"), [5],
                      "arousal '1e999' is outside"),
    "nan": (lambda ls: _edit(ls, 6, "a_left/00005.jpg,nan,0"), [6], "valence 'nan' is not a num"),
    "inf": (lambda ls: _edit(ls, 6, "a_left/00005.jpg,0,-inf"), [6], "arousal '-inf' is not"),
    "arabic digit": (lambda ls: _edit(ls, 7, "a_left/00006.jpg,0.\u0663,0"), [7], "not a num"),
    "word": (lambda ls: _edit(ls, 7, "a_left/00006.jpg,0,high"), [7], "arousal 'high' is not"),
    "lone CR in a name": (lambda ls: _edit(ls, 7, "a_l\reft/00006.jpg,0.5,1.5"), [7, 7, 7],
                          "not in the template"),
    "two signs": (lambda ls: _edit(ls, 8, "a_left/00007.jpg,1-2,0"), [8], "'1-2' is not a num"),
    "empty": (lambda ls: _edit(ls, 8, "a_left/00007.jpg,,0.1"), [8], "empty valence"),
    "no values": (lambda ls: _edit(ls, 9, "a_left/00008.jpg"), [9], "no ',<valence>,<arousal>'"),
    "header": (lambda ls: _edit(ls, 1, "image,valence,arousal"), [1], "header"),
    "AU header": (lambda ls: _edit(ls, 1, AU_HEAD), [1], "is not 'image_location,valence"),
    "duplicate": (lambda ls: ls[:4] + [ls[3]] + ls[4:], [5], "duplicate row"),
    "missing": (lambda ls: ls[:4] + ls[5:], [5], "missing row 'a_left/00004.jpg'"),
    "unknown": (lambda ls: _edit(ls, 11, "zz/00001.jpg,0,0"), [11, 11], "not in the template"),
}


@pytest.mark.parametrize("case", list(VA_EDITS))
def test_va_each_problem_on_its_line(tmp_path, va_template, case):
    edit, want, words = VA_EDITS[case]
    path = _write(tmp_path, edit(_lines(tmp_path, va_template, VA_FORMAT, _va_preds())))
    problems = validate_values_submission(path, va_template, VA_FORMAT)
    assert [p.line for p in problems if p.line is not None] == want, problems
    first = next(p for p in problems if p.line is not None)
    assert words in first.message, first.message
    with pytest.raises(ReleaseFormatError) as exc:
        validate_values_submission_or_raise(path, va_template, VA_FORMAT)
    assert exc.value.line == want[0] and str(path) in str(exc.value)


@pytest.mark.parametrize("value", ["1e-05", "-1", "+1", "1.", ".5", "-0.25E+0", " 0.5 ", "0",
                                   "-1.000000000000", "1E-5"])
def test_va_any_ascii_float_literal_accepted(tmp_path, va_template, value):
    lines = _lines(tmp_path, va_template, VA_FORMAT, _va_preds())
    path = _write(tmp_path, _edit(lines, 2, f"a_left/00001.jpg,{value},0.1"))
    assert validate_values_submission(path, va_template, VA_FORMAT) == []
    got = read_values_submission(path, va_template, VA_FORMAT)["a_left"][0]
    assert got.tolist() == [float(value), 0.1]


AU_EDITS = {
    "2 values": (lambda ls: _edit(ls, 3, "a_left/00002.jpg,0,1"), [3],
                 "2 values where an AU row has 12 (AU1..AU26)"),
    "13 values": (lambda ls: _edit(ls, 3, ls[2] + ",1"), [3], "13 values where"),
    "a 2": (lambda ls: _edit(ls, 4, "a_left/00003.jpg,0,0,2,0,0,0,0,0,0,0,0,0"), [4],
            "AU4 '2' is not 0 or 1"),
    "probability": (lambda ls: _edit(ls, 4, "a_left/00003.jpg,0.7,0,0,0,0,0,0,0,0,0,0,0"), [4],
                    "AU1 '0.7' is not 0 or 1"),
    "minus one": (lambda ls: _edit(ls, 5, "a_left/00004.jpg,0,0,0,0,0,0,0,0,0,0,0,-1"), [5],
                  "AU26 '-1' is not 0 or 1"),
    "arabic one": (lambda ls: _edit(ls, 5, "a_left/00004.jpg,\u0661,0,0,0,0,0,0,0,0,0,0,0"),
                   [5], "is not 0 or 1"),
    "empty": (lambda ls: _edit(ls, 6, "a_left/00005.jpg,0,,0,0,0,0,0,0,0,0,0,0"), [6],
              "empty AU2"),
    "VA header": (lambda ls: _edit(ls, 1, VA_HEAD), [1], "header"),
}


@pytest.mark.parametrize("case", list(AU_EDITS))
def test_au_each_problem_on_its_line(tmp_path, au_template, case):
    edit, want, words = AU_EDITS[case]
    path = _write(tmp_path, edit(_lines(tmp_path, au_template, AU_FORMAT, _au_preds())))
    problems = validate_values_submission(path, au_template, AU_FORMAT)
    assert [p.line for p in problems if p.line is not None] == want, problems
    assert words in next(p for p in problems if p.line is not None).message


def test_au_spaces_around_values_accepted(tmp_path, au_template):
    lines = _lines(tmp_path, au_template, AU_FORMAT, _au_preds())
    path = _write(tmp_path, _edit(lines, 2, "a_left/00001.jpg, 1,0,0,0,0,0,0,0,0,0,0,1 "))
    assert validate_values_submission(path, au_template, AU_FORMAT) == []
    assert read_values_submission(path, au_template, AU_FORMAT)["a_left"][0].tolist() == \
        [1] + [0] * 10 + [1]


@pytest.mark.parametrize(
    "fmt, change, words",
    [
        (VA_FORMAT, lambda p: p.pop("b"), "no VA predictions for test video 'b'"),
        (VA_FORMAT, lambda p: p.__setitem__("b", p["b"][:3]), "stop after 3 frames: frame 4"),
        (VA_FORMAT, lambda p: p["a_right"].__setitem__((1, 1), np.nan),
         "'a_right': frame 2 has arousal nan"),
        (VA_FORMAT, lambda p: p.__setitem__("b", p["b"][:, :1]), r"expected \(frames, 2\)"),
        (AU_FORMAT, lambda p: p.__setitem__("b", p["b"] * 0.5), "float64, not 0/1 decisions"),
        (AU_FORMAT, lambda p: p["b"].__setitem__((0, 3), 2), "frame 1 has AU6 2"),
        (AU_FORMAT, lambda p: p.__setitem__("b", p["b"][:, :2]), r"expected \(frames, 12\)"),
    ],
)
def test_writer_refusals_write_nothing(tmp_path, va_template, fmt, change, words):
    preds = _va_preds() if fmt is VA_FORMAT else _au_preds()
    change(preds)
    out = tmp_path / "out" / "s.txt"
    with pytest.raises(HarnessError, match=words):
        write_values_submission(va_template, preds, out, fmt, zip=True)
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_score_against_truth(tmp_path, va_template, au_template):
    rng = np.random.default_rng(3)
    va_truth = {n: rng.uniform(-1, 1, (k, 2)) for n, k in FRAMES.items()}
    va_truth["b"][:2] = -5.0
    preds = _va_preds()
    out = write_values_submission(va_template, preds, tmp_path / "va.txt", VA_FORMAT)
    back = read_values_submission(out, va_template, VA_FORMAT)
    want = va_scores(np.concatenate(list(va_truth.values())), np.concatenate(list(back.values())))
    got = score_values_submission(out, va_truth, VA_FORMAT, va_template)
    assert got.ccc == pytest.approx(want.ccc, abs=1e-12) and got.n_frames == want.n_frames
    assert score_values_submission(out, va_truth, VA_FORMAT).p_va == pytest.approx(want.p_va)
    names, stats = score_values_submission_per_video(out, va_truth, VA_FORMAT, va_template)
    assert names == list(FRAMES) and stats.sums.shape == (3, 2, 6)
    au_truth = {n: rng.integers(0, 2, (k, 12)) for n, k in FRAMES.items()}
    au_truth["a_left"][0] = -1
    au = _au_preds()
    out = write_values_submission(au_template, au, tmp_path / "au.txt", AU_FORMAT)
    want = au_scores(np.concatenate(list(au_truth.values())), np.concatenate(list(au.values())))
    assert score_values_submission(out, au_truth, AU_FORMAT, au_template) == want
    with pytest.raises(HarnessError, match="no truth for test video 'b'"):
        score_values_submission(out, {"a_left": au_truth["a_left"]}, AU_FORMAT, au_template)
    au_truth["b"] = au_truth["b"][:-1]  # one frame short: warned, the rest scored
    with pytest.warns(UserWarning, match="b: 5 truth frames, 6 predicted"):
        score_values_submission(out, au_truth, AU_FORMAT, au_template)


def test_registry_gives_each_task_its_format(tmp_path, va_template, au_template):
    assert list(SUBMISSION_FORMATS) == ["expr", "va", "au", "mtl"]
    va, au = SUBMISSION_FORMATS.get("va"), SUBMISSION_FORMATS.get("au")
    assert (va.header, au.header) == (VA_HEAD, AU_HEAD)
    out = va.write(va_template, _va_preds(), tmp_path / "v.txt")
    assert va.validate(out, va_template) == [] and set(va.read(out, va_template)) == set(FRAMES)
    problems = au.validate(out, au_template)  # a VA file checked as AU: header and each row
    assert problems[0].line == 1 and "2 values where an AU row has 12" in problems[1].message
    with pytest.raises(HarnessError, match="did you mean 'au'"):
        SUBMISSION_FORMATS.get("aus")


def test_crlf_bom_blank_lines_and_zip_accepted(tmp_path, va_template, au_template):
    for template, fmt, preds in ((va_template, VA_FORMAT, _va_preds()),
                                 (au_template, AU_FORMAT, _au_preds())):
        lines = _lines(tmp_path, template, fmt, preds)
        path = tmp_path / "crlf.txt"
        path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n\r\n\r\n").encode())
        assert validate_values_submission(path, template, fmt) == []
        back = read_values_submission(path, template, fmt)
        want = read_values_submission(_write(tmp_path, lines), template, fmt)
        assert all(np.array_equal(back[n], want[n]) for n in FRAMES)
        inside = lines[:5] + [""] + lines[5:]
        problems = validate_values_submission(_write(tmp_path, inside), template, fmt)
        assert [p.line for p in problems] == [6] and "empty line" in problems[0].message


def test_expr_entry_is_the_expr_functions(tmp_path):
    from harness.data.testset import read_template
    from submissions import score_submission, validate_submission, write_submission
    from tests.conftest import write_labels, write_template

    template = read_template(write_template(tmp_path / "t.txt", FRAMES))
    rng = np.random.default_rng(0)
    preds = {n: rng.integers(0, 8, k) for n, k in FRAMES.items()}
    truth = {n: rng.integers(-1, 8, k) for n, k in FRAMES.items()}
    for n, lab in truth.items():
        write_labels(tmp_path / "truth" / f"{n}.txt", lab)
    expr = SUBMISSION_FORMATS.get("expr")
    out = expr.write(template, preds, tmp_path / "e.txt")
    assert out.read_bytes() == write_submission(template, preds, tmp_path / "e2.txt").read_bytes()
    assert expr.validate(out, template) == validate_submission(out, template) == []
    want = score_submission(out, tmp_path / "truth", template)
    assert expr.score(out, tmp_path / "truth", template) == want
    assert expr.score(out, truth, template) == want  # truth as labels by name
