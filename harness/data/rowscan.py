"""Vectorised scanning of ``<name>/<NNNNN>.jpg,<value>`` rows (template and submission files).

The real template has 1,022,655 rows; splitting them in a Python loop costs seconds. Here the
file is one uint8 array and every row is parsed with array arithmetic; only the ~228 distinct
names are ever decoded to Python strings. On any malformed row the first bad one is reported
with its 1-based line number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import ReleaseFormatError

_NL, _CR, _SLASH, _COMMA, _ZERO = 10, 13, ord("/"), ord(","), ord("0")
_JPG = np.frombuffer(b".jpg", dtype=np.uint8)


@dataclass(frozen=True)
class ScannedRows:
    """Rows after the header: names grouped by consecutive runs, frames, and the value field."""

    data: np.ndarray  # the whole file as uint8
    first_line: int  # 1-based line number of row 0
    group_of_row: np.ndarray  # (n,) run index of each row (a run = consecutive rows, same name)
    group_names: list[str]  # name of each run
    frames: np.ndarray  # (n,) int64 frame number from the image name
    value_start: np.ndarray  # (n,) byte offset after the first comma
    value_end: np.ndarray  # (n,) byte offset of the end of the row (CR stripped)

    @property
    def n_rows(self) -> int:
        return int(self.frames.size)


def split_lines(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start/end byte offsets of each line (CR and BOM stripped, trailing blank lines dropped)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    start0 = 3 if data[:3] == b"\xef\xbb\xbf" else 0
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


def scan_rows(path: Path, data: bytes, *, require_value: bool) -> tuple[str, ScannedRows]:
    """Parse the header line and every ``<name>/<frame>.jpg,<value>`` row of ``data``."""
    buf, starts, ends = split_lines(data)
    if starts.size == 0:
        raise ReleaseFormatError(path, "the file is empty")
    header = line_text(buf, int(starts[0]), int(ends[0])).strip()
    starts, ends = starts[1:], ends[1:]
    if starts.size == 0:
        raise ReleaseFormatError(path, "the file has a header but no rows", line=1)
    last_slash, first_comma = _row_marks(buf, starts, ends)
    _check_structure(path, buf, starts, ends, last_slash, first_comma, require_value)
    frames = _frame_numbers(path, buf, starts, ends, last_slash, first_comma)
    group_of_row, group_names = _name_runs(buf, starts, last_slash)
    return header, ScannedRows(
        data=buf, first_line=2, group_of_row=group_of_row, group_names=group_names,
        frames=frames, value_start=np.minimum(first_comma + 1, ends), value_end=ends,
    )


def _row_marks(buf, starts, ends):
    """Per row: position of the last '/' and of the first ',' (-1 / row end when absent)."""
    slashes = np.flatnonzero(buf == _SLASH)
    commas = np.flatnonzero(buf == _COMMA)
    k = np.searchsorted(commas, starts)
    first_comma = commas[np.minimum(k, commas.size - 1)] if commas.size else ends
    first_comma = np.where((k < commas.size) & (first_comma < ends), first_comma, ends)
    j = np.searchsorted(slashes, first_comma) - 1  # last '/' before the comma
    last_slash = slashes[np.maximum(j, 0)] if slashes.size else np.full_like(starts, -1)
    last_slash = np.where((j >= 0) & (last_slash >= starts), last_slash, -1)
    return last_slash, first_comma


def _fail(path, buf, starts, ends, bad: np.ndarray, message: str) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = line_text(buf, int(starts[i]), int(ends[i]))
        raise ReleaseFormatError(path, f"{row!r}: {message}", line=i + 2)


def _check_structure(path, buf, starts, ends, last_slash, first_comma, require_value) -> None:
    _fail(path, buf, starts, ends, last_slash <= starts,
          "expected '<name>/<NNNNN>.jpg,' (no video name before '/')")
    if require_value:
        _fail(path, buf, starts, ends, first_comma >= ends, "expected a ',' after the image name")
    stem_len = first_comma - 4 - (last_slash + 1)
    _fail(path, buf, starts, ends, stem_len < 1, "the image name is not '<NNNNN>.jpg'")
    ext = buf[(first_comma - 4)[:, None] + np.arange(4)[None, :]]
    _fail(path, buf, starts, ends, np.any(ext != _JPG, axis=1), "the image name is not '.jpg'")


def _frame_numbers(path, buf, starts, ends, last_slash, first_comma) -> np.ndarray:
    digit_end = first_comma - 4  # exclusive
    width = digit_end - (last_slash + 1)
    w = int(width.max())
    if w > 9:
        _fail(path, buf, starts, ends, width > 9, "frame number too long")
    cols = np.arange(w)[None, :]
    pos = digit_end[:, None] - w + cols
    valid = cols >= (w - width)[:, None]
    digits = buf[np.where(valid, pos, 0)].astype(np.int64) - _ZERO
    digits = np.where(valid, digits, 0)
    _fail(path, buf, starts, ends, np.any((digits < 0) | (digits > 9), axis=1),
          "the frame number is not a whole number")
    return digits @ (10 ** np.arange(w - 1, -1, -1, dtype=np.int64))


def _name_runs(buf, starts, last_slash) -> tuple[np.ndarray, list[str]]:
    """Group consecutive rows with equal names without decoding a million strings."""
    lengths = last_slash - starts
    width = int(lengths.max())
    cols = np.arange(width)[None, :]
    mat = buf[np.minimum(starts[:, None] + cols, buf.size - 1)]
    mat = np.where(cols < lengths[:, None], mat, 0)
    differs = np.ones(starts.size, dtype=bool)
    differs[1:] = (lengths[1:] != lengths[:-1]) | np.any(mat[1:] != mat[:-1], axis=1)
    run_starts = np.flatnonzero(differs)
    names = [line_text(buf, int(starts[i]), int(last_slash[i])) for i in run_starts]
    return np.cumsum(differs) - 1, names
