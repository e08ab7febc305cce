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


def _segments(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The bytes ``buf[starts[i]:ends[i]]`` joined by newlines, and each output byte's row."""
    lengths = ends - starts
    out_start = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    total = int(lengths.sum() + lengths.size)
    row = np.repeat(np.arange(lengths.size), lengths + 1)
    index = np.arange(total) - out_start[row] + starts[row]
    out = buf[np.minimum(index, buf.size - 1)]
    out[out_start + lengths] = ord("\n")
    return out.tobytes(), row


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
            f"where a {fmt.task.upper()} row has {n_cols} ({fmt.what})")
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
    """Rows of plain ASCII float literals parsed in bulk by pandas' C parser; others not ok."""
    parsed = np.full((fit.size, n_cols), np.nan)
    if not fit.size:
        return np.zeros(0, dtype=bool), parsed
    blob, row = _segments(rows.buf, rows.comma[fit] + 1, rows.ends[fit])
    arr = np.frombuffer(blob, dtype=np.uint8)
    clean = np.ones(fit.size, dtype=bool)
    clean[np.unique(row[~_FLOAT_BYTES[arr] & (arr != ord("\n"))])] = False
    if not clean.all():  # nan, inf, letters, other scripts' digits: looked at one by one
        blob, _ = _segments(rows.buf, rows.comma[fit[clean]] + 1, rows.ends[fit[clean]])
    kept = np.flatnonzero(clean)
    if kept.size:
        options = dict(header=None, names=range(n_cols), engine="c")
        try:
            got = pd.read_csv(io.BytesIO(blob), dtype=np.float64, **options).to_numpy(np.float64)
        except ValueError:  # a value such as '1-2' or '.': the others still parse in bulk
            text = pd.read_csv(io.BytesIO(blob), dtype=str, na_filter=False, **options)
            got = text.apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
        parsed[kept] = got
    ok = clean & np.isfinite(parsed).all(axis=1)
    return ok, parsed


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
