"""Untrusted submission files (issue 29): zip bombs, junk, absurd fields; bounded and quoted."""

from __future__ import annotations

import struct
import time
import zipfile
import zlib

import numpy as np
import pytest

from harness.data.testset import read_template
from harness.errors import ReleaseFormatError
from submissions import read_submission, validate_submission, write_submission
from submissions.reading import MAX_SUBMISSION_BYTES, QUOTE_CHARS, quote
from tests.conftest import write_template

FRAMES = {"a_left": 12, "b": 7}


@pytest.fixture
def template(tmp_path):
    return read_template(write_template(tmp_path / "template.txt", FRAMES))


@pytest.fixture
def good(tmp_path, template) -> bytes:
    preds = {n: np.arange(k) % 8 for n, k in FRAMES.items()}
    return write_submission(template, preds, tmp_path / "good.txt").read_bytes()


def _short(problems, limit=QUOTE_CHARS + 200):
    assert problems and all(len(p.message) < limit for p in problems), \
        [len(p.message) for p in problems]


def _zip_bomb(path, head: bytes, n_blocks: int, block: bytes = b"\n" * 2**22) -> None:
    """A one-member zip: ``head`` then ``n_blocks`` copies of ``block``, deflated.

    One block is compressed once and its deflate bytes repeated (a full flush makes each copy
    stand alone), so building a zip that inflates to hundreds of MB costs milliseconds.
    """
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    stream = first + again * n_blocks + c.flush()
    crc = zlib.crc32(head)
    for _ in range(n_blocks):
        crc = zlib.crc32(block, crc)
    size, name = len(head) + n_blocks * len(block), b"sub.txt"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 33, crc, len(stream), size,
                        len(name), 0) + name
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 33, crc, len(stream),
                          size, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central),
                      len(local) + len(stream), 0)
    path.write_bytes(local + stream + central + end)


def test_zip_bomb_helper_builds_a_readable_zip(tmp_path):
    path = tmp_path / "small.zip"
    _zip_bomb(path, b"head\n", 3, b"\n" * 10)
    with zipfile.ZipFile(path) as zf:
        assert zf.read("sub.txt") == b"head\n" + b"\n" * 30  # CRC and sizes check out


def test_zip_bomb_refused_within_seconds(tmp_path, template, good):
    """A good submission followed by more newlines than the bound (the issue's bomb)."""
    path = tmp_path / "bomb.zip"
    _zip_bomb(path, good, MAX_SUBMISSION_BYTES // 2**22 + 1)
    assert path.stat().st_size < 2**21  # a ~1 MB zip holding more than 256 MiB
    start = time.perf_counter()
    problems = validate_submission(path, template)
    assert time.perf_counter() - start < 5
    assert len(problems) == 1 and "more than 256 MiB" in problems[0].message
    with pytest.raises(ReleaseFormatError, match="zip bomb"):
        read_submission(path, template)


def test_huge_plain_file_refused_by_its_size(tmp_path, template):
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(MAX_SUBMISSION_BYTES + 1)  # sparse: nothing is really written
    problems = validate_submission(path, template)
    assert len(problems) == 1 and "refusing to read it" in problems[0].message


def test_trailing_junk_refused_a_few_blank_lines_fine(tmp_path, template, good):
    path = tmp_path / "s.txt"
    path.write_bytes(good + b"\r\n\n\n")
    assert validate_submission(path, template) == []
    path.write_bytes(good + b"\n" * 100_000)
    problems = validate_submission(path, template)
    assert [(p.line, "junk at the end" in p.message) for p in problems] == [(21, True)]
    with pytest.raises(ReleaseFormatError, match="junk"):
        read_submission(path, template)
    path.write_bytes(good.replace(b"b/00001.jpg,0\n", b"b/00001.jpg,0\n" + b"x\n" * 100_000))
    problems = validate_submission(path, template)
    assert len(problems) == 1 and problems[0].line is None
    assert "100,020 lines for a template of 19 rows" in problems[0].message


def _edited(tmp_path, good: bytes, line: int, new: bytes):
    lines = good.split(b"\n")
    lines[line - 1] = new
    path = tmp_path / "edited.txt"
    path.write_bytes(b"\n".join(lines))
    return path


def test_label_of_4301_digits_is_a_problem_not_a_traceback(tmp_path, template, good):
    path = _edited(tmp_path, good, 3, b"a_left/00002.jpg," + b"1" * 4301)
    problems = validate_submission(path, template)
    assert [p.line for p in problems] == [3, 3]
    assert "line of 4,318 bytes" in problems[0].message
    assert "is outside 0..7" in problems[1].message and "characters)" in problems[1].message
    _short(problems)
    path = _edited(tmp_path, good, 3, b"a_left/00002.jpg," + b"9" * 400)  # under the cut
    (problem,) = validate_submission(path, template)
    assert problem.line == 3 and problem.message.endswith("(400 characters) is outside 0..7")


@pytest.mark.parametrize("label", ["\u0663", "\uff13", "3\u0663", "\u00b3"])
def test_labels_are_ascii_digits_only(tmp_path, template, good, label):
    path = _edited(tmp_path, good, 4, f"a_left/00003.jpg,{label}".encode())
    (problem,) = validate_submission(path, template)
    assert problem.line == 4 and "is not an integer 0..7" in problem.message


def test_50_mb_name_is_not_echoed(tmp_path, template, good):
    path = _edited(tmp_path, good, 5, b"x" * 50_000_000 + b"/00004.jpg,1")
    start = time.perf_counter()
    problems = validate_submission(path, template)
    assert time.perf_counter() - start < 10
    assert {p.line for p in problems} >= {5}
    assert "line of 50,000,012 bytes" in problems[0].message
    _short(problems)


def test_long_header_and_values_quoted_short(tmp_path, template, good):
    path = _edited(tmp_path, good, 1, b"image_location," + b"N" * 400)
    (problem,) = validate_submission(path, template)
    assert problem.line == 1 and "characters) is not" in problem.message
    _short([problem])
    assert quote("y" * 10_000).endswith("... (10,000 characters)")
    assert len(quote(b"z" * 10**6)) < 100
