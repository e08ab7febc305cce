import pytest

from harness.data.labels import TEMPLATE_HEADER
from harness.data.rowscan import RowProblem, first_bad_line, scan
from harness.data.testset import read_template, read_test_list
from harness.errors import ReleaseFormatError
from tests.conftest import write_template


def test_template_groups_and_counts(tmp_path):
    t = read_template(write_template(tmp_path / "t.txt", {"a_left": 3, "b": 5, "a_right": 2}))
    assert t.names == ("a_left", "b", "a_right")
    assert t.n_frames == {"a_left": 3, "b": 5, "a_right": 2} and t.n_rows == 10
    assert t.header == TEMPLATE_HEADER


def _rows(n):
    return [TEMPLATE_HEADER] + [f"v/{k:05d}.jpg," for k in range(1, n + 1)]


@pytest.mark.parametrize(
    "edit, line, words",
    [
        (lambda r: r.__setitem__(0, "image,Neutral"), 1, "header"),
        (lambda r: r.__setitem__(3, "v/00004.jpg,"), 4, "frame 4 where frame 3"),
        (lambda r: r.__setitem__(2, "v/0000a.jpg,"), 3, "whole number"),
        (lambda r: r.__setitem__(2, "00002.jpg,"), 3, "no video name"),
        (lambda r: r.extend(["w/00001.jpg,", "v/00006.jpg,"]), 8, "resume"),
    ],
)
def test_template_errors_name_the_line(tmp_path, edit, line, words):
    rows = _rows(5)
    edit(rows)
    p = tmp_path / "t.txt"
    p.write_text("\n".join(rows) + "\n")
    with pytest.raises(ReleaseFormatError, match=words) as exc:
        read_template(p)
    assert exc.value.line == line


def test_template_crlf_bom(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes(("\ufeff" + "\r\n".join(_rows(4)) + "\r\n").encode())
    assert read_template(p).n_frames == {"v": 4}


def test_test_list(tmp_path):
    p = tmp_path / "l.txt"
    p.write_text("a\r\nb_left\n\n")
    assert read_test_list(p) == ["a", "b_left"]
    p.write_text("a\n../etc\n")
    with pytest.raises(ReleaseFormatError, match="not a plain video name") as exc:
        read_test_list(p)
    assert exc.value.line == 2
    p.write_text("a\nb\na\n")
    with pytest.raises(ReleaseFormatError, match="repeats"):
        read_test_list(p)


def test_template_names_the_first_bad_line_whatever_is_wrong(tmp_path):
    """One scan flags every row; the reader raises on the earliest, not the first check."""
    rows = _rows(6)
    rows[3] = "v/0000x.jpg,"  # line 4: not a number
    rows[5] = "00005.jpg,"  # line 6: no name (checked first, but comes later in the file)
    p = tmp_path / "t.txt"
    p.write_text("\n".join(rows) + "\n")
    with pytest.raises(ReleaseFormatError, match="whole number") as exc:
        read_template(p)
    assert exc.value.line == 4
    p.write_text("\n".join(_rows(3)[:2] + [""] + _rows(3)[2:]) + "\n")
    with pytest.raises(ReleaseFormatError, match="empty line") as exc:
        read_template(p)
    assert exc.value.line == 3


def test_scan_flags_every_row_without_raising():
    text = "\n".join(["image_location,x", "v/00001.jpg,1", "v/0000a.jpg,2", "00003.jpg,3",
                      "v/00004.png,4", "v/.jpg,5", "", "v/1234567890123.jpg,6", "w/00007.jpg",
                      "w/00008.jpg, 7"]) + "\r\n\r\n"
    rows = scan(("\ufeff" + text).encode())
    assert rows.header == "image_location,x" and rows.blank.tolist() == [7]
    assert rows.line.tolist() == [2, 3, 4, 5, 6, 8, 9, 10]
    P = RowProblem
    assert rows.problem.tolist() == [P.OK, P.NOT_DIGITS, P.NO_NAME, P.NOT_JPG, P.NO_NUMBER,
                                     P.TOO_LONG, P.OK, P.OK]
    assert rows.frames.tolist() == [1, -1, -1, -1, -1, -1, 7, 8]
    assert rows.has_value.tolist() == [True] * 6 + [False, True]
    assert rows.digit_values().tolist() == [1, 2, 3, 4, 5, 6, -1, -1]
    assert rows.value(7) == b" 7" and rows.location(6) == "w/00007.jpg"
    assert rows.run_names[rows.run_of_row[0]] == "v" and rows.run_names[rows.run_of_row[-1]] == "w"
    assert first_bad_line(rows, require_value=False) == (3, "'v/0000a.jpg,2': the frame number "
                                                         "is not a whole number")
    assert scan(b"") is None and scan(b"header\n").n_rows == 0
