"""The MTL submission: write, validate, read and score one file (``aff-wild2-tasks.md`` §4).

Layout: line 1 exactly ``image,valence,arousal,expression,aus`` (5 names: the header does not
list the 12 AUs), then one 16-field row per test-list image in test-list order:
``<video>/<NNNNN>.jpg,<valence>,<arousal>,<expression 0..7>,<AU1>,...,<AU26>``. The test
list's trailing comma (ABAW7's ``MTL.txt``) is stripped by the test-list reader, never echoed.
VA values are clipped to [-1, 1] and written with 6 decimals; the expression is an int; AUs
are 0/1.

Rows are built as one byte matrix (no per-row Python); validation reads the untrusted file with
the bounds of ``submissions.reading`` and checks every row with array operations, listing every
problem with its line (at most ``MAX_PROBLEMS``, then a count).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.mtl import FIELDS, N_CLASSES, TEST_HEADER, MtlLabels, MtlTestList
from harness.data.rowscan import split_lines
from harness.errors import HarnessError, ReleaseFormatError
from harness.metrics.au import AU_NAMES
from harness.metrics.mtl import MTLScores, MTLStats, mtl_stats
from submissions.abaw import write_file
from submissions.reading import quote, read_submission_bytes
from submissions.validate import Problem, _Collector, raise_problems, screen
from submissions.values import _value_bytes_au, _value_bytes_va

HEADS = ("va", "expr", "au")
_FLOAT = r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*"
#: The last 13 fields of a row as writers write them, one digit each: ``,<expr>`` and 12
#: ``,<au>``. Rows that all end so are decoded from their bytes (no string per field).
TAIL = 2 * (1 + len(AU_NAMES))
#: Bytes of two VA fields (and the comma between them) that pandas' number parser reads
#: exactly as ``_FLOAT`` does: where a row holds only these, a finite value needs no pattern.
_PLAIN = np.zeros(256, dtype=bool)
_PLAIN[np.frombuffer(b"0123456789.+-eE,", dtype=np.uint8)] = True


# -------------------------------------------------------------------------------- writing

def checked_predictions(test: MtlTestList, predictions: Mapping[str, np.ndarray]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VA (n, 2) float64, expression (n,) int64, AUs (n, 12) int64 in test-list order, or a
    refusal naming the head and the first bad image."""
    n = test.n_rows
    missing = [h for h in HEADS if h not in predictions]
    if missing:
        raise HarnessError(f"MTL predictions lack the {', '.join(missing)} head(s)")
    va, expr, au = (np.asarray(predictions[h]) for h in HEADS)
    for head, arr, shape in (("va", va, (n, 2)), ("expr", expr, (n,)),
                             ("au", au, (n, len(AU_NAMES)))):
        if arr.shape != shape:
            raise HarnessError(f"MTL {head} predictions have shape {arr.shape}; the test list "
                               f"{test.path} needs {shape} (one row per image, list order)")
    _refuse_rows(test, ~np.isfinite(va.astype(np.float64)).all(axis=1), "va",
                 "a valence or arousal that is not a finite number")
    if expr.size and not np.issubdtype(expr.dtype, np.integer):
        raise HarnessError(f"MTL expr predictions are {expr.dtype}, not class numbers (take the "
                           "argmax of the logits first)")
    _refuse_rows(test, (expr < 0) | (expr >= N_CLASSES), "expr", "a class outside 0..7")
    if au.size and not (np.issubdtype(au.dtype, np.integer) or au.dtype == bool):
        raise HarnessError(f"MTL au predictions are {au.dtype}, not 0/1 decisions (threshold "
                           "the probabilities first)")
    _refuse_rows(test, ((au != 0) & (au != 1)).any(axis=1), "au", "an AU that is not 0 or 1")
    return (np.clip(va.astype(np.float64), -1.0, 1.0), expr.astype(np.int64),
            au.astype(np.int64))


