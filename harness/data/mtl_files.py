"""The per-video files an MTL run folder keeps (``predictions/<part>/<video>.txt``).

The release's own MTL files are rows of images (``harness.data.mtl``); a run predicts every
frame 1..N of each video (``harness.data.mtl_sequences``), and keeps them as one file per
video like the other tasks' runs: line 1 the 15 column names (``valence,arousal,expression,
AU1,...,AU26``), then ``v,a,e,au1,...,au12`` per frame, VA to 4 decimals as VA files are
written, ``-5`` / ``-1`` where a task has no value. ``harness submit --task mtl`` reads them
back and takes the test list's images.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.mtl import EXPR_INVALID, N_CLASSES
from harness.data.valuefiles import AU_INVALID, VA_INVALID, _fixed4, _read, _with_header, quoted
from harness.errors import ReleaseFormatError


def frame_text(values: np.ndarray, columns: Sequence[str], crlf: bool = False) -> str:
    """A video's (N, 15) rows as a per-video file (array arithmetic, no per-frame Python)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(columns):
        raise ValueError(f"MTL rows of shape {values.shape}, not (n, {len(columns)})")
    n = len(values)
    va_missing = (values[:, 0:2] == VA_INVALID).any(axis=1)
    parts = [_fixed4(values[:, 0], va_missing), _comma(n), _fixed4(values[:, 1], va_missing)]
    for j in range(2, values.shape[1]):
        parts += [_comma(n), _small_int(values[:, j])]
    parts.append(np.full((n, 1), ord("\n"), dtype=np.uint8))
    table = np.concatenate(parts, axis=1).ravel()
    return _with_header(",".join(columns), table[table != 0].tobytes(), crlf)


def _comma(n: int) -> np.ndarray:
    return np.full((n, 1), ord(","), dtype=np.uint8)


def _small_int(x: np.ndarray) -> np.ndarray:
    """(N, 2) bytes of an integer -1..9: ``-1`` or one digit (0 = nothing)."""
    v = np.rint(x).astype(np.int64)
    if v.size and (v.min() < -1 or v.max() > 9):
        raise ValueError(f"MTL value {int(v.min() if v.min() < -1 else v.max())} is not -1..9")
    out = np.zeros((len(v), 2), dtype=np.uint8)
    neg = v < 0
    out[neg, 0], out[neg, 1] = ord("-"), ord("1")
    out[~neg, 0] = v[~neg] + ord("0")
    return out


def read_frame_files(paths: Sequence[Path], columns: Sequence[str]) -> list[np.ndarray]:
    """(N, 15) float32 rows of each per-video file, in ``paths`` order; a malformed file is a
    ``ReleaseFormatError`` naming its line."""
    return [_read_one(Path(p), tuple(columns)) for p in paths]


def _read_one(path: Path, columns: tuple[str, ...]) -> np.ndarray:
    text = _read(path).decode("ascii", errors="replace")
    lines = text.splitlines()
    if not lines or lines[0].strip() != ",".join(columns):
        got = quoted(lines[0].strip()) if lines else "nothing"
        raise ReleaseFormatError(path, f"line 1 is {got}, not the MTL run file header "
                                 f"{','.join(columns)}", line=1)
    body = "\n".join(lines[1:])
    try:
        table = pd.read_csv(io.StringIO(body), header=None, dtype=np.float64,
                            na_filter=False, engine="c")
    except (ValueError, pd.errors.ParserError) as exc:
        raise ReleaseFormatError(path, f"not {len(columns)} numbers per line ({exc})") from None
    values = table.to_numpy()
    if values.shape[1] != len(columns):
        raise ReleaseFormatError(path, f"{values.shape[1]} values per line, not {len(columns)}",
                                 line=2)
    va, expr, au = values[:, 0:2], values[:, 2], values[:, 3:]
    bad = ~(((va >= -1) & (va <= 1)) | (va == VA_INVALID)).all(axis=1)
    bad |= ~(((expr >= 0) & (expr < N_CLASSES)) | (expr == EXPR_INVALID)) | (expr % 1 != 0)
    bad |= ~np.isin(au, (0, 1, AU_INVALID)).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ReleaseFormatError(path, f"{quoted(lines[i + 1])} is not valence and arousal in "
                                 "[-1, 1] (or -5), a class 0..7 (or -1) and 12 AUs 0/1 (or -1)",
                                 line=i + 2)
    return values.astype(np.float32)
