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
_BOM = b"\xef\xbb\xbf"
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_NUMBER_LIKE = re.compile(r"^[\s0-9+\-.eE,]*$")


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
    """Commas on each line (for files with few commas per line: VA's one)."""
    at = np.flatnonzero(buf == _COMMA)
    return np.searchsorted(at, ends) - np.searchsorted(at, starts)


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
            path, f"{('valence', 'arousal')[j]} {float(values[i, j])!r} is outside [-1, 1] and "
            f"not the invalid marker {VA_INVALID:g}", line=i + 2)
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

    Fast path: each file's header is checked, the bodies of all files are decoded in one
    pandas call (no NA strings, so anything but a number fails). When that fails or gives a
    non-finite value, the files are read one by one with every check (``_va_careful``), so the
    error names the file and line.
    """
    paths = [Path(p) for p in paths]
    bodies = [_va_body(p) for p in paths]
    values = None
    if bodies and all(b is not None for b in bodies):
        values = _va_bulk([b for b, _ in bodies], [n for _, n in bodies])
    if values is None:
        return [_va_check(p, _va_careful(p)) for p in paths]
    return [_va_check(p, v) for p, v in zip(paths, values)]


def _va_body(path: Path) -> tuple[bytes, int] | None:
    """The data lines of a plain file and their count (None: let the careful path look)."""
    data = _read(path)
    cut = data.find(b"\n")
    if cut < 0 or data.startswith(_BOM) or data[:cut].rstrip(b"\r").count(b",") != 1:
        return None
    header = data[:cut].decode("ascii", errors="replace").strip()
    if _NUMBER_LIKE.match(header):
        return None
    body = data[cut + 1:].rstrip(b"\r\n")
    if not body or not body.isascii():
        return None
    return body, body.count(b"\n") + 1


def _va_bulk(bodies: list[bytes], sizes: list[int]) -> list[np.ndarray] | None:
    try:
        table = pd.read_csv(io.BytesIO(b"\n".join(bodies)), header=None, names=["v", "a"],
                            dtype=np.float64, na_filter=False, skip_blank_lines=False,
                            engine="c")
    except (ValueError, pd.errors.ParserError):
        return None
    values = table.to_numpy(dtype=np.float64)
    if values.shape != (sum(sizes), 2) or not np.isfinite(values).all():
        return None
    return np.split(values, np.cumsum(sizes)[:-1])


def _va_careful(path: Path) -> np.ndarray:
    """One file with every check: header, column count, bytes, each value (slow, exact)."""
    buf, starts, ends = _va_prepare(path)
    values = _va_bulk([bytes(buf[starts[0]:]).rstrip(b"\r\n")], [int(starts.size)])
    return values[0] if values is not None else _va_slow(path, buf, starts, ends)


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

    The usual lines (``0,1,...`` 23 bytes, evenly spaced) are checked as strided 2-D views of
    the file's bytes, without index arrays; all-``-1`` lines are compared as a block; anything
    else goes through ``_au_slow``, which accepts it or names its line.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.txt"
    >>> _ = p.write_text(",".join(AU_NAMES) + "\\n" + ",".join("010000000011") + "\\n")
    >>> read_au_file(p).tolist()
    [[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]]
    """
    path = Path(path)
    buf, starts, ends = _lines(path, _read(path), len(AU_NAMES), "AU")
    n = len(AU_NAMES)
    out = np.full((starts.size, n), AU_INVALID, dtype=np.int8)
    done = np.zeros(starts.size, dtype=bool)
    _au_blocks(buf, starts, ends, out, done)
    width = _AU_INVALID_ROW.size
    cand = np.flatnonzero(~done & (ends - starts == width))
    if cand.size:
        block = buf[starts[cand, None] + np.arange(width)]
        done[cand[(block == _AU_INVALID_ROW).all(axis=1)]] = True
    partial = []
    for i in np.flatnonzero(~done):  # rare: spaces, partly invalid rows, or an error
        out[i], part = _au_slow(path, line_text(buf, int(starts[i]), int(ends[i])), int(i) + 2)
        if part:
            partial.append(int(i) + 2)
    if partial:
        warnings.warn(f"{path}: {len(partial)} line(s) have -1 for only some AUs (first line "
                      f"{partial[0]}); such frames are treated as invalid", stacklevel=2)
    return out


