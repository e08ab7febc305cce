"""The ABAW5/6/10 EXPR submission file: one text file following the test template row for row.

Layout (``aff-wild2-expr.md``): the template header verbatim, then for every template row, in the
template's order, ``<name>/<NNNNN>.jpg,<label 0..7>``. The real template has 1,022,655 rows, so
the text is built as one byte matrix per video (no per-row Python) and written with one rename.
Image numbers are zero-padded to 5 digits (wider only past frame 99,999), as in the template.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from harness.atomic import atomic_open, write_bytes
from harness.data.testset import Template
from harness.errors import HarnessError
from submissions.label_check import check_labels

#: Digits of the image number: ``00001.jpg`` (frames past 99,999 simply get more digits).
FRAME_DIGITS = 5
_SUFFIX = np.frombuffer(b".jpg,", dtype=np.uint8)


def frame_width(frames: np.ndarray) -> np.ndarray:
    """Digits used for each frame number in an image name: max(5, number of digits)."""
    bounds = 10 ** np.arange(1, 19, dtype=np.int64)
    return np.maximum(FRAME_DIGITS, np.searchsorted(bounds, frames, side="right") + 1)


def image_location(name: str, frame: int) -> str:
    """``<name>/<NNNNN>.jpg`` exactly as the template writes it."""
    return f"{name}/{frame:0{FRAME_DIGITS}d}.jpg"


def _width_blocks(n: int) -> list[tuple[int, int, int]]:
    """Split frames 1..n into (first, last, digits) blocks of equal image-name width."""
    blocks, first = [], 1
    while first <= n:
        width = max(FRAME_DIGITS, len(str(first)))
        last = min(n, 10**width - 1)
        blocks.append((first, last, width))
        first = last + 1
    return blocks


def text_size(template: Template) -> int:
    """Bytes of the rows of a submission for ``template`` (header excluded), without building it."""
    total = 0
    for name in template.names:
        row = len(f"{name}/".encode()) + _SUFFIX.size + 2
        total += sum((last - first + 1) * (row + width)
                     for first, last, width in _width_blocks(template.n_frames[name]))
    return total


def video_rows(name: str, labels: np.ndarray) -> bytes:
    """``<name>/<NNNNN>.jpg,<label>\\n`` for frames 1..len(labels), built as a byte matrix."""
    return video_rows_with(name, np.asarray(labels, dtype=np.uint8) + ord("0"))


def video_rows_with(name: str, label_bytes: np.ndarray) -> bytes:
    """As ``video_rows`` with one raw byte per label (the validator uses a placeholder byte)."""
    prefix = np.frombuffer(f"{name}/".encode(), dtype=np.uint8)
    p = prefix.size
    parts = []
    for first, last, width in _width_blocks(int(label_bytes.size)):
        frames = np.arange(first, last + 1, dtype=np.int64)
        mat = np.empty((frames.size, p + width + _SUFFIX.size + 2), dtype=np.uint8)
        mat[:, :p] = prefix
        powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
        mat[:, p:p + width] = frames[:, None] // powers % 10 + ord("0")
        mat[:, p + width:-2] = _SUFFIX
        mat[:, -2] = label_bytes[first - 1:last]
        mat[:, -1] = ord("\n")
        parts.append(mat.tobytes())
    return b"".join(parts)


def checked_predictions(template: Template, predictions: Mapping[str, np.ndarray]
                        ) -> dict[str, np.ndarray]:
    """Labels of frames 1..N for every template name, in template order, or a precise refusal.

    Extra trailing predictions (the label files often have one line more than the template)
    are dropped; a missing name, too few frames or a label outside 0..7 (``check_labels``) is
    refused, naming the first offending video and frame, so nothing half-valid is ever written.
    """
    out: dict[str, np.ndarray] = {}
    for name in template.names:
        n = template.n_frames[name]
        if name not in predictions:
            raise HarnessError(f"no predictions for test video {name!r}: frame 1 of {n} "
                               "is the first missing frame")
        labels = np.asarray(predictions[name]).ravel()
        if labels.size < n:
            raise HarnessError(f"predictions for {name!r} stop after {labels.size} frames: frame "
                               f"{labels.size + 1} of {n} is the first missing frame")
        out[name] = check_labels(labels[:n], f"predictions for {name!r}").astype(np.uint8)
    return out


def submission_bytes(template: Template, predictions: Mapping[str, np.ndarray]) -> bytes:
    """The whole submission file as bytes (header + one row per template row)."""
    checked = checked_predictions(template, predictions)
    head = (template.header + "\n").encode()
    return b"".join([head, *(video_rows(name, checked[name]) for name in template.names)])


def zip_path(out: str | Path) -> Path:
    """Where ``write_submission(..., zip=True)`` puts the archive: ``out`` with ``.zip``."""
    return Path(out).with_suffix(".zip")


def write_file(out: Path, data: bytes, *, zip: bool = False) -> Path:
    """A submission's bytes at ``out`` atomically, and with ``zip`` a ``zip_path(out)`` holding
    them under ``out``'s name (the form the organisers' upload took); every format writes here."""
    write_bytes(out, data)
    if zip:
        with atomic_open(zip_path(out), "wb") as fh, \
                zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(out.name, data)
    return out


def write_submission(template: Template, predictions: Mapping[str, np.ndarray], out: str | Path,
                     *, zip: bool = False) -> Path:
    """Write the ABAW submission for ``template`` atomically and return its path.

    Everything is checked before the first byte is written: on refusal no file (and no partial
    file) appears. ``zip=True`` also writes ``zip_path(out)`` holding the text file (the form the
    organisers' upload took).

    >>> import tempfile, pathlib
    >>> t = Template(pathlib.Path("t.txt"), "image_location,Neutral,Anger,Disgust,Fear,"
    ...              "Happiness,Sadness,Surprise,Other", ("v",), {"v": 2})
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "s.txt"
    >>> p = write_submission(t, {"v": np.array([4, 0, 1])}, out)
    >>> p.read_text().splitlines()[1:]
    ['v/00001.jpg,4', 'v/00002.jpg,0']
    """
    out = Path(out)
    data = submission_bytes(template, predictions)
    return write_file(out, data, zip=zip)
