"""Vectorised scanning of ``<name>/<NNNNN>.jpg,<value>`` rows (template and submission files).

The real template has 1,022,655 rows; splitting them in a Python loop costs seconds. Here the
file is one uint8 array and every row is parsed with array arithmetic; only the ~228 distinct
names are ever decoded to Python strings.

One scan serves two readers. ``scan`` never raises: it gives every row its parsed image
location and a ``RowProblem`` code, so the submission validator can list every bad row with its
line. ``scan_rows`` (the template reader's) raises ``ReleaseFormatError`` on the first bad line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np

from harness.errors import ReleaseFormatError

_NL, _CR, _SLASH, _COMMA, _ZERO = 10, 13, ord("/"), ord(","), ord("0")
_JPG = np.frombuffer(b".jpg", dtype=np.uint8)
_BOM = b"\xef\xbb\xbf"
#: Widest frame number parsed (int64-safe); wider numbers are a ``TOO_LONG`` row.
MAX_FRAME_DIGITS = 12


class RowProblem(IntEnum):
    """What is wrong with a row's image location (the first failing check, in this order)."""

    OK = 0
    NO_NAME = 1  # no '/' before the first ',' or nothing before the '/'
    NO_NUMBER = 2  # nothing between '/' and '.jpg'
    NOT_JPG = 3
    TOO_LONG = 4
    NOT_DIGITS = 5


PROBLEM_MESSAGES: dict[RowProblem, str] = {
    RowProblem.NO_NAME: "expected '<name>/<NNNNN>.jpg,' (no video name before '/')",
    RowProblem.NO_NUMBER: "the image name is not '<NNNNN>.jpg'",
    RowProblem.NOT_JPG: "the image name is not '.jpg'",
    RowProblem.TOO_LONG: "frame number too long",
    RowProblem.NOT_DIGITS: "the frame number is not a whole number",
}
NO_VALUE_MESSAGE = "expected a ',' after the image name"
BLANK_MESSAGE = "empty line inside the file: every line is one frame"


@dataclass(frozen=True)
class ScannedRows:
    """The non-blank lines after the header, parsed; arrays hold one entry per row."""

    data: bytes  # the file
    buf: np.ndarray  # the same bytes as a uint8 array (offsets below index both)
    header: str  # line 1 as written (BOM and CR removed, spaces kept)
    blank: np.ndarray  # 1-based numbers of empty lines between the header and the last row
    line: np.ndarray  # 1-based line number of each row
    starts: np.ndarray  # byte offset of each row
    ends: np.ndarray  # byte offset of each row's end (CR excluded)
    comma: np.ndarray  # first ',' of the row (== ends when there is none)
    slash: np.ndarray  # last '/' before that comma (-1 when there is none)
    frames: np.ndarray  # image number, -1 where ``problem`` is not OK
    problem: np.ndarray  # RowProblem code of each row (int8)
    run_of_row: np.ndarray  # consecutive rows with the same name share a run index
    run_names: list[str]  # name of each run ('' for a run of malformed rows)

    @property
    def n_rows(self) -> int:
        return int(self.line.size)

    @property
    def located(self) -> np.ndarray:
        """Rows whose image location parsed as ``<name>/<digits>.jpg``."""
        return self.problem == RowProblem.OK

    @property
    def has_value(self) -> np.ndarray:
        """Rows with a ',' after the image location."""
        return self.comma < self.ends

    def text(self, i: int) -> str:
        """Row ``i`` as written (for messages)."""
        return line_text(self.buf, int(self.starts[i]), int(self.ends[i]))

    def location(self, i: int) -> str:
        """The image location of row ``i``: the text before its first ','."""
        return line_text(self.buf, int(self.starts[i]), int(self.comma[i]))

    def value(self, i: int) -> bytes:
        """The raw value field of row ``i`` (after the first ',')."""
        return self.data[int(self.comma[i]) + 1:int(self.ends[i])]

    def digit_values(self) -> np.ndarray:
        """Values written as exactly one digit, decoded in bulk; -1 for every other row."""
        one = (self.ends - self.comma) == 2
        c = self.buf[np.where(one, self.comma + 1, 0)].astype(np.int64) - _ZERO
        return np.where(one & (c >= 0) & (c <= 9), c, -1)


