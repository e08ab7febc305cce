"""EXPR annotation files: header line, then one label per frame (frame k on data line k).

VA and AU files are read by ``valuefiles``; ``read_annotation_dir`` reads any task's folder.

Reading is vectorised over the raw bytes (the real 317 files hold 1.56 M lines): the common
lines ``0``..``7`` and ``-1`` are decoded with array arithmetic, anything else goes through a
careful slow path that either accepts it (surrounding spaces) or names the file and line.
``-1`` (invalid frame) stays in the arrays; consumers mask it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from harness.data.labels import ANNOTATION_HEADER, NUM_CLASSES
from harness.data.rowscan import line_text, split_lines
from harness.data.valuefiles import quoted
from harness.errors import ReleaseFormatError

_LABEL_TEXT = np.array([str(v) for v in range(-1, 8)])
_INT = re.compile(r"^-?\d+$")
_MAX_DIGITS = 8  # longer is out of range anyway, and int() refuses 4,301 digits with a traceback


def read_annotation_file(path: str | Path) -> np.ndarray:
    """Labels of frames 1..N as int8 (index k-1 holds frame k).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.txt"
    >>> _ = p.write_text(ANNOTATION_HEADER + "\\r\\n0\\r\\n-1\\r\\n7\\r\\n\\r\\n")
    >>> read_annotation_file(p).tolist()
    [0, -1, 7]
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReleaseFormatError(path, "file not found") from None
    buf, starts, ends = split_lines(data)
    if starts.size == 0:
        raise ReleaseFormatError(path, "empty annotation file (no header, no labels)")
    header = line_text(buf, int(starts[0]), int(ends[0])).strip()
    if header != ANNOTATION_HEADER:
        raise ReleaseFormatError(path, f"header {quoted(header)} is not {ANNOTATION_HEADER!r}",
                                 line=1)
    starts, ends = starts[1:], ends[1:]
    if starts.size == 0:
        raise ReleaseFormatError(path, "the file has a header but no labels", line=1)
    return _decode_labels(path, buf, starts, ends)


def _decode_labels(path: Path, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    length = ends - starts
    c0 = buf[np.minimum(starts, buf.size - 1)].astype(np.int16)
    c1 = buf[np.minimum(starts + 1, buf.size - 1)].astype(np.int16)
    digit = (length == 1) & (c0 >= ord("0")) & (c0 < ord("0") + NUM_CLASSES)
    minus_one = (length == 2) & (c0 == ord("-")) & (c1 == ord("1"))
    labels = np.where(digit, c0 - ord("0"), -1).astype(np.int8)
    for i in np.flatnonzero(~(digit | minus_one)):  # rare: only odd-looking lines get here
        labels[i] = _slow_label(path, line_text(buf, int(starts[i]), int(ends[i])), int(i) + 2)
    return labels


def _slow_label(path: Path, text: str, line: int) -> int:
    value = text.strip()
    if not value:
        raise ReleaseFormatError(path, "empty line where a label was expected", line=line)
    if not _INT.match(value) or not value.isascii():  # \d alone would take '٣' for 3
        raise ReleaseFormatError(path, f"label {quoted(value)} is not an integer in -1..7",
                                 line=line)
    if len(value) > _MAX_DIGITS:
        raise ReleaseFormatError(path, f"label {quoted(value)} is outside -1..7", line=line)
    label = int(value)
    if not -1 <= label < NUM_CLASSES:
        raise ReleaseFormatError(path, f"label {label} is outside -1..7", line=line)
    return label


def read_annotation_dir(folder: str | Path, task=None) -> dict[str, np.ndarray]:
    """Every ``<name>.txt`` in a split folder, by name, sorted, read as ``task``'s files
    (a ``harness.tasks`` name or Task; default EXPR)."""
    from harness.tasks import get_task  # the tasks import this module's reader

    folder = Path(folder)
    if not folder.is_dir():
        raise ReleaseFormatError(folder, "annotation folder not found")
    files = sorted(p for p in folder.iterdir() if p.suffix == ".txt" and p.is_file())
    return dict(zip((p.stem for p in files), get_task(task).read_files(files)))


def annotation_text(labels: np.ndarray, crlf: bool = False) -> str:
    """Header, then one integer per line (the real files end with a newline too)."""
    end = "\r\n" if crlf else "\n"
    body = end.join(_LABEL_TEXT[np.asarray(labels, dtype=np.int64) + 1].tolist())
    return ANNOTATION_HEADER + end + body + end