def _refuse_rows(test: MtlTestList, bad: np.ndarray, head: str, what: str) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise HarnessError(f"MTL {head} predictions: test image {test.images[i]!r} (row "
                           f"{i + 1}) has {what}")


def submission_bytes(test: MtlTestList, predictions: Mapping[str, np.ndarray]) -> bytes:
    """The whole file: header, then the 16-field rows as one byte matrix."""
    va, expr, au = checked_predictions(test, predictions)
    n = test.n_rows
    images = np.array(test.images, dtype=bytes)
    image_mat = images.view(np.uint8).reshape(n, -1) if n else np.zeros((0, 1), np.uint8)
    ex = np.empty((n, 2), dtype=np.uint8)
    ex[:, 0], ex[:, 1] = ord(","), expr + ord("0")
    mat = np.concatenate([image_mat, _value_bytes_va(va), ex, _value_bytes_au(au),
                          np.full((n, 1), ord("\n"), dtype=np.uint8)], axis=1)
    return (TEST_HEADER + "\n").encode() + mat[mat != 0].tobytes()


def write_mtl_submission(test: MtlTestList, predictions: Mapping[str, np.ndarray],
                         out: str | Path, *, zip: bool = False) -> Path:
    """Write the submission for ``test`` atomically (and ``zip_path(out)`` with ``zip``).

    >>> import tempfile, pathlib
    >>> t = MtlTestList(pathlib.Path("MTL.txt"), ("v_1/00001.jpg", "v_1/00008.jpg"), True)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "s.txt"
    >>> p = write_mtl_submission(t, {"va": np.array([[0.5, -1.5], [0, 0.25]]),
    ...     "expr": np.array([4, 0]), "au": np.eye(2, 12, dtype=int)}, out)
    >>> print(p.read_text(), end="")
    image,valence,arousal,expression,aus
    v_1/00001.jpg,0.500000,-1.000000,4,1,0,0,0,0,0,0,0,0,0,0,0
    v_1/00008.jpg,0.000000,0.250000,0,0,1,0,0,0,0,0,0,0,0,0,0
    """
    out = Path(out)
    data = submission_bytes(test, predictions)
    return write_file(out, data, zip=zip)


# ----------------------------------------------------------------------------- validation

def validate_mtl_submission(path: str | Path, test: MtlTestList) -> list[Problem]:
    """Every problem of the MTL submission at ``path`` against ``test`` (empty: valid)."""
    try:
        data = read_submission_bytes(path)
    except ReleaseFormatError as exc:
        return [Problem(exc.line, str(exc).split(": ", 1)[-1])]
    return _problems_and_values(data, test)[0]


def read_mtl_submission(path: str | Path, test: MtlTestList) -> dict[str, np.ndarray]:
    """The predictions of a valid submission in test-list order (``va``, ``expr``, ``au``);
    raises ``ReleaseFormatError`` naming the file and first bad line on any problem."""
    problems, values = _problems_and_values(read_submission_bytes(path), test)
    raise_problems(path, problems)
    return values


