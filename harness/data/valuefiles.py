"""VA and AU annotation files: a header, then one comma-separated row of values per frame.

VA rows are two ASCII float literals (``0.25,-0.5``, ``1e-05,0``), valid when both lie in
[-1, 1], ``-5,-5`` when the frame is invalid; AU rows are 12 integers 0/1 in the order of
``AU_NAMES``, all ``-1`` when the frame is invalid. Reading is vectorised over the raw bytes
(the real VA training set holds about 1.7 M lines): the bytes and the column count of every
line are checked with array arithmetic, VA values are decoded in one pandas call for all files
of a folder, and only a file that fails goes through a slow per-line pass that names the line.
Messages quote at most ``QUOTE`` characters of a bad field (a 4,301-digit label stays one line).
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.rowscan import line_text, split_lines
from harness.errors import ReleaseFormatError

QUOTE = 24  # characters of a bad field quoted in a message
VA_INVALID = -5.0
AU_INVALID = -1
AU_NAMES: tuple[str, ...] = ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23",
                             "AU24", "AU25", "AU26")
_COMMA, _ZERO, _ONE, _MINUS = ord(","), ord("0"), ord("1"), ord("-")
#: Bytes a VA data line may hold: ASCII digits, sign, point, exponent, comma, blank.
_VA_BYTES = np.zeros(256, dtype=bool)
_VA_BYTES[np.frombuffer(b"0123456789+-.eE, \t\r\n", dtype=np.uint8)] = True
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_NUMBER_LIKE = re.compile(r"^[\s0-9+\-.eE]*$")


def quoted(text: str) -> str:
    """``text`` for a message: repr'd, cut to ``QUOTE`` characters (with the full length)."""
    if len(text) <= QUOTE:
        return repr(text)
    return f"{text[:QUOTE]!r}... ({len(text):,} characters)"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ReleaseFormatError(path, "file not found") from None
    except IsADirectoryError:
        raise ReleaseFormatError(path, "a folder where an annotation file was expected") from None


def _lines(path: Path, data: bytes, columns: int, what: str):
    """Header checked for its column count (and for being a header); the data lines' offsets."""
    buf, starts, ends = split_lines(data)
    if starts.size == 0:
        raise ReleaseFormatError(path, "empty annotation file (no header, no values)")
    header = line_text(buf, int(starts[0]), int(ends[0])).strip()
    fields = header.split(",")
    if len(fields) != columns:
        raise ReleaseFormatError(
            path, f"header {quoted(header)} has {len(fields)} column(s); a {what} file has "
            f"{columns}", line=1)
    if _NUMBER_LIKE.match(header):
        raise ReleaseFormatError(path, f"line 1 {quoted(header)} holds values, not a header "
                                 "(the header line is missing)", line=1)
    starts, ends = starts[1:], ends[1:]
    if starts.size == 0:
        raise ReleaseFormatError(path, "the file has a header but no values", line=1)
    return buf, starts, ends


def _commas_per_line(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    is_comma = np.concatenate(([0], np.cumsum(buf == _COMMA, dtype=np.int64)))
    return is_comma[ends] - is_comma[starts]


def _column_error(path: Path, buf, starts, ends, commas, columns: int, what: str) -> None:
    bad = np.flatnonzero(commas != columns - 1)
    if bad.size:
        i = int(bad[0])
        text = line_text(buf, int(starts[i]), int(ends[i]))
        got = "an empty line" if not text.strip() else f"{int(commas[i]) + 1} value(s)"
        raise ReleaseFormatError(path, f"{got} where {columns} {what} values were expected: "
                                 f"{quoted(text)}", line=i + 2)


# ---------------------------------------------------------------------------------------- VA

def _va_prepare(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    buf, starts, ends = _lines(path, _read(path), 2, "VA")
    _column_error(path, buf, starts, ends, _commas_per_line(buf, starts, ends), 2, "VA")
    body = buf[starts[0]:]
    if not _VA_BYTES[body].all():
        at = int(np.flatnonzero(~_VA_BYTES[body])[0]) + int(starts[0])
        i = int(np.searchsorted(ends, at, side="right"))
        _va_slow(path, buf, starts[i:i + 1], ends[i:i + 1], first_line=i + 2)
    return buf, starts, ends


def _va_slow(path: Path, buf, starts, ends, first_line: int = 2) -> np.ndarray:
    """Parse line by line (a file the fast pass refused): the first bad field names its line."""
    out = np.empty((starts.size, 2), dtype=np.float64)
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist())):
        for j, field in enumerate(line_text(buf, a, b).split(",")):
            value = field.strip()
            if not value.isascii() or not _FLOAT.match(value):
                raise ReleaseFormatError(
                    path, f"{('valence', 'arousal')[j]} {quoted(value)} is not a number "
                    "(an ASCII decimal like 0.25, -1, 1e-05)", line=first_line + i)
            out[i, j] = float(value)
    return out


