import numpy as np
import pytest

from harness.data.annotations import read_annotation_dir, read_annotation_file
from harness.data.labels import ANNOTATION_HEADER
from harness.errors import ReleaseFormatError
from tests.conftest import write_labels


def test_reads_labels_frame_k_on_line_k(tmp_path):
    lab = [0, 1, -1, 7, 4]
    assert read_annotation_file(write_labels(tmp_path / "a.txt", lab)).tolist() == lab


def test_crlf_and_trailing_blank_lines_are_accepted(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes((ANNOTATION_HEADER + "\r\n3\r\n-1\r\n 5 \r\n\r\n\n").encode())
    assert read_annotation_file(p).tolist() == [3, -1, 5]


@pytest.mark.parametrize(
    "body, line, words",
    [
        ("0\n8\n", 3, "outside"),
        ("0\nx\n", 3, "not an integer"),
        ("1.5\n", 2, "not an integer"),
        ("0\n\n3\n", 3, "empty line"),
        ("-2\n", 2, "outside"),
    ],
)
def test_bad_labels_name_file_and_line(tmp_path, body, line, words):
    p = tmp_path / "bad.txt"
    p.write_text(ANNOTATION_HEADER + "\n" + body)
    with pytest.raises(ReleaseFormatError, match=words) as exc:
        read_annotation_file(p)
    assert exc.value.line == line and exc.value.path == p
    assert f"bad.txt:{line}" in str(exc.value)


@pytest.mark.parametrize("text", ["", "Neutral,Anger\n0\n", "0\n1\n"])
def test_bad_or_missing_header(tmp_path, text):
    p = tmp_path / "h.txt"
    p.write_text(text)
    with pytest.raises(ReleaseFormatError, match="h.txt"):
        read_annotation_file(p)


def test_header_only_is_an_error(tmp_path):
    p = tmp_path / "h.txt"
    p.write_text(ANNOTATION_HEADER + "\n")
    with pytest.raises(ReleaseFormatError, match="no labels"):
        read_annotation_file(p)


def test_dir_reads_every_txt_sorted(tmp_path):
    write_labels(tmp_path / "b.txt", [1])
    write_labels(tmp_path / "a_left.txt", [2, 3])
    (tmp_path / "notes.md").write_text("x")
    out = read_annotation_dir(tmp_path)
    assert list(out) == ["a_left", "b"] and out["a_left"].dtype == np.int8


def test_large_file_matches_slow_parse(tmp_path):
    rng = np.random.default_rng(1)
    lab = rng.integers(-1, 8, 50_000)
    assert np.array_equal(read_annotation_file(write_labels(tmp_path / "big.txt", lab)), lab)
