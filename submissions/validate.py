"""Check someone's submission file against the test template and list every problem found.

A submission is judged by the organisers once (teams had 5 tries), so the checker reports ALL
problems, each with its 1-based line in the file, rather than stopping at the first. It reads
the file the way others write it: BOM, CRLF and trailing blank lines are fine, a ``.zip`` holding
the text file is opened. Rows are parsed with array arithmetic over the raw bytes (1.02 M rows in
well under a second); only the reported problems are ever formatted as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.labels import NUM_CLASSES
from harness.data.rowscan import BLANK_MESSAGE, ScannedRows, scan
from harness.data.testset import Template
from harness.errors import ReleaseFormatError
from submissions.abaw import frame_width, image_location, text_size, video_rows_with
from submissions.reading import (
    cut_long_lines,
    max_lines,
    quote,
    read_submission_bytes,
    trailing_junk,
)

#: Problems listed one by one; past this, one closing entry gives the count of the rest.
MAX_PROBLEMS = 50
_ZERO = ord("0")
_INT = re.compile(r"^[+-]?[0-9]+$")  # ASCII digits only: '\u0663' is no label
_HOLE = ord("?")  # label placeholder in the expected text: never part of a valid row


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a submission; ``line`` is 1-based in the file (None: whole file)."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


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
    data, early = screen(data, template.n_rows)
    if early and early[0][0] is None:
        return [Problem(None, early[0][1])]
    if not early and exact_labels(data, template) is not None:
        return []
    return _detailed_problems(data, template, early)


def screen(data: bytes, template_rows: int) -> tuple[bytes, list[tuple[int | None, str]]]:
    """Bound the work an untrusted file can cause before any per-line parsing.

    Returns the data to parse (trailing junk dropped, over-long lines cut) and the problems
    found on the way; a first problem with no line means the file is refused as a whole.
    """
    data, junk = trailing_junk(data)
    found: list[tuple[int | None, str]] = []
    if junk is not None:
        found.append((junk, "blank lines after the last row run on for more than "
                      "4 KB: junk at the end of the file"))
    n_lines = data.count(b"\n")
    if n_lines > max_lines(template_rows):
        return data, [(None, f"{n_lines:,} lines for a template of {template_rows:,} rows: "
                       "not a submission (refused without checking each line)")]
    data, longs = cut_long_lines(data)
    found += [(line, f"line of {size:,} bytes (a row is under 100): {quote(head)}")
              for line, size, head in longs]
    return data, found


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


def _detailed_problems(data: bytes, template: Template,
                       early: list[tuple[int | None, str]] = ()) -> list[Problem]:
    """Row-by-row checks: every problem with its line (the slow path, still vectorised)."""
    rows = scan(data)
    if rows is None:
        return [Problem(None, "the file is empty")]
    col = _Collector()
    add_found(col, early)
    _check_header(rows, template.header, col)
    tidx = _template_index(rows, template, col)
    _check_labels(rows, col)
    _check_coverage(rows, template, tidx, col)
    return col.problems()


def add_found(col: _Collector, found: list[tuple[int | None, str]]) -> None:
    """Problems found by ``screen`` into the collector (lines sorted in with the others)."""
    for line, message in found:
        if line is None:
            col.whole.append(Problem(None, message))
        else:
            col.add(np.array([line]), lambda _, m=message: m)


def validate_submission_or_raise(path: str | Path, template: Template) -> None:
    """Raise ``ReleaseFormatError`` (file + first bad line) listing the problems, if any."""
    raise_problems(path, validate_submission(path, template))


def raise_problems(path: str | Path, problems: list[Problem]) -> None:
    """Raise ``ReleaseFormatError`` (file + first bad line) listing ``problems``, if any."""
    if problems:
        first = next((p for p in problems if p.line is not None), problems[0])
        listed = "\n  ".join(str(p) for p in problems[:10])
        more = f"\n  ({len(problems) - 10} more listed by validate_submission)" \
            if len(problems) > 10 else ""
        raise ReleaseFormatError(path, f"not a valid submission:\n  {listed}{more}",
                                 line=first.line)


def _check_header(rows: ScannedRows, header: str, col: _Collector) -> None:
    if rows.header == header:
        return
    hint = " (extra spaces around it)" if rows.header.strip() == header else ""
    col.add(np.array([1]), lambda _: f"header {quote(rows.header)} is not {header!r}{hint}")


def _template_index(rows: ScannedRows, template: Template, col: _Collector,
                    value: str = "<label>") -> np.ndarray:
    """Row -> template row index (-1: not a template image), flagging unknown/odd images.

    ``value`` names what follows the image in a row, for the message of a row without it."""
    pos = {name: k for k, name in enumerate(template.names)}
    sizes = np.array([template.n_frames[n] for n in template.names], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    run_name = np.array([pos.get(n, -1) for n in rows.run_names], dtype=np.int64)
    name_idx = np.where(rows.located, run_name[rows.run_of_row], -1)
    n_of = np.where(name_idx >= 0, sizes[np.maximum(name_idx, 0)], 0)
    known = (name_idx >= 0) & (rows.frames >= 1) & (rows.frames <= n_of)
    tidx = np.where(known, offsets[np.maximum(name_idx, 0)] + rows.frames - 1, -1)

    def where(k):  # formatter factory over a row subset
        return lambda j: quote(rows.text(int(k[j])))

    bad_loc = np.flatnonzero(~rows.located)
    col.add(rows.line[bad_loc], lambda j: f"{where(bad_loc)(j)}: the image is not written "
            "'<name>/<NNNNN>.jpg'")
    no_comma = np.flatnonzero(~rows.has_value)
    col.add(rows.line[no_comma], lambda j: f"{where(no_comma)(j)}: no ',{value}' after the "
            "image name")
    unknown = np.flatnonzero(rows.located & ~known)
    col.add(rows.line[unknown], lambda j: f"image {quote(rows.location(unknown[j]))} is not in the "
            "template" + _why_unknown(rows, unknown[j], template))
    odd = np.flatnonzero(known & (rows.slash + 1 + frame_width(rows.frames) + 4 != rows.comma))
    col.add(rows.line[odd], lambda j: f"image {quote(rows.location(odd[j]))} should be written "
            f"{quote(_expected_name(rows, odd[j]))}")
    return tidx


def _why_unknown(rows: ScannedRows, i: int, template: Template) -> str:
    name = rows.run_names[rows.run_of_row[i]]
    if name not in template.n_frames:
        return f" (no test video {quote(name)})"
    return f" ({name!r} has frames 1..{template.n_frames[name]})"


def _expected_name(rows: ScannedRows, i: int) -> str:
    return image_location(rows.run_names[rows.run_of_row[i]], int(rows.frames[i]))


def _check_labels(rows: ScannedRows, col: _Collector) -> None:
    """Empty labels, extra columns, non-integers and labels outside 0..7 (odd rows only)."""
    col.add(rows.blank, lambda _: BLANK_MESSAGE)
    slow = np.flatnonzero(rows.has_value & (_labels(rows) < 0))
    cache: dict[bytes, str | None] = {}
    verdicts = []
    for i in slow.tolist():
        value = rows.value(i)  # a submission of 1 M bad labels repeats a few values: memoise
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
        return f"extra column(s) {quote(value)}: a row is '<image>,<label>'"
    if not _INT.match(v):
        return f"label {quote(v)} is not an integer 0..7"
    digits = v.lstrip("+-").lstrip("0")
    if len(digits) > 2:  # no int() of a 4,301-digit label (Python's int-string limit)
        return f"label {quote(v)} is outside 0..7"
    if not 0 <= int(v) < NUM_CLASSES:
        return f"label {int(v)} is outside 0..7"
    return None


def _check_coverage(rows: ScannedRows, template: Template, tidx: np.ndarray,
                    col: _Collector) -> None:
    """Row count, duplicates, missing template rows and rows out of template order."""
    n_rows, want = rows.line.size, template.n_rows
    if n_rows != want:
        rows_word = "row" if n_rows == 1 else "rows"
        col.whole.append(Problem(None, f"{n_rows} {rows_word}, the template has {want}"))
    at = np.flatnonzero(tidx >= 0)
    if np.all(np.diff(tidx[at]) > 0):  # known rows in template order, each once: no sorting
        _check_missing(template, tidx[at], col)
        return
    order = at[np.argsort(tidx[at], kind="stable")]
    dup = np.zeros(order.size, dtype=bool)
    dup[1:] = tidx[order[1:]] == tidx[order[:-1]]
    first = order[np.maximum.accumulate(np.where(dup, 0, np.arange(order.size)))]
    dup_rows, dup_first = order[dup], first[dup]
    col.add(rows.line[dup_rows], lambda j: f"duplicate row for {quote(rows.location(dup_rows[j]))} "
            f"(first at line {rows.line[dup_first[j]]})")
    _check_missing(template, tidx[at], col)
    unique = np.sort(np.setdiff1d(at, dup_rows, assume_unique=True))
    expect = np.sort(tidx[unique])
    wrong = np.flatnonzero(tidx[unique] != expect)
    names = _names_by_index(template)
    col.add(rows.line[unique[wrong]], lambda j: f"row out of template order: "
            f"{quote(rows.location(unique[wrong[j]]))} here, the template has "
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


def _labels(rows: ScannedRows) -> np.ndarray:
    """Labels written as one digit 0..7; -1 for rows that need a closer look."""
    digits = rows.digit_values()
    return np.where(digits < NUM_CLASSES, digits, -1)


def read_submission(path: str | Path, template: Template) -> dict[str, np.ndarray]:
    """The labels of a valid submission per template name (raises on any problem)."""
    data, early = screen(read_submission_bytes(path), template.n_rows)
    labels = None if early else exact_labels(data, template)
    if labels is None:
        validate_submission_or_raise(path, template)
        rows = scan(data)
        assert rows is not None
        labels = _labels(rows)
        for i in np.flatnonzero(labels < 0):  # accepted odd spellings such as ' 3'
            labels[i] = int(rows.value(int(i)).decode().strip())
    bounds = np.cumsum([template.n_frames[n] for n in template.names])[:-1]
    return dict(zip(template.names, np.split(labels, bounds)))