def _va_check(path: Path, values: np.ndarray) -> np.ndarray:
    """Range and invalid-marker rules; returns float32 values (``-5,-5`` kept as the marker)."""
    inside = (values >= -1.0) & (values <= 1.0)
    marker = values == VA_INVALID
    bad = ~(inside | marker).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        j = int(np.flatnonzero(~(inside[i] | marker[i]))[0])
        raise ReleaseFormatError(
            path, f"{('valence', 'arousal')[j]} {values[i, j]!r} is outside [-1, 1] and not the "
            f"invalid marker {VA_INVALID:g}", line=i + 2)
    half = marker.any(axis=1) & ~marker.all(axis=1)
    if half.any():
        lines = np.flatnonzero(half) + 2
        warnings.warn(f"{path}: {lines.size} line(s) have -5 in one column only (first line "
                      f"{lines[0]}); such frames are treated as invalid", stacklevel=3)
    out = values.astype(np.float32)
    out[half] = VA_INVALID
    return out


def read_va_files(paths: Sequence[Path]) -> list[np.ndarray]:
    """Valence/arousal of frames 1..N of each file, float32 (N, 2), in ``paths`` order.

    All files are checked, then decoded in one pandas call; a file whose values do not parse
    is re-read line by line, so the error names its line.
    """
    prepared = [(Path(p), *_va_prepare(Path(p))) for p in paths]
    if not prepared:
        return []
    bodies = [bytes(buf[starts[0]:]) for _, buf, starts, _ in prepared]
    joined = b"\n".join(body.rstrip(b"\r\n") for body in bodies)
    sizes = [int(starts.size) for _, _, starts, _ in prepared]
    try:
        table = pd.read_csv(io.BytesIO(joined), header=None, names=["v", "a"],
                            dtype=np.float64, skip_blank_lines=False, engine="c")
        values = table.to_numpy(dtype=np.float64)
        ok = values.shape[0] == sum(sizes) and not np.isnan(values).any()
    except (ValueError, pd.errors.ParserError):
        ok = False
    if not ok:
        values = np.concatenate([_va_slow(p, buf, s, e) for p, buf, s, e in prepared])
    parts = np.split(values, np.cumsum(sizes)[:-1])
    return [_va_check(p, part) for (p, *_), part in zip(prepared, parts)]


def read_va_file(path: str | Path) -> np.ndarray:
    """One VA file, float32 (N, 2); ``-5,-5`` rows are invalid frames.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.txt"
    >>> _ = p.write_text("valence,arousal\\r\\n0.5,-0.25\\r\\n-5,-5\\r\\n1e-05,1\\r\\n")
    >>> read_va_file(p).tolist()
    [[0.5, -0.25], [-5.0, -5.0], [9.999999747378752e-06, 1.0]]
    """
    return read_va_files([Path(path)])[0]


def va_valid(values: np.ndarray) -> np.ndarray:
    """Frames whose valence and arousal are both in [-1, 1]."""
    return ((values >= -1) & (values <= 1)).all(axis=1)


# ---------------------------------------------------------------------------------------- AU

_AU_WIDTH = 2 * len(AU_NAMES) - 1  # "0,1,...,0"
_AU_INVALID_ROW = np.frombuffer(",".join(["-1"] * len(AU_NAMES)).encode(), dtype=np.uint8)


