"""The ABAW5+ VA and AU submission files: one text file following the test template row for row.

Layout (``aff-wild2-tasks.md`` §2-3 Submission format, checklist §7.3): line 1 is the format's
header (``image_location,valence,arousal`` or ``image_location,AU1,...,AU26``), then for every
template row, in the template's order, ``<name>/<NNNNN>.jpg,`` and the values: two floats in
[-1, 1] (clipped, written with 6 decimals) or 12 decisions 0/1. Whatever a template row carries
after the image (ABAW6 placeholders) is never echoed. As for EXPR, each video's rows are built
as one byte matrix (no per-row Python) and the file is written with one rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.testset import Template
from harness.errors import HarnessError
from harness.metrics.au import AU_NAMES
from harness.metrics.va import VA_DIMENSIONS
from submissions.abaw import _width_blocks, write_file

#: Decimals of a written VA value (the reference recommends 6; no precision is required).
VA_DECIMALS = 6
_JPG = np.frombuffer(b".jpg", dtype=np.uint8)


@dataclass(frozen=True)
class ValuesFormat:
    """A one-file submission whose rows carry several values: VA (floats) or AU (0/1)."""

    task: str
    columns: tuple[str, ...]  # value columns, in file order
    binary: bool  # AU: 0/1 decisions; VA: floats in [-1, 1]

    @property
    def header(self) -> str:
        return ",".join(("image_location", *self.columns))

    @property
    def what(self) -> str:
        """The value columns in words, for messages."""
        cols = self.columns
        return ", ".join(cols) if len(cols) <= 3 else f"{cols[0]}..{cols[-1]}"


VA_FORMAT = ValuesFormat("va", VA_DIMENSIONS, binary=False)
AU_FORMAT = ValuesFormat("au", AU_NAMES, binary=True)


def _value_bytes_va(values: np.ndarray) -> np.ndarray:
    """(n, 20) bytes ``,[-]d.dddddd`` per dimension; 0 marks "no byte" (no sign)."""
    v = np.clip(values, -1.0, 1.0)
    k = np.rint(np.abs(v) * 10**VA_DECIMALS).astype(np.int64)
    width = 3 + VA_DECIMALS  # sign, digit, '.', decimals
    out = np.zeros((v.shape[0], v.shape[1] * (width + 1)), dtype=np.uint8)
    powers = 10 ** np.arange(VA_DECIMALS - 1, -1, -1, dtype=np.int64)
    for d in range(v.shape[1]):
        c = d * (width + 1)
        out[:, c] = ord(",")
        out[:, c + 1] = np.where((v[:, d] < 0) & (k[:, d] > 0), ord("-"), 0)
        out[:, c + 2] = k[:, d] // 10**VA_DECIMALS + ord("0")
        out[:, c + 3] = ord(".")
        out[:, c + 4:c + 4 + VA_DECIMALS] = k[:, d, None] // powers % 10 + ord("0")
    return out


def _value_bytes_au(values: np.ndarray) -> np.ndarray:
    """(n, 24) bytes ``,d`` per AU."""
    out = np.empty((values.shape[0], 2 * values.shape[1]), dtype=np.uint8)
    out[:, 0::2] = ord(",")
    out[:, 1::2] = values.astype(np.uint8) + ord("0")
    return out


def value_rows(name: str, values: np.ndarray, fmt: ValuesFormat) -> bytes:
    """``<name>/<NNNNN>.jpg,<values>\\n`` for frames 1..len(values), built as byte matrices."""
    tail = _value_bytes_au(values) if fmt.binary else _value_bytes_va(values)
    prefix = np.frombuffer(f"{name}/".encode(), dtype=np.uint8)
    p = prefix.size
    parts = []
    for first, last, width in _width_blocks(int(values.shape[0])):
        frames = np.arange(first, last + 1, dtype=np.int64)
        head = p + width + _JPG.size
        mat = np.empty((frames.size, head + tail.shape[1] + 1), dtype=np.uint8)
        mat[:, :p] = prefix
        powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
        mat[:, p:p + width] = frames[:, None] // powers % 10 + ord("0")
        mat[:, p + width:head] = _JPG
        mat[:, head:-1] = tail[first - 1:last]
        mat[:, -1] = ord("\n")
        parts.append(mat[mat != 0].tobytes() if not fmt.binary else mat.tobytes())
    return b"".join(parts)


def checked_values(template: Template, predictions: Mapping[str, np.ndarray],
                   fmt: ValuesFormat) -> dict[str, np.ndarray]:
    """Values of frames 1..N for every template name, in template order, or a precise refusal.

    Extra trailing frames are dropped; a missing name, too few frames, the wrong number of
    columns, a value that is not finite (VA) or not a 0/1 decision (AU; floats are refused:
    probabilities must be thresholded first) is refused naming the video and frame.
    """
    n_cols = len(fmt.columns)
    out: dict[str, np.ndarray] = {}
    for name in template.names:
        n = template.n_frames[name]
        what = f"{fmt.task.upper()} predictions for {name!r}"
        if name not in predictions:
            raise HarnessError(f"no {fmt.task.upper()} predictions for test video {name!r}: "
                               f"frame 1 of {n} is the first missing frame")
        arr = np.asarray(predictions[name])
        if arr.ndim != 2 or arr.shape[1] != n_cols:
            raise HarnessError(f"{what} have shape {arr.shape}; expected (frames, {n_cols}): "
                               f"{fmt.what}")
        if arr.shape[0] < n:
            raise HarnessError(f"{what} stop after {arr.shape[0]} frames: frame "
                               f"{arr.shape[0] + 1} of {n} is the first missing frame")
        arr = arr[:n]
        if fmt.binary:
            if arr.size and not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
                raise HarnessError(f"{what} are {arr.dtype}, not 0/1 decisions (threshold the "
                                   "probabilities first)")
            bad = np.argwhere((arr != 0) & (arr != 1))
            verdict = "is not 0 or 1"
        else:
            arr = arr.astype(np.float64)
            bad = np.argwhere(~np.isfinite(arr))
            verdict = "is not a finite number"
        if bad.size:
            i, k = bad[0]
            raise HarnessError(f"{what}: frame {i + 1} has {fmt.columns[k]} "
                               f"{arr[i, k].item()!r}, which {verdict}")
        out[name] = arr
    return out


def values_submission_bytes(template: Template, predictions: Mapping[str, np.ndarray],
                            fmt: ValuesFormat) -> bytes:
    checked = checked_values(template, predictions, fmt)
    head = (fmt.header + "\n").encode()
    return b"".join([head, *(value_rows(n, checked[n], fmt) for n in template.names)])


def write_values_submission(template: Template, predictions: Mapping[str, np.ndarray],
                            out: str | Path, fmt: ValuesFormat, *, zip: bool = False) -> Path:
    """Write the VA or AU submission for ``template`` atomically and return its path.

    Everything is checked before the first byte is written; ``zip=True`` also writes
    ``zip_path(out)`` holding the text file.

    >>> import tempfile, pathlib
    >>> t = Template(pathlib.Path("t.txt"), VA_FORMAT.header, ("v",), {"v": 2})
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "s.txt"
    >>> p = write_values_submission(t, {"v": np.array([[0.5, -0.25], [-1e-7, 1.3]])}, out,
    ...                             VA_FORMAT)
    >>> print(p.read_text(), end="")
    image_location,valence,arousal
    v/00001.jpg,0.500000,-0.250000
    v/00002.jpg,0.000000,1.000000
    """
    out = Path(out)
    data = values_submission_bytes(template, predictions, fmt)
    return write_file(out, data, zip=zip)

