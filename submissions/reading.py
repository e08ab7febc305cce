"""Reading a submission someone else made: bounded in size, time and what is echoed back.

A submission file is untrusted input. A real one is small (the largest template, EXPR's, has
1,022,655 rows: about 26 MB as text), so everything here is bounded well above that:

- a file or zip member may hold at most ``MAX_SUBMISSION_BYTES`` (256 MiB) of text: a zip member
  is decompressed as a stream and refused as soon as it passes the bound (a zip bomb costs at
  most that much memory and well under a second), a plain file is refused by its size;
- more than a few KB of blank lines after the last row (``MAX_TRAILING_BLANK``) is junk, refused;
- more lines than ``max_lines(template rows)`` is refused as a whole before any per-line work;
- a line longer than ``MAX_LINE_BYTES`` (a real row is under 100 bytes) is reported and cut to
  that length before parsing, so a 50 MB image name costs neither minutes nor a 50 MB message;
- every message quotes at most ``QUOTE_CHARS`` characters of what the file holds (``quote``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from harness.errors import ReleaseFormatError

#: Largest submission text accepted (plain file or zip member), far above a real one (~40 MB).
MAX_SUBMISSION_BYTES = 256 * 2**20
#: Blank lines after the last row: a few are normal, megabytes of them are junk.
MAX_TRAILING_BLANK = 4096
#: Longest line parsed; longer ones are reported and cut (a real row is under 100 bytes).
MAX_LINE_BYTES = 512
#: Characters of a file's content quoted in a message, at most.
QUOTE_CHARS = 60
_CHUNK = 2**20


def quote(text: str | bytes, limit: int = QUOTE_CHARS) -> str:
    """``repr`` of ``text`` cut to ``limit`` characters, saying how long it really was.

    >>> quote("a" * 1000, 5)
    "'aaaaa'... (1,000 characters)"
    >>> quote("b/00001.jpg")
    "'b/00001.jpg'"
    """
    size, unit = len(text), "characters"
    if isinstance(text, bytes):
        unit = "bytes"
        text = text[: limit * 4].decode("utf-8", errors="replace")
    if size <= limit and len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({size:,} {unit})"


def max_lines(template_rows: int) -> int:
    """Most lines a file for a template of that many rows may have before it is junk."""
    return 2 * template_rows + 10_000


def _read_member(path: Path, zf: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """The member's bytes, decompressed as a stream and refused past ``MAX_SUBMISSION_BYTES``."""
    parts, total = [], 0
    with zf.open(member) as fh:
        while chunk := fh.read(_CHUNK):
            total += len(chunk)
            if total > MAX_SUBMISSION_BYTES:
                raise ReleaseFormatError(
                    path, f"zip member {quote(member.filename)} holds more than "
                    f"{MAX_SUBMISSION_BYTES // 2**20} MiB of text (a real submission is about "
                    "40 MB): refusing to read it (a zip bomb?)")
            parts.append(chunk)
    return b"".join(parts)


def read_submission_bytes(path: str | Path) -> bytes:
    """The submission text as bytes; a zip must hold exactly one ``.txt`` (or one file)."""
    path = Path(path)
    if not path.is_file():
        raise ReleaseFormatError(path, "file not found")
    if not zipfile.is_zipfile(path):
        size = path.stat().st_size  # a plain file: refused by its size before reading it
        if size > MAX_SUBMISSION_BYTES:
            raise ReleaseFormatError(path, f"{size:,} bytes: more than "
                                     f"{MAX_SUBMISSION_BYTES // 2**20} MiB, far larger than "
                                     "a real submission (about 40 MB); refusing to read it")
        return path.read_bytes()
    size = path.stat().st_size
    if size > MAX_SUBMISSION_BYTES:
        raise ReleaseFormatError(path, f"a zip of {size:,} bytes: more than "
                                 f"{MAX_SUBMISSION_BYTES // 2**20} MiB, far larger than a real "
                                 "submission; refusing to read it")
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            texts = [m for m in members if m.filename.lower().endswith(".txt")]
            pick = texts if len(texts) == 1 else members
            if len(pick) != 1:
                raise ReleaseFormatError(path, f"the zip holds {len(members)} files; "
                                         "expected one .txt")
            return _read_member(path, zf, pick[0])
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise ReleaseFormatError(path, f"unreadable zip ({type(exc).__name__}: "
                                 f"{quote(str(exc))})") from None


def trailing_junk(data: bytes) -> tuple[bytes, int | None]:
    """``data`` without its trailing blank lines, and the line where junk starts (None: fine).

    Up to ``MAX_TRAILING_BLANK`` bytes of blank lines after the last row are normal and dropped;
    more is reported at the first blank line after the last row.
    """
    body = data.rstrip(b" \t\r\n")
    if len(data) - len(body) <= MAX_TRAILING_BLANK:
        return data, None
    return body + b"\n", body.count(b"\n") + 2


def cut_long_lines(data: bytes) -> tuple[bytes, list[tuple[int, int, bytes]]]:
    """``data`` with every line longer than ``MAX_LINE_BYTES`` cut to that length, and those
    lines as (1-based line, length in bytes, first bytes), in file order."""
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == ord("\n"))
    if not ends.size or ends[-1] != buf.size - 1:
        ends = np.append(ends, buf.size)
    starts = np.concatenate(([0], ends[:-1] + 1))
    long = np.flatnonzero(ends - starts > MAX_LINE_BYTES)
    if not long.size:
        return data, []
    found, parts, at = [], [], 0
    for k in long.tolist():
        s, e = int(starts[k]), int(ends[k])
        parts.append(data[at:s + MAX_LINE_BYTES])
        at = e
        found.append((k + 1, e - s, data[s:s + QUOTE_CHARS * 4]))
    parts.append(data[at:])
    return b"".join(parts), found