def read_au_file(path: str | Path) -> np.ndarray:
    """The 12 AUs of frames 1..N, int8 (N, 12); a row with any -1 is an invalid frame.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.txt"
    >>> _ = p.write_text(",".join(AU_NAMES) + "\\n" + ",".join("010000000011") + "\\n")
    >>> read_au_file(p).tolist()
    [[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]]
    """
    path = Path(path)
    buf, starts, ends = _lines(path, _read(path), len(AU_NAMES), "AU")
    n = len(AU_NAMES)
    _column_error(path, buf, starts, ends, _commas_per_line(buf, starts, ends), n, "AU")
    length = ends - starts
    out = np.full((starts.size, n), AU_INVALID, dtype=np.int8)
    plain = length == _AU_WIDTH
    idx = starts[plain, None] + np.arange(0, _AU_WIDTH, 2)
    digits = buf[np.minimum(idx, buf.size - 1)].astype(np.int16) - _ZERO
    ok = ((digits == 0) | (digits == 1)).all(axis=1)
    rows = np.flatnonzero(plain)
    out[rows[ok]] = digits[ok]
    invalid_len = _AU_INVALID_ROW.size
    all_invalid = np.zeros(starts.size, dtype=bool)
    cand = np.flatnonzero(length == invalid_len)
    if cand.size:
        block = buf[starts[cand, None] + np.arange(invalid_len)]
        all_invalid[cand[(block == _AU_INVALID_ROW).all(axis=1)]] = True
    slow = np.ones(starts.size, dtype=bool)
    slow[rows[ok]] = False
    slow[all_invalid] = False
    partial = []
    for i in np.flatnonzero(slow):  # rare: spaces, partly invalid rows, or an error
        out[i], part = _au_slow(path, line_text(buf, int(starts[i]), int(ends[i])), int(i) + 2)
        if part:
            partial.append(int(i) + 2)
    if partial:
        warnings.warn(f"{path}: {len(partial)} line(s) have -1 for only some AUs (first line "
                      f"{partial[0]}); such frames are treated as invalid", stacklevel=2)
    return out


def _au_slow(path: Path, text: str, line: int) -> tuple[np.ndarray, bool]:
    values = []
    for name, field in zip(AU_NAMES, text.split(",")):
        value = field.strip()
        if value not in ("0", "1", "-1"):
            raise ReleaseFormatError(path, f"{name} {quoted(value)} is not 0, 1 or -1",
                                     line=line)
        values.append(int(value))
    row = np.array(values, dtype=np.int8)
    invalid = row < 0
    if invalid.any():
        return np.full(len(AU_NAMES), AU_INVALID, dtype=np.int8), not invalid.all()
    return row, False


def au_valid(values: np.ndarray) -> np.ndarray:
    """Frames whose 12 AUs are all 0 or 1."""
    return (values >= 0).all(axis=1)


# ----------------------------------------------------------------------------------- writing

def _with_header(header: str, body: bytes, crlf: bool) -> str:
    text = header + "\n" + body.decode("ascii")
    return text.replace("\n", "\r\n") if crlf else text


def va_text(values: np.ndarray, header: str = "valence,arousal", crlf: bool = False) -> str:
    """A VA annotation file: header, then ``v,a`` per frame (``%.4g``: ``-5`` for the marker,
    exponents for tiny values, as any float literal may be)."""
    body = "".join(f"{v:.4g},{a:.4g}\n" for v, a in np.asarray(values, dtype=np.float64))
    return _with_header(header, body.encode("ascii"), crlf)


def au_text(values: np.ndarray, header: str = ",".join(AU_NAMES), crlf: bool = False) -> str:
    """An AU annotation file: header, then 12 ``0``/``1`` per frame, an invalid frame all -1."""
    values = np.asarray(values, dtype=np.int8)
    n = len(AU_NAMES)
    rows = np.full((len(values), 2 * n), _COMMA, dtype=np.uint8)
    rows[:, 0:2 * n:2] = np.clip(values, 0, 1) + _ZERO
    rows[:, -1] = ord("\n")
    valid = au_valid(values)
    invalid_line = _AU_INVALID_ROW.tobytes() + b"\n"
    cuts = np.flatnonzero(np.diff(valid.astype(np.int8))) + 1
    parts = []
    for a, b in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [len(values)]))):
        parts.append(rows[a:b].tobytes() if valid[a] else invalid_line * int(b - a))
    return _with_header(header, b"".join(parts), crlf)