def _problems_and_values(data: bytes, test: MtlTestList
                         ) -> tuple[list[Problem], dict[str, np.ndarray]]:
    n = test.n_rows
    empty = {"va": np.zeros((0, 2)), "expr": np.zeros(0, np.int64),
             "au": np.zeros((0, len(AU_NAMES)), np.int64)}
    data, early = screen(data, n)
    if early and early[0][0] is None:
        return [Problem(None, early[0][1])], empty
    buf, starts, ends = split_lines(data)
    if starts.size == 0:
        return [Problem(None, "the file is empty")], empty
    col = _Collector()
    for line, message in early:
        col.add(np.array([line]), lambda _, m=message: m)
    header = bytes(buf[starts[0]:ends[0]]).decode("utf-8", errors="replace").strip()
    if header != TEST_HEADER:
        col.add(np.array([1]), lambda _: f"header {quote(header)} is not {TEST_HEADER!r} "
                "(5 names; the 12 AUs are not listed)")
    starts, ends = starts[1:], ends[1:]
    lines = np.arange(2, starts.size + 2)
    blank = ends <= starts
    col.add(lines[blank], lambda _: "an empty line among the rows")
    odd = _per_line(buf, starts, ends, buf >= 128) > 0
    col.add(lines[odd & ~blank], lambda _: "a non-ASCII character (rows are ASCII)")
    fields = _per_line(buf, starts, ends, buf == ord(",")) + 1
    wrong = ~blank & ~odd & (fields != FIELDS)
    counts = fields[wrong]
    comma = (buf[np.maximum(ends - 1, 0)] == ord(","))[wrong]
    col.add(lines[wrong], lambda j: f"{counts[j]} field(s) where an MTL row has {FIELDS} "
            "(image, valence, arousal, expression, 12 AUs)" + (
                "; it ends with a comma (ABAW7's MTL.txt lists each image with one; a "
                "submission row has none)" if comma[j] else ""))
    fit = np.flatnonzero(~blank & ~odd & (fields == FIELDS))
    digits = _tail_digits(buf, starts[fit], ends[fit])
    table = _table(buf, starts[fit], ends[fit], 3 if digits is not None else FIELDS)
    position = _check_images(table[0].str.strip(), fit, lines, test, col)
    va = _check_va(table, lines[fit], col, _plain_va(buf, starts[fit]))
    expr, au = digits if digits is not None else _check_labels(table, lines[fit], col)
    out = {"va": np.zeros((n, 2)), "expr": np.zeros(n, np.int64),
           "au": np.zeros((n, len(AU_NAMES)), np.int64)}
    at = position >= 0
    out["va"][position[at]], out["expr"][position[at]] = va[at], expr[at]
    out["au"][position[at]] = au[at]
    return col.problems(), out


def _per_line(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, hit: np.ndarray
              ) -> np.ndarray:
    at = np.flatnonzero(hit)
    return np.searchsorted(at, ends) - np.searchsorted(at, starts)


