"""VA and AU annotation files (and odd EXPR labels): good ones read, bad ones name file, line."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from harness.data.annotations import read_annotation_dir, read_annotation_file
from harness.data.labels import ANNOTATION_HEADER
from harness.data.valuefiles import (
    AU_NAMES,
    QUOTE,
    au_text,
    read_au_file,
    read_va_file,
    read_va_files,
    va_text,
)
from harness.errors import ReleaseFormatError

VA_HEADER = "valence,arousal"
AU_HEADER = ",".join(AU_NAMES)
AU_ROW = "0,1,0,0,1,0,0,0,0,0,1,1"


def write(tmp_path, text: str, name: str = "v.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def raises_at(path, line: int, match: str):
    return pytest.raises(ReleaseFormatError, match=rf"{path.name}:{line}: .*{match}")


# ------------------------------------------------------------------------------------- VA

def test_va_reads_floats_markers_crlf_and_exponents(tmp_path):
    p = write(tmp_path, "valence,arousal\r\n0.5,-0.25\r\n-5,-5\r\n1e-05,1\r\n-1,+.5\r\n\r\n")
    values = read_va_file(p)
    assert values.dtype == np.float32 and values.shape == (4, 2)
    np.testing.assert_allclose(values, [[0.5, -0.25], [-5, -5], [1e-05, 1], [-1, 0.5]])


def test_va_header_text_is_not_enforced_but_its_columns_are(tmp_path):
    assert read_va_file(write(tmp_path, "Valence,Arousal\n0.1,0.2\n")).shape == (1, 2)
    p = write(tmp_path, AU_HEADER + "\n0.1,0.2\n")
    with raises_at(p, 1, "12 column"):
        read_va_file(p)
    p = write(tmp_path, ANNOTATION_HEADER + "\n0.1,0.2\n")
    with raises_at(p, 1, "8 column"):
        read_va_file(p)
    p = write(tmp_path, "0.1,0.2\n0.3,0.4\n")
    with raises_at(p, 1, "not a header"):
        read_va_file(p)


@pytest.mark.parametrize("line, match", [
    ("1.5,0.2", "valence 1.5 is outside"),
    ("0.2,-1.01", "arousal -1.01 is outside"),
    ("nan,0.2", "valence 'nan' is not a number"),
    ("0.2,NaN", "arousal 'NaN' is not a number"),
    ("inf,0.2", "valence 'inf' is not a number"),
    ("0.1,٣", "arousal '٣' is not a number"),
    ("0.1,0.2,0.3", "3 value"),
    (AU_ROW, "12 value"),
    ("0.1", "1 value"),
    ("0.1,", "arousal '' is not a number"),
    ("", "an empty line"),
    ("0.1,--2", "arousal '--2' is not a number"),
    ("1.2.3,0", "valence '1.2.3' is not a number"),
])
def test_va_bad_line_is_named(tmp_path, line, match):
    p = write(tmp_path, f"{VA_HEADER}\n0.1,0.2\n{line}\n0.3,0.4\n")
    with raises_at(p, 3, match):
        read_va_file(p)


def test_va_a_4301_digit_value_is_quoted_short(tmp_path):
    p = write(tmp_path, f"{VA_HEADER}\n0.1,{'1' * 4301}\n")
    with pytest.raises(ReleaseFormatError, match=r"v.txt:2: ") as info:
        read_va_file(p)
    assert "arousal inf is outside" in str(info.value)  # the number, not its 4,301 digits
    assert "1" * (QUOTE + 5) not in str(info.value)


def test_va_one_marker_alone_is_an_invalid_frame_with_a_warning(tmp_path):
    p = write(tmp_path, f"{VA_HEADER}\n0.1,0.2\n-5,0.3\n")
    with pytest.warns(UserWarning, match="-5 in one column only .*line 3"):
        values = read_va_file(p)
    assert values[1].tolist() == [-5, -5]


def test_va_bulk_reading_names_the_bad_file(tmp_path):
    good = [write(tmp_path, f"{VA_HEADER}\n0.1,0.2\n0.3,0.4\n", f"g{i}.txt") for i in range(3)]
    bad = write(tmp_path, f"{VA_HEADER}\n0.1,0.2\n0.3,x\n", "bad.txt")
    out = read_va_files(good)
    assert [v.shape for v in out] == [(2, 2)] * 3
    with raises_at(bad, 3, "arousal 'x'"):
        read_va_files([*good, bad])


def test_va_text_round_trips(tmp_path):
    values = np.array([[0.5, -0.25], [-5, -5], [0.12344, -1], [1, 0]], dtype=np.float32)
    p = write(tmp_path, va_text(values, crlf=True))
    assert p.read_bytes().count(b"\r\n") == 5
    np.testing.assert_allclose(read_va_file(p), values, atol=1e-4)


# ------------------------------------------------------------------------------------- AU

def test_au_reads_rows_and_invalid_rows(tmp_path):
    invalid = ",".join(["-1"] * 12)
    p = write(tmp_path, f"{AU_HEADER}\r\n{AU_ROW}\r\n{invalid}\r\n{AU_ROW}\r\n")
    values = read_au_file(p)
    assert values.dtype == np.int8 and values.shape == (3, 12)
    assert values[0].tolist() == [int(x) for x in AU_ROW.split(",")]
    assert values[1].tolist() == [-1] * 12


def test_au_mixed_line_ends_spaces_and_no_final_newline(tmp_path):
    p = write(tmp_path, f"{AU_HEADER}\n{AU_ROW}\r\n{AU_ROW}\n 0, 1,0,0,1,0,0,0,0,0,1,1\n{AU_ROW}")
    values = read_au_file(p)
    assert values.shape == (4, 12) and (values == values[0]).all()


def test_au_partly_invalid_row_is_invalid_with_a_warning(tmp_path):
    p = write(tmp_path, f"{AU_HEADER}\n{AU_ROW}\n-1,1,0,0,1,0,0,0,0,0,1,1\n")
    with pytest.warns(UserWarning, match="-1 for only some AUs .*line 3"):
        values = read_au_file(p)
    assert values[1].tolist() == [-1] * 12


@pytest.mark.parametrize("line, match", [
    ("0.1,0.2", "2 value"),
    ("0,1,0,0,1,0,0,0,0,0,1", "11 value"),
    (AU_ROW + ",0", "13 value"),
    ("0,1,0,0,1,0,0,0,0,0,1,2", "AU26 '2' is not 0, 1 or -1"),
    ("0,1,0,0,1,0,nan,0,0,0,1,1", "AU12 'nan'"),
    ("0,1,0,0,1,0,0,0,0,0,1,٣", "AU26 '٣'"),
    ("", "an empty line"),
])
def test_au_bad_line_is_named(tmp_path, line, match):
    p = write(tmp_path, f"{AU_HEADER}\n{AU_ROW}\n{line}\n{AU_ROW}\n")
    with raises_at(p, 3, match):
        read_au_file(p)


def test_au_header_of_another_task_is_refused(tmp_path):
    for header in (VA_HEADER, ANNOTATION_HEADER):
        p = write(tmp_path, f"{header}\n{AU_ROW}\n")
        with raises_at(p, 1, "column"):
            read_au_file(p)


def test_au_a_4301_digit_value_is_quoted_short(tmp_path):
    p = write(tmp_path, f"{AU_HEADER}\n0,1,0,0,1,0,0,0,0,0,1,{'1' * 4301}\n")
    with raises_at(p, 2, "4,301 characters") as info:
        read_au_file(p)
    assert "1" * (QUOTE + 5) not in str(info.value)


def test_au_text_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    values = (rng.random((50, 12)) < 0.3).astype(np.int8)
    values[10:14] = -1
    for crlf in (False, True):
        p = write(tmp_path, au_text(values, crlf=crlf))
        assert (read_au_file(p) == values).all()


def test_a_folder_is_read_as_its_task(tmp_path):
    write(tmp_path, f"{AU_HEADER}\n{AU_ROW}\n", "a.txt")
    write(tmp_path, f"{AU_HEADER}\n{AU_ROW}\n{AU_ROW}\n", "b.txt")
    out = read_annotation_dir(tmp_path, "au")
    assert list(out) == ["a", "b"] and out["b"].shape == (2, 12)
    with raises_at(tmp_path / "a.txt", 1, "header"):
        read_annotation_dir(tmp_path)  # as EXPR: the AU header is not EXPR's


# ----------------------------------------------------------------------------------- EXPR

def test_expr_refuses_non_ascii_digits_and_quotes_long_labels_short(tmp_path):
    p = write(tmp_path, f"{ANNOTATION_HEADER}\n0\n٣\n")
    with raises_at(p, 3, "is not an integer"):
        read_annotation_file(p)
    p = write(tmp_path, f"{ANNOTATION_HEADER}\n0\n{'1' * 4301}\n")
    with raises_at(p, 3, "4,301 characters.* is outside -1..7") as info:
        read_annotation_file(p)
    assert "1" * (QUOTE + 5) not in str(info.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_annotation_file(write(tmp_path, f"{ANNOTATION_HEADER}\n 7 \n")).tolist() == [7]
