"""Check someone's submission file against the test template and list every problem found.

A submission is judged by the organisers once (teams had 5 tries), so the checker reports ALL
problems, each with its 1-based line in the file, rather than stopping at the first. It reads
the file the way others write it: BOM, CRLF and trailing blank lines are fine, a ``.zip`` holding
the text file is opened. Rows are parsed with array arithmetic over the raw bytes (1.02 M rows in
well under a second); only the reported problems are ever formatted as text.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.labels import NUM_CLASSES
from harness.data.rowscan import line_text, split_lines
from harness.data.testset import Template
from harness.errors import ReleaseFormatError
from submissions.abaw import frame_width, image_location, text_size, video_rows_with

#: Problems listed one by one; past this, one closing entry gives the count of the rest.
MAX_PROBLEMS = 50
_COMMA, _SLASH, _ZERO = ord(","), ord("/"), ord("0")
_JPG = np.frombuffer(b".jpg", dtype=np.uint8)
_INT = re.compile(r"^[+-]?\d+$")
_HOLE = ord("?")  # label placeholder in the expected text: never part of a valid row


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a submission; ``line`` is 1-based in the file (None: whole file)."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class ParsedRows:
    """The data rows of a submission, one entry per non-blank line after the header."""

    raw: bytes  # the file
    buf: np.ndarray  # the same bytes as an array
    header: str
    blank: np.ndarray  # 1-based numbers of empty lines between header and last row
    line: np.ndarray  # 1-based line number of each row
    starts: np.ndarray
    ends: np.ndarray
    comma: np.ndarray  # first ',' (== ends when absent)
    slash: np.ndarray  # last '/' before the comma (-1 when absent)
    frames: np.ndarray  # image number, -1 when the location is malformed
    located: np.ndarray  # bool: '<name>/<digits>.jpg' parsed
    run_of_row: np.ndarray  # consecutive rows with the same name share a run
    run_names: list[str]
    labels: np.ndarray  # 0..7, -1 when the label is not acceptable

    def text(self, i: int) -> str:
        return line_text(self.buf, int(self.starts[i]), int(self.ends[i]))


class _Collector:
    """Problems kept as (line arrays, formatter) so a million bad rows cost no string work."""

    def __init__(self) -> None:
        self.groups: list[tuple[np.ndarray, Callable[[int], str]]] = []
        self.whole: list[Problem] = []

    def add(self, lines: np.ndarray, fmt: Callable[[int], str]) -> None:
        """``fmt(k)`` formats the k-th entry of ``lines``."""
        if len(lines):
            self.groups.append((np.asarray(lines, dtype=np.int64), fmt))

    def problems(self, cap: int = MAX_PROBLEMS) -> list[Problem]:
        if not self.groups:
            found = list(self.whole)
        else:
            lines = np.concatenate([g[0] for g in self.groups])
            group = np.concatenate([np.full(len(g[0]), j) for j, g in enumerate(self.groups)])
            index = np.concatenate([np.arange(len(g[0])) for g in self.groups])
            order = np.argsort(lines, kind="stable")[: max(cap - len(self.whole), 0)]
            found = self.whole + [
                Problem(int(lines[o]), self.groups[group[o]][1](int(index[o]))) for o in order
            ]
        total = len(self.whole) + sum(len(g[0]) for g in self.groups)
        if total > len(found):
            found.append(Problem(None, f"... and {total - len(found)} more problems"))
        return found


def read_submission_bytes(path: str | Path) -> bytes:
    """The submission text as bytes; a zip must hold exactly one ``.txt`` (or one file)."""
    path = Path(path)
    if not path.is_file():
        raise ReleaseFormatError(path, "file not found")
    if not zipfile.is_zipfile(path):
        return path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        texts = [m for m in members if m.filename.lower().endswith(".txt")]
        pick = texts if len(texts) == 1 else members
        if len(pick) != 1:
            raise ReleaseFormatError(path, f"the zip holds {len(members)} files; expected one .txt")
        return zf.read(pick[0])


def parse_rows(data: bytes) -> ParsedRows | None:
    """Split the file into header and rows, parse every row without raising (None: empty)."""
    buf, starts, ends = split_lines(data)
    if starts.size == 0:
        return None
    header = line_text(buf, int(starts[0]), int(ends[0]))
    line = np.arange(starts.size, dtype=np.int64)[1:] + 1
    starts, ends = starts[1:], ends[1:]
    keep = ends > starts
    blank = line[~keep]
    line, starts, ends = line[keep], starts[keep], ends[keep]
    comma, slash = _marks(buf, starts, ends)
    frames = _frames(buf, starts, comma, slash)
    located = frames >= 0
    run_of_row, run_names = _name_runs(buf, starts, np.where(located, slash, starts))
    labels = _fast_labels(buf, comma, ends)
    return ParsedRows(data, buf, header, blank, line, starts, ends, comma, slash, frames, located,
                      run_of_row, run_names, labels)


def _marks(buf, starts, ends) -> tuple[np.ndarray, np.ndarray]:
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


def _frames(buf, starts, comma, slash) -> np.ndarray:
    """The image number of ``<name>/<digits>.jpg`` rows; -1 where the location is malformed."""
    digit_end = comma - _JPG.size
    width = digit_end - (slash + 1)
    ok = (slash > starts) & (width >= 1) & (width <= 12)
    safe = np.where(ok, digit_end, 0)
    for k, byte in enumerate(_JPG):
        ok &= buf[safe + k] == byte
    value = np.zeros(starts.size, dtype=np.int64)
    for c in range(int(width[ok].max()) if ok.any() else 0):  # digit c from the right
        has = ok & (width > c)
        d = buf[np.where(has, digit_end - 1 - c, 0)] - np.uint8(_ZERO)  # wraps below '0'
        ok &= ~has | (d <= 9)
        value += np.where(has, d, 0).astype(np.int64) * 10**c
    return np.where(ok, value, -1)


def _name_runs(buf, starts, name_end) -> tuple[np.ndarray, list[str]]:
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


def _fast_labels(buf, comma, ends) -> np.ndarray:
    """Single-digit labels 0..7 decoded in bulk; -1 elsewhere (looked at row by row later)."""
    one = (ends - comma) == 2
    c = buf[np.where(one, comma + 1, 0)].astype(np.int64) - _ZERO
    return np.where(one & (c >= 0) & (c < NUM_CLASSES), c, -1)


def validate_submission(path: str | Path, template: Template) -> list[Problem]:
    """Every problem of the submission at ``path`` against ``template`` (empty list: valid).

    Checks the header (verbatim), the row count, each row's image name and its order against the
    template, duplicates, missing rows, empty labels, extra columns and labels outside 0..7.
    At most ``MAX_PROBLEMS`` are listed, then one entry counts the rest.
    """
    try:
        data = read_submission_bytes(path)
    except ReleaseFormatError as exc:
        return [Problem(exc.line, str(exc).split(": ", 1)[-1])]
    if exact_labels(data, template) is not None:
        return []
    return _detailed_problems(data, template)


def exact_labels(data: bytes, template: Template) -> np.ndarray | None:
    """Fast path: the labels when the file is the template text with one digit 0..7 per row.

    The expected text is rebuilt with a placeholder byte for every label and compared byte for
    byte (after BOM, CRLF and trailing blank lines are normalised away). Any difference, even a
    harmless one such as ``' 3'``, returns None and the row-by-row checker takes over.
    """
    body = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"
    head = (template.header + "\n").encode()
    if not body.startswith(head) or len(body) - len(head) != text_size(template):
        return None
    holes = {n: np.full(k, _HOLE, dtype=np.uint8) for n, k in template.n_frames.items()}
    want = np.frombuffer(b"".join(video_rows_with(n, holes[n]) for n in template.names),
                         dtype=np.uint8)
    got = np.frombuffer(body, dtype=np.uint8)[len(head):]
    if got.size != want.size or not np.all(want[np.flatnonzero(got != want)] == _HOLE):
        return None
    labels = got[np.flatnonzero(want == _HOLE)].astype(np.int64) - _ZERO
    return labels if np.all((labels >= 0) & (labels < NUM_CLASSES)) else None


def _detailed_problems(data: bytes, template: Template) -> list[Problem]:
    """Row-by-row checks: every problem with its line (the slow path, still vectorised)."""
    rows = parse_rows(data)
    if rows is None:
        return [Problem(None, "the file is empty")]
    col = _Collector()
    _check_header(rows, template, col)
    tidx = _template_index(rows, template, col)
    _check_labels(rows, col)
    _check_coverage(rows, template, tidx, col)
    return col.problems()


def validate_submission_or_raise(path: str | Path, template: Template) -> None:
    """Raise ``ReleaseFormatError`` (file + first bad line) listing the problems, if any."""
    problems = validate_submission(path, template)
    if problems:
        first = next((p for p in problems if p.line is not None), problems[0])
        listed = "\n  ".join(str(p) for p in problems[:10])
        more = f"\n  ({len(problems) - 10} more listed by validate_submission)" \
            if len(problems) > 10 else ""
        raise ReleaseFormatError(path, f"not a valid submission:\n  {listed}{more}",
                                 line=first.line)


def _check_header(rows: ParsedRows, template: Template, col: _Collector) -> None:
    if rows.header == template.header:
        return
    hint = " (extra spaces around it)" if rows.header.strip() == template.header else ""
    col.add(np.array([1]), lambda _: f"header {rows.header!r} is not {template.header!r}{hint}")


def _template_index(rows: ParsedRows, template: Template, col: _Collector) -> np.ndarray:
    """Row -> template row index (-1: not a template image), flagging unknown/odd images."""
    pos = {name: k for k, name in enumerate(template.names)}
    sizes = np.array([template.n_frames[n] for n in template.names], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    run_name = np.array([pos.get(n, -1) for n in rows.run_names], dtype=np.int64)
    name_idx = np.where(rows.located, run_name[rows.run_of_row], -1)
    n_of = np.where(name_idx >= 0, sizes[np.maximum(name_idx, 0)], 0)
    known = (name_idx >= 0) & (rows.frames >= 1) & (rows.frames <= n_of)
    tidx = np.where(known, offsets[np.maximum(name_idx, 0)] + rows.frames - 1, -1)

    def where(k):  # formatter factory over a row subset
        return lambda j: rows.text(int(k[j]))

    bad_loc = np.flatnonzero(~rows.located)
    col.add(rows.line[bad_loc], lambda j: f"{where(bad_loc)(j)!r}: the image is not written "
            "'<name>/<NNNNN>.jpg'")
    no_comma = np.flatnonzero(rows.comma >= rows.ends)
    col.add(rows.line[no_comma], lambda j: f"{where(no_comma)(j)!r}: no ',<label>' after the "
            "image name")
    unknown = np.flatnonzero(rows.located & ~known)
    col.add(rows.line[unknown], lambda j: f"image {_loc(rows, unknown[j])!r} is not in the "
            "template" + _why_unknown(rows, unknown[j], template))
    odd = np.flatnonzero(known & (rows.slash + 1 + frame_width(rows.frames) + 4 != rows.comma))
    col.add(rows.line[odd], lambda j: f"image {_loc(rows, odd[j])!r} should be written "
            f"{_expected_name(rows, odd[j])!r}")
    return tidx


def _loc(rows: ParsedRows, i: int) -> str:
    return line_text(rows.buf, int(rows.starts[i]), int(rows.comma[i]))


def _why_unknown(rows: ParsedRows, i: int, template: Template) -> str:
    name = rows.run_names[rows.run_of_row[i]]
    if name not in template.n_frames:
        return f" (no test video {name!r})"
    return f" ({name!r} has frames 1..{template.n_frames[name]})"


def _expected_name(rows: ParsedRows, i: int) -> str:
    return image_location(rows.run_names[rows.run_of_row[i]], int(rows.frames[i]))


def _check_labels(rows: ParsedRows, col: _Collector) -> None:
    """Empty labels, extra columns, non-integers and labels outside 0..7 (odd rows only)."""
    col.add(rows.blank, lambda _: "empty line inside the file: every line is one frame")
    slow = np.flatnonzero((rows.comma < rows.ends) & (rows.labels < 0))
    raw, cache = rows.raw, {}
    verdicts = []
    for a, b in zip((rows.comma[slow] + 1).tolist(), rows.ends[slow].tolist()):
        value = raw[a:b]  # a submission of 1 M bad labels repeats a few values: memoise
        if value not in cache:
            cache[value] = _label_verdict(value.decode("utf-8", errors="replace"))
        verdicts.append(cache[value])
    bad = np.array([v is not None for v in verdicts], dtype=bool)
    keep = slow[bad] if slow.size else slow
    msgs = [v for v in verdicts if v is not None]
    col.add(rows.line[keep], lambda j: msgs[j])


def _label_verdict(value: str) -> str | None:
    """None when ``value`` is an acceptable label (e.g. ' 3'), else what is wrong with it."""
    v = value.strip()
    if not v:
        return "empty label: every frame needs a label 0..7"
    if "," in v:
        return f"extra column(s) {value!r}: a row is '<image>,<label>'"
    if not _INT.match(v):
        return f"label {v!r} is not an integer 0..7"
    if not 0 <= int(v) < NUM_CLASSES:
        return f"label {int(v)} is outside 0..7"
    return None


def _check_coverage(rows: ParsedRows, template: Template, tidx: np.ndarray,
                    col: _Collector) -> None:
    """Row count, duplicates, missing template rows and rows out of template order."""
    n_rows, want = rows.line.size, template.n_rows
    if n_rows != want:
        rows_word = "row" if n_rows == 1 else "rows"
        col.whole.append(Problem(None, f"{n_rows} {rows_word}, the template has {want}"))
    at = np.flatnonzero(tidx >= 0)
    order = at[np.argsort(tidx[at], kind="stable")]
    dup = np.zeros(order.size, dtype=bool)
    dup[1:] = tidx[order[1:]] == tidx[order[:-1]]
    first = order[np.maximum.accumulate(np.where(dup, 0, np.arange(order.size)))]
    dup_rows, dup_first = order[dup], first[dup]
    col.add(rows.line[dup_rows], lambda j: f"duplicate row for {_loc(rows, dup_rows[j])!r} "
            f"(first at line {rows.line[dup_first[j]]})")
    _check_missing(template, tidx[at], col)
    unique = np.sort(np.setdiff1d(at, dup_rows, assume_unique=True))
    expect = np.sort(tidx[unique])
    wrong = np.flatnonzero(tidx[unique] != expect)
    names = _names_by_index(template)
    col.add(rows.line[unique[wrong]], lambda j: f"row out of template order: "
            f"{_loc(rows, unique[wrong[j]])!r} here, the template has "
            f"{names(int(expect[wrong[j]]))!r} at this point")


def _names_by_index(template: Template) -> Callable[[int], str]:
    sizes = np.array([template.n_frames[n] for n in template.names], dtype=np.int64)
    ends = np.cumsum(sizes)

    def name(t: int) -> str:
        k = int(np.searchsorted(ends, t, side="right"))
        return image_location(template.names[k], t - int(ends[k] - sizes[k]) + 1)

    return name


def _check_missing(template: Template, present: np.ndarray, col: _Collector) -> None:
    """Template rows with no row in the file, as one problem per contiguous block per video."""
    covered = np.zeros(template.n_rows, dtype=bool)
    covered[present] = True
    missing = np.flatnonzero(~covered)
    if not missing.size:
        return
    sizes = np.array([template.n_frames[n] for n in template.names], dtype=np.int64)
    video_start = np.zeros(template.n_rows, dtype=bool)
    video_start[np.concatenate(([0], np.cumsum(sizes)[:-1]))] = True
    new_block = np.ones(missing.size, dtype=bool)
    new_block[1:] = (np.diff(missing) != 1) | video_start[missing[1:]]
    first = missing[new_block]
    last = missing[np.append(np.flatnonzero(new_block)[1:], missing.size) - 1]
    names = _names_by_index(template)

    def fmt(j: int) -> str:
        a, b = int(first[j]), int(last[j])
        if a == b:
            return f"missing row {names(a)!r} (template row {a + 1})"
        return (f"missing rows {names(a)!r}..{names(b)!r} ({b - a + 1} rows, template rows "
                f"{a + 1}..{b + 1})")

    col.add(first + 2, fmt)


def read_submission(path: str | Path, template: Template) -> dict[str, np.ndarray]:
    """The labels of a valid submission per template name (raises on any problem)."""
    data = read_submission_bytes(path)
    labels = exact_labels(data, template)
    if labels is None:
        validate_submission_or_raise(path, template)
        rows = parse_rows(data)
        assert rows is not None
        labels = rows.labels.copy()
        for i in np.flatnonzero(labels < 0):  # accepted odd spellings such as ' 3'
            text = line_text(rows.buf, int(rows.comma[i]) + 1, int(rows.ends[i]))
            labels[i] = int(text.strip())
    bounds = np.cumsum([template.n_frames[n] for n in template.names])[:-1]
    return dict(zip(template.names, np.split(labels, bounds)))