def split_lines(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start/end byte offsets of each line (CR and BOM stripped, trailing blank lines dropped)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    start0 = len(_BOM) if data[:3] == _BOM else 0
    nl = np.flatnonzero(buf == _NL)
    ends = np.append(nl, buf.size) if (buf.size and buf[-1] != _NL) else nl
    starts = np.concatenate(([start0], nl[: ends.size - 1] + 1)) if ends.size else nl
    ends = ends.copy()
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == _CR)
    ends[cr] -= 1
    nonblank = np.flatnonzero(ends > starts)
    keep = nonblank[-1] + 1 if nonblank.size else 0
    return buf, starts[:keep], ends[:keep]


def line_text(buf: np.ndarray, start: int, end: int) -> str:
    return bytes(buf[start:end]).decode("utf-8", errors="replace")


def scan(data: bytes) -> ScannedRows | None:
    """Parse the header and every row of ``data`` without raising (None: the file is empty)."""
    buf, starts, ends = split_lines(data)
    if starts.size == 0:
        return None
    header = line_text(buf, int(starts[0]), int(ends[0]))
    line = np.arange(2, starts.size + 1, dtype=np.int64)
    starts, ends = starts[1:], ends[1:]
    keep = ends > starts
    blank = line[~keep]
    line, starts, ends = line[keep], starts[keep], ends[keep]
    comma, slash = _marks(buf, starts, ends)
    frames, problem = _locations(buf, starts, comma, slash)
    name_end = np.where(problem == RowProblem.OK, slash, starts)
    run_of_row, run_names = _name_runs(buf, starts, name_end)
    return ScannedRows(data, buf, header, blank, line, starts, ends, comma, slash, frames,
                       problem, run_of_row, run_names)


def first_bad_line(rows: ScannedRows, *, require_value: bool) -> tuple[int, str] | None:
    """The first line that breaks the row format and what is wrong with it (None: all good)."""
    bad = rows.problem != RowProblem.OK
    if require_value:
        bad |= ~rows.has_value
    found = []
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        code = RowProblem(int(rows.problem[i]))
        if code != RowProblem.NO_NAME and not rows.has_value[i] and require_value:
            why = NO_VALUE_MESSAGE  # checked right after the name, as a reader would
        else:
            why = PROBLEM_MESSAGES[code]
        found.append((int(rows.line[i]), f"{rows.text(i)!r}: {why}"))
    if rows.blank.size:
        found.append((int(rows.blank[0]), BLANK_MESSAGE))
    return min(found) if found else None


def scan_rows(path: Path, data: bytes, *, require_value: bool) -> tuple[str, ScannedRows]:
    """Header (stripped) and rows of a file that must be well formed; raises on the first bad
    line with its number (``require_value``: every row needs a ',' after the image name)."""
    rows = scan(data)
    if rows is None:
        raise ReleaseFormatError(path, "the file is empty")
    if rows.n_rows == 0:
        raise ReleaseFormatError(path, "the file has a header but no rows", line=1)
    bad = first_bad_line(rows, require_value=require_value)
    if bad is not None:
        raise ReleaseFormatError(path, bad[1], line=bad[0])
    return rows.header.strip(), rows


