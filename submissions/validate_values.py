"""Check a VA or AU submission against the test template and list every problem with its line.

The same checks as for EXPR (``submissions.validate``: bounded reading, header, image names,
order, duplicates, missing rows), then the values: a row must hold exactly the format's columns
(a VA row with 12 values or an AU row with 2 is reported on its line), VA values are ASCII float
literals (``0.5``, ``-1``, ``1e-05``, ``.25``; not ``nan``, ``inf`` or other scripts' digits)
within [-1, 1], AU values are ``0`` or ``1`` (spaces around a value are accepted, as for EXPR).
Values are parsed in bulk (byte arithmetic for AU, pandas' C parser for VA); only problem rows
are ever looked at one by one.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.rowscan import BLANK_MESSAGE, ScannedRows, scan
from harness.data.testset import Template
from harness.errors import ReleaseFormatError
from submissions.reading import quote, read_submission_bytes
from submissions.validate import (
    Problem,
    _check_coverage,
    _check_header,
    _Collector,
    _template_index,
    add_found,
    raise_problems,
    screen,
)
from submissions.values import ValuesFormat

#: An ASCII float literal (what ``float()`` reads, minus nan/inf, underscores, other digits).
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_FLOAT_BYTES = np.zeros(256, dtype=bool)
_FLOAT_BYTES[np.frombuffer(b"0123456789+-.eE ,", dtype=np.uint8)] = True


def validate_values_submission(path: str | Path, template: Template,
                               fmt: ValuesFormat) -> list[Problem]:
    """Every problem of the VA/AU submission at ``path`` against ``template`` (empty: valid)."""
    try:
        data = read_submission_bytes(path)
    except ReleaseFormatError as exc:
        return [Problem(exc.line, str(exc).split(": ", 1)[-1])]
    return _problems_and_values(data, template, fmt)[0]


def validate_values_submission_or_raise(path: str | Path, template: Template,
                                        fmt: ValuesFormat) -> None:
    raise_problems(path, validate_values_submission(path, template, fmt))


def read_values_submission(path: str | Path, template: Template,
                           fmt: ValuesFormat) -> dict[str, np.ndarray]:
    """Values of a valid submission per template name, (frames, columns) each; raises on any
    problem (``ReleaseFormatError`` naming the file and the first bad line)."""
    problems, values = _problems_and_values(read_submission_bytes(path), template, fmt)
    raise_problems(path, problems)
    bounds = np.cumsum([template.n_frames[n] for n in template.names])[:-1]
    return dict(zip(template.names, np.split(values, bounds)))


def _problems_and_values(data: bytes, template: Template, fmt: ValuesFormat
                         ) -> tuple[list[Problem], np.ndarray]:
    """The problems, and the values of the rows in file order ((rows, columns))."""
    data, early = screen(data, template.n_rows)
    if early and early[0][0] is None:
        return [Problem(None, early[0][1])], np.empty((0, len(fmt.columns)))
    rows = scan(data)
    if rows is None:
        return [Problem(None, "the file is empty")], np.empty((0, len(fmt.columns)))
    col = _Collector()
    add_found(col, early)
    _check_header(rows, fmt.header, col)
    tidx = _template_index(rows, template, col, value="<" + ">,<".join(fmt.columns) + ">"
                           if len(fmt.columns) <= 3 else "<12 values 0/1>")
    col.add(rows.blank, lambda _: BLANK_MESSAGE)
    values = _check_values(rows, fmt, col)
    _check_coverage(rows, template, tidx, col)
    return col.problems(), values


def _rows_with_odd_bytes(rows: ScannedRows, fit: np.ndarray) -> np.ndarray:
    """Rows among ``fit`` whose values hold a byte no plain float literal has (nan, '\u0663')."""
    mark = np.zeros(rows.buf.size + 1, dtype=np.int8)
    mark[rows.comma[fit] + 1] = 1
    mark[rows.ends[fit]] -= 1
    inside = np.cumsum(mark[:-1], dtype=np.int8).view(bool)
    odd = np.flatnonzero(inside & ~_FLOAT_BYTES[rows.buf])
    return np.unique(np.searchsorted(rows.starts, odd, side="right") - 1)


def _check_values(rows: ScannedRows, fmt: ValuesFormat, col: _Collector) -> np.ndarray:
    """Column count and values of every row with a ',' after its image; the parsed values."""
    n_cols = len(fmt.columns)
    values = np.zeros((rows.n_rows, n_cols))
    has = np.flatnonzero(rows.has_value)
    commas = np.flatnonzero(rows.buf == ord(","))
    fields = (np.searchsorted(commas, rows.ends[has]) - np.searchsorted(commas, rows.comma[has])
              )  # commas from the first one up to the row's end = values in the row
    wrong = has[fields != n_cols]
    count = fields[fields != n_cols]
    col.add(rows.line[wrong], lambda j: f"{count[j]} value{'s' if count[j] != 1 else ''} "
            f"where {_article(fmt.task)} {fmt.task.upper()} row has {n_cols} ({fmt.what})")
    fit = has[fields == n_cols]
    parse = _parse_binary if fmt.binary else _parse_floats
    ok, parsed = parse(rows, fit, n_cols)
    values[fit[ok]] = parsed[ok]
    odd = fit[~ok]
    messages: list[str] = []
    flagged = []
    for i in odd.tolist():  # the few rows the bulk parser did not take, one by one
        message, row_values = _one_row(rows.value(i), fmt)
        if message is None:
            values[i] = row_values
        else:
            messages.append(message)
            flagged.append(i)
    flagged_rows = np.array(flagged, dtype=np.int64)
    col.add(rows.line[flagged_rows], lambda j: messages[j])
    if not fmt.binary:
        bad = np.argwhere(np.abs(parsed[ok]) > 1.0)  # NaN cannot come from an ASCII literal
        rows_bad = fit[ok][bad[:, 0]]
        dims = bad[:, 1]
        col.add(rows.line[rows_bad], lambda j: f"{fmt.columns[dims[j]]} "
                f"{quote(_field(rows, int(rows_bad[j]), int(dims[j])))} is outside [-1, 1]")
    return values


def _article(task: str) -> str:
    return "an" if task[:1].upper() in "AEFHILMNORSX" else "a"  # spoken: an AU, a VA


def _field(rows: ScannedRows, i: int, k: int) -> str:
    return rows.value(i).decode("ascii", errors="replace").split(",")[k].strip()


def _parse_binary(rows: ScannedRows, fit: np.ndarray, n_cols: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Rows written exactly ``d,d,...,d`` with digits 0/1, decoded in bulk; others not ok."""
    width = 2 * n_cols - 1
    exact = (rows.ends[fit] - rows.comma[fit] - 1) == width
    start = np.where(exact, rows.comma[fit] + 1, 0)
    mat = rows.buf[np.minimum(start[:, None] + np.arange(width), rows.buf.size - 1)]
    digits = mat[:, 0::2].astype(np.int16) - ord("0")
    ok = exact & np.all((digits == 0) | (digits == 1), axis=1) & \
        np.all(mat[:, 1::2] == ord(","), axis=1)
    return ok, np.where(ok[:, None], digits, 0).astype(np.float64)