def _au_blocks(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, out: np.ndarray,
               done: np.ndarray) -> None:
    """Decode runs of plain ``0,1,...`` lines at a constant stride (LF or CRLF) in place."""
    plain = (ends - starts) == _AU_WIDTH
    pair = plain[:-1] & plain[1:]
    stride = np.diff(starts)
    runs: list[tuple[int, int, int]] = []
    linked = np.zeros(starts.size, dtype=bool)
    for step in (_AU_WIDTH + 1, _AU_WIDTH + 2):  # LF and CRLF line ends
        # line i continues a run when it and line i+1 are plain, one stride apart
        link = pair & (stride == step)
        edges = np.flatnonzero(np.diff(np.concatenate(([0], link.astype(np.int8), [0]))))
        for a, b in zip(edges[::2].tolist(), edges[1::2].tolist()):
            runs.append((a, b + 1, step))
            linked[a:b + 1] = True
    runs += [(i, i + 1, _AU_WIDTH + 1) for i in np.flatnonzero(plain & ~linked).tolist()]
    for a, b, step in runs:
        _au_run(buf, int(starts[a]), a, b, step, out, done)


def _lf_row_pattern() -> tuple[np.ndarray, np.ndarray]:
    """(mask, pattern) of a plain LF row as three little-endian words: digits are 0x30 or 0x31
    (checked with the low bit masked off), commas and the newline exactly."""
    mask = np.full(_AU_WIDTH + 1, 0xFF, dtype=np.uint8)
    pattern = np.full(_AU_WIDTH + 1, _COMMA, dtype=np.uint8)
    mask[0:_AU_WIDTH:2], pattern[0:_AU_WIDTH:2] = 0xFE, _ZERO
    pattern[_AU_WIDTH] = ord("\n")
    return mask.view("<u8"), pattern.view("<u8")


_LF_MASK, _LF_PATTERN = _lf_row_pattern()


def _au_run(buf: np.ndarray, start: int, a: int, b: int, step: int, out: np.ndarray,
            done: np.ndarray) -> None:
    """Lines a..b-1 start ``step`` bytes apart from ``start``: one contiguous 2-D block."""
    k = min(b - a, (buf.size - start) // step)  # a last line without its line end: slow path
    if k <= 0:
        return
    rows = buf[start:start + k * step].reshape(k, step)
    if step == _AU_WIDTH + 1:
        ok = ((rows.view("<u8") & _LF_MASK) == _LF_PATTERN).all(axis=1)
    else:
        digits = rows[:, 0:_AU_WIDTH:2] - np.uint8(_ZERO)  # wraps below '0': > 1 either way
        ok = ((digits <= 1).all(axis=1) & (rows[:, 1:_AU_WIDTH:2] == _COMMA).all(axis=1)
              & (rows[:, _AU_WIDTH] == ord("\r")))
    values = rows[:, 0:_AU_WIDTH:2].view(np.int8)
    if ok.all():  # the usual block
        np.subtract(values, _ZERO, out=out[a:a + k])
        done[a:a + k] = True
    else:
        out[a:a + k][ok] = values[ok] - _ZERO
        done[a:a + k] = ok


def _au_slow(path: Path, text: str, line: int) -> tuple[np.ndarray, bool]:
    fields = text.split(",")
    if len(fields) != len(AU_NAMES):
        got = "an empty line" if not text.strip() else f"{len(fields)} value(s)"
        raise ReleaseFormatError(path, f"{got} where {len(AU_NAMES)} AU values were expected: "
                                 f"{quoted(text)}", line=line)
    values = []
    for name, field in zip(AU_NAMES, fields):
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
    """A VA annotation file: header, then ``v,a`` per frame with 4 decimals (``-0.1234``),
    ``-5,-5`` for an invalid frame. Formatted with array arithmetic (millions of lines)."""
    values = np.asarray(values, dtype=np.float64)
    invalid = ~va_valid(values)
    fields = [_fixed4(values[:, j], invalid) for j in range(2)]
    comma = np.full((len(values), 1), _COMMA, dtype=np.uint8)
    newline = np.full((len(values), 1), ord("\n"), dtype=np.uint8)
    table = np.concatenate([fields[0], comma, fields[1], newline], axis=1).ravel()
    return _with_header(header, table[table != 0].tobytes(), crlf)


def _fixed4(x: np.ndarray, invalid: np.ndarray) -> np.ndarray:
    """(N, 7) bytes of ``-0.1234`` / ``0.1234`` (0 = nothing), ``-5`` where ``invalid``."""
    q = np.rint(np.abs(np.where(invalid, 0.0, x)) * 10_000).astype(np.int64)
    out = np.zeros((len(x), 7), dtype=np.uint8)
    out[:, 0] = np.where((x < 0) & (q > 0), _MINUS, 0)
    out[:, 1] = q // 10_000 + _ZERO
    out[:, 2] = ord(".")
    for k in range(4):
        out[:, 3 + k] = (q // 10 ** (3 - k)) % 10 + _ZERO
    out[invalid] = 0
    out[invalid, 0], out[invalid, 1] = _MINUS, ord("5")
    return out


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