def _marks(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Per row: first ',' (or the row end) and last '/' before it (or -1)."""
    if starts.size == 0:
        return ends, np.full_like(starts, -1)
    body = buf[starts[0]:]
    commas = np.flatnonzero(body == _COMMA) + starts[0]
    slashes = np.flatnonzero(body == _SLASH) + starts[0]
    if commas.size == slashes.size == starts.size and np.all(
            (starts < slashes) & (slashes < commas) & (commas < ends)):
        return commas, slashes  # the usual file: one '/' and one ',' per row
    k = np.searchsorted(commas, starts)
    comma = commas[np.minimum(k, commas.size - 1)] if commas.size else ends
    comma = np.where((k < commas.size) & (comma < ends), comma, ends)
    j = np.searchsorted(slashes, comma) - 1
    slash = slashes[np.maximum(j, 0)] if slashes.size else np.full_like(starts, -1)
    slash = np.where((j >= 0) & (slash >= starts), slash, -1)
    return comma, slash


def _locations(buf: np.ndarray, starts: np.ndarray, comma: np.ndarray, slash: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Image numbers of ``<name>/<digits>.jpg`` locations and each row's ``RowProblem``."""
    digit_end = comma - _JPG.size  # exclusive
    width = digit_end - (slash + 1)
    problem = np.zeros(starts.size, dtype=np.int8)
    ok = slash > starts
    problem[~ok] = RowProblem.NO_NAME
    _flag(problem, ok, width < 1, RowProblem.NO_NUMBER)
    safe = np.where(ok, digit_end, 0)
    jpg = np.ones(starts.size, dtype=bool)
    for k, byte in enumerate(_JPG):
        jpg &= buf[safe + k] == byte
    _flag(problem, ok, ~jpg, RowProblem.NOT_JPG)
    _flag(problem, ok, width > MAX_FRAME_DIGITS, RowProblem.TOO_LONG)
    value = np.zeros(starts.size, dtype=np.int64)
    digits = ok.copy()
    for c in range(int(width[ok].max()) if ok.any() else 0):  # digit c from the right
        has = ok & (width > c)
        d = buf[np.where(has, digit_end - 1 - c, 0)] - np.uint8(_ZERO)  # wraps below '0'
        digits &= ~has | (d <= 9)
        value += np.where(has, d, 0).astype(np.int64) * 10**c
    _flag(problem, ok, ~digits, RowProblem.NOT_DIGITS)
    return np.where(ok, value, -1), problem


def _flag(problem: np.ndarray, ok: np.ndarray, fails: np.ndarray, code: RowProblem) -> None:
    """Give still-good rows that ``fails`` the code ``code`` (and take them out of ``ok``)."""
    hit = ok & fails
    problem[hit] = code
    ok &= ~fails


def _name_runs(buf: np.ndarray, starts: np.ndarray, name_end: np.ndarray
               ) -> tuple[np.ndarray, list[str]]:
    """Group consecutive rows with the same name, comparing 8 bytes at a time.

    ``words[p]`` is the little-endian 64-bit word of bytes p..p+7 (an overlapping strided view
    of the padded buffer), so a 30-byte name costs 4 comparisons per row instead of 30.
    """
    length = name_end - starts
    differs = np.ones(starts.size, dtype=bool)
    if starts.size > 1:
        padded = np.concatenate((buf, np.zeros(8, dtype=np.uint8)))
        words = np.ndarray((buf.size,), dtype="<u8", buffer=padded.data, strides=(1,))
        same = length[1:] == length[:-1]
        for c in range(0, int(length.max(initial=0)), 8):
            left = np.clip(length[1:] - c, 0, 8).astype(np.uint64)
            mask = np.where(left >= 8, np.uint64(2**64 - 1),
                            (np.uint64(1) << (np.uint64(8) * left)) - np.uint64(1))
            live = same & (left > 0)
            a = words[np.where(live, starts[1:] + c, 0)]
            b = words[np.where(live, starts[:-1] + c, 0)]
            same &= ~live | (((a ^ b) & mask) == 0)
        differs[1:] = ~same
    first = np.flatnonzero(differs)
    names = [line_text(buf, int(starts[i]), int(name_end[i])) for i in first]
    return np.cumsum(differs) - 1, names