def _parse_floats(rows: ScannedRows, fit: np.ndarray, n_cols: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Rows of plain ASCII float literals parsed in bulk by pandas' C parser; others not ok.

    The file is parsed whole (image column skipped). When that fails, the rows that cannot be
    parsed in bulk (wrong column count, a byte no float literal has) are replaced by a
    placeholder row and the file parsed again; when a value such as '1-2' still fails it, every
    row is left to the row-by-row check. Rows not ok are looked at one by one by the caller.
    """
    parsed = np.full((fit.size, n_cols), np.nan)
    if not fit.size:
        return np.zeros(0, dtype=bool), parsed
    if fit.size == rows.n_rows:  # the usual file: pandas' float parser takes every value
        try:  # (it reads nan/inf too, which are not finite: those rows are looked at below)
            parsed[:] = _read_floats(rows.data, n_cols, rows.n_rows)
            return np.isfinite(parsed).all(axis=1), parsed
        except ValueError:
            pass
    odd = _rows_with_odd_bytes(rows, fit)
    replace = np.ones(rows.n_rows, dtype=bool)
    replace[fit] = False
    replace[odd] = True
    try:
        got = _read_floats(_with_placeholders(rows, np.flatnonzero(replace), n_cols), n_cols,
                           rows.n_rows)
    except ValueError:
        return np.zeros(fit.size, dtype=bool), parsed
    parsed[:] = got[fit]
    parsed[np.searchsorted(fit, odd)] = np.nan
    return np.isfinite(parsed).all(axis=1), parsed


def _with_placeholders(rows: ScannedRows, which: np.ndarray, n_cols: int) -> bytes:
    """The file with rows ``which`` replaced by ``_,0,...,0`` (the row count is kept)."""
    filler = b"_," + b",".join([b"0"] * n_cols)
    parts, at = [], 0
    for s, e in zip(rows.starts[which].tolist(), rows.ends[which].tolist()):
        parts += [rows.data[at:s], filler]
        at = e
    parts.append(rows.data[at:])
    return b"".join(parts)


def _read_floats(data: bytes, n_cols: int, n_rows: int) -> np.ndarray:
    """(rows, n_cols) floats of a whole file (header skipped, image column dropped); raises
    ``ValueError`` when a value is no number pandas' C parser reads, or when it does not see
    the ``n_rows`` rows the scanner saw (a lone CR in a name ends a line for pandas)."""
    got = pd.read_csv(io.BytesIO(data), header=None, engine="c", quoting=csv.QUOTE_NONE,
                      names=range(n_cols + 1), usecols=range(1, n_cols + 1), skiprows=1,
                      dtype=np.float64).to_numpy(np.float64)
    if got.shape[0] != n_rows:
        raise ValueError(f"{got.shape[0]} rows parsed, {n_rows} scanned")
    return got


def _one_row(value: bytes, fmt: ValuesFormat) -> tuple[str | None, list[float] | None]:
    """(what is wrong, None) with a row's values (their count is right), or (None, values)."""
    text = value.decode("utf-8", errors="replace")
    out = []
    for name, field in zip(fmt.columns, text.split(",")):
        v = field.strip()
        if not v:
            return (f"empty {name}: every frame needs {len(fmt.columns)} values ({fmt.what})",
                    None)
        if fmt.binary:
            if v not in ("0", "1"):
                return f"{name} {quote(v)} is not 0 or 1", None
        elif not _FLOAT.fullmatch(v):
            return f"{name} {quote(v)} is not a number (an ASCII decimal such as -0.25 or " \
                "1e-05)", None
        elif not abs(float(v)) <= 1.0:
            return f"{name} {quote(v)} is outside [-1, 1]", None
        out.append(float(v))
    return None, out
