import pytest

from harness.data.labels import TEMPLATE_HEADER
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