def _tail_digits(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """Expression (m,) and AUs (m, 12) read off the rows' last ``TAIL`` bytes when every row
    ends in 13 one-digit fields with the expression in 0..7 and each AU 0 or 1; None when any
    row does not (the string checks then name every problem)."""
    if not starts.size or (ends - starts <= TAIL).any():
        return None
    tail = buf[(ends - TAIL)[:, None] + np.arange(TAIL)]
    value = tail[:, 1::2].astype(np.int64) - ord("0")
    expr, au = value[:, 0], value[:, 1:]
    if (tail[:, 0::2] == ord(",")).all() and ((expr >= 0) & (expr < N_CLASSES)).all() \
            and ((au == 0) | (au == 1)).all():
        return expr, au
    return None


def _plain_va(buf: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(m,) bool: the rows whose two VA fields (between their 1st and 3rd comma) hold only
    ``_PLAIN`` bytes."""
    commas = np.flatnonzero(buf == ord(","))
    first = np.searchsorted(commas, starts)
    other = np.concatenate([[0], np.cumsum(~_PLAIN[buf])])
    return other[commas[first + 2]] == other[commas[first] + 1]


def _table(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, columns: int = FIELDS
           ) -> pd.DataFrame:
    """The well-formed rows (16 fields, ASCII) as strings, their first ``columns`` fields;
    one pandas call over their bytes."""
    if not starts.size:
        return pd.DataFrame({k: pd.Series([], dtype=object) for k in range(FIELDS)})
    padded = np.append(buf, np.uint8(ord("\n")))
    mark = np.zeros(padded.size + 1, dtype=np.int64)
    np.add.at(mark, starts, 1)
    np.add.at(mark, ends + 1, -1)  # each row's bytes and the byte after it (its line end)
    body = padded[np.cumsum(mark[:-1]) > 0].copy()
    body[np.cumsum(ends - starts + 1) - 1] = ord("\n")
    table = pd.read_csv(io.BytesIO(body.tobytes()), header=None, names=list(range(FIELDS)),
                        usecols=range(columns), dtype=str, na_filter=False, engine="c",
                        quoting=3, skip_blank_lines=False)
    if len(table) != starts.size:  # a lone CR inside a row: split those rows by hand
        rows = [bytes(buf[s:e]).decode("ascii").split(",") for s, e in zip(starts, ends)]
        table = pd.DataFrame(rows, dtype=object)
    return table


def _check_images(images: pd.Series, fit: np.ndarray, lines: np.ndarray, test: MtlTestList,
                  col: _Collector) -> np.ndarray:
    """Each well-formed row's test-list position (-1: not usable); names, duplicates, order
    and missing images reported."""
    where = pd.Index(test.images).get_indexer(images.to_numpy(object))
    line = lines[fit]
    unknown = where < 0
    shown = images.to_numpy(object)
    col.add(line[unknown], lambda j: f"image {quote(str(shown[unknown][j]))} is not in the "
            f"test list {test.path.name}")
    dup = pd.Series(where).duplicated().to_numpy() & ~unknown
    first_line = dict(zip(where[::-1].tolist(), line[::-1].tolist()))
    col.add(line[dup], lambda j: f"image {quote(str(shown[dup][j]))} repeats line "
            f"{first_line[int(where[dup][j])]}")
    ok = ~unknown & ~dup
    expected = line - 2  # the row at data line k should be test image k
    moved = ok & (where != expected)
    col.add(line[moved], lambda j: f"image {quote(str(shown[moved][j]))} is test image "
            f"{int(where[moved][j]) + 1}; rows must follow the test list's order "
            f"({quote(_expected(test, int(expected[moved][j])))} belongs here)")
    present = np.zeros(test.n_rows, dtype=bool)
    present[where[ok]] = True
    if not present.all():
        first = int(np.flatnonzero(~present)[0])
        col.whole.append(Problem(None, f"{int((~present).sum()):,} test image(s) have no row, "
                                 f"first {test.images[first]!r} (test image {first + 1})"))
    return np.where(ok, where, -1)


def _expected(test: MtlTestList, k: int) -> str:
    return test.images[k] if 0 <= k < test.n_rows else "no row"


def _check_va(table: pd.DataFrame, line: np.ndarray, col: _Collector, plain: np.ndarray
              ) -> np.ndarray:
    """(m, 2) valence and arousal; each field that is no ASCII decimal, or outside [-1, 1],
    reported. The pattern ``_FLOAT`` is matched only where ``plain`` rows do not settle it."""
    va = np.zeros((len(table), 2))
    for j, name in ((1, "valence"), (2, "arousal")):
        text = table[j]
        value = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
        number = plain & np.isfinite(value)
        if not number.all():
            number[~number] = text[~number].str.fullmatch(_FLOAT).to_numpy(bool)
        value = np.where(number, value, np.nan)
        bad = ~number | ~np.isfinite(value)
        shown = text.to_numpy(object)
        col.add(line[bad], lambda k, b=bad, s=shown, n=name: f"{n} {quote(str(s[b][k]))} is "
                "not a number (an ASCII decimal such as -0.25 or 1e-05)")
        out = ~bad & (np.abs(value) > 1.0)
        col.add(line[out], lambda k, b=out, s=shown, n=name: f"{n} {quote(str(s[b][k]))} is "
                "outside [-1, 1]")
        va[:, j - 1] = np.where(bad, 0.0, value)
    return va


def _check_labels(table: pd.DataFrame, line: np.ndarray, col: _Collector
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Expression (m,) and AUs (m, 12) of rows written otherwise than ``_tail_digits`` reads
    (spaces, a bad value): each field checked as a string, every problem reported."""
    text = table[3].str.strip()
    good = text.str.fullmatch("[0-7]").to_numpy(bool)
    shown = text.to_numpy(object)
    col.add(line[~good], lambda k, s=shown[~good]: f"expression {quote(str(s[k]))} is not a "
            "class 0..7")
    expr = np.where(good, pd.to_numeric(text.where(good, "0")).to_numpy(), 0).astype(np.int64)
    au = np.zeros((len(table), len(AU_NAMES)), dtype=np.int64)
    for k, name in enumerate(AU_NAMES):
        text = table[4 + k].str.strip()
        one, zero = (text == "1").to_numpy(), (text == "0").to_numpy()
        bad = ~(one | zero)
        shown = text.to_numpy(object)
        col.add(line[bad], lambda i, b=bad, s=shown, n=name: f"{n} {quote(str(s[b][i]))} is "
                "not 0 or 1")
        au[:, k] = one
    return expr, au


# -------------------------------------------------------------------------------- scoring

def score_mtl_submission_stats(path: str | Path, truth: MtlLabels,
                               test: MtlTestList | None = None) -> tuple[list[str], MTLStats]:
    """Videos (test-list order of first appearance) and per-video statistics of a submission
    against truth rows (hidden test annotations: -5 / -1 / -1 where a task is missing).

    Without ``test`` the truth's own images are the list. Every test image needs a truth row.
    """
    if test is None:
        test = MtlTestList(truth.path, tuple(truth.images.tolist()), False)
    preds = read_mtl_submission(path, test)
    row = pd.Index(truth.images).get_indexer(list(test.images))
    if (row < 0).any():
        i = int(np.flatnonzero(row < 0)[0])
        raise HarnessError(f"no truth row for test image {test.images[i]!r} in {truth.path}")
    videos = test.videos
    names = list(pd.unique(videos))
    groups = [np.flatnonzero(videos == v) for v in names]
    try:
        stats = mtl_stats([truth.va[row[g]] for g in groups], [preds["va"][g] for g in groups],
                          [truth.expr[row[g]] for g in groups],
                          [preds["expr"][g] for g in groups],
                          [truth.au[row[g]] for g in groups], [preds["au"][g] for g in groups])
    except ValueError as exc:
        raise HarnessError(f"scoring {path}: {exc}") from None
    return names, stats


def score_mtl_submission(path: str | Path, truth: MtlLabels,
                         test: MtlTestList | None = None) -> MTLScores:
    """P_MTL and its three terms of a submission file against truth rows."""
    return score_mtl_submission_stats(path, truth, test)[1].scores()


@dataclass(frozen=True)
class MtlSubmission:
    """The ``mtl`` entry of ``SUBMISSION_FORMATS``: the template is the edition's test list
    (``harness.data.mtl.read_mtl_test_list``); predictions are ``va``/``expr``/``au`` arrays
    in test-list order; truth is hidden test rows (``read_mtl_annotations``)."""

    task: str = "mtl"
    header: str = TEST_HEADER

    def write(self, template: MtlTestList, predictions: Mapping[str, np.ndarray],
              out: str | Path, *, zip: bool = False) -> Path:
        return write_mtl_submission(_listed(template), predictions, out, zip=zip)

    def validate(self, path: str | Path, template: MtlTestList) -> list[Problem]:
        return validate_mtl_submission(path, _listed(template))

    def read(self, path: str | Path, template: MtlTestList) -> dict[str, np.ndarray]:
        return read_mtl_submission(path, _listed(template))

    def score(self, path: str | Path, truth: MtlLabels | Mapping[str, np.ndarray],
              template: MtlTestList | None = None) -> MTLScores:
        """Against truth rows, or per-video frames 1..N (``harness.data.testset.
        hidden_test_labels``) read at the template's images."""
        test = None if template is None else _listed(template)
        if isinstance(truth, Mapping):
            from harness.data.mtl_sequences import labels_at

            if test is None:
                raise HarnessError("per-video MTL truth needs the test list to score against")
            truth = labels_at(truth, test.images, test.path)
        return score_mtl_submission(path, truth, test)


def _listed(template) -> MtlTestList:
    """The test list of a template: a run's (``MtlTemplate``, which holds one) or a list."""
    held = getattr(template, "test", None)
    return held if isinstance(held, MtlTestList) else template
