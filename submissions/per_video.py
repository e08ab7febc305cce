"""Per-video prediction files: the ``Neutral,...,Other`` header, then one label per frame.

This is the layout of the annotation files, so validation predictions can be scored by the same
reader as the truth, and the older ABAW tools (one file per video) read them unchanged. Frame k
is on data line k; predictions are always 0..7 (no ``-1``: every frame gets a label).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from harness.atomic import write_text
from harness.data.annotations import read_annotation_file
from harness.data.labels import ANNOTATION_HEADER
from harness.errors import HarnessError, ReleaseFormatError
from harness.paths import safe_child
from submissions.label_check import check_labels


def per_video_text(labels: np.ndarray) -> str:
    """The file content: header, then one digit per line (labels are single digits 0..7)."""
    digits = (np.asarray(labels, dtype=np.uint8) + ord("0")).astype(np.uint8)
    body = np.empty((digits.size, 2), dtype=np.uint8)
    body[:, 0] = digits
    body[:, 1] = ord("\n")
    return ANNOTATION_HEADER + "\n" + body.tobytes().decode("ascii")


def write_per_video(path: str | Path, labels: np.ndarray) -> Path:
    """Write one video's predictions atomically (a killed run never leaves half a file).

    >>> import tempfile, pathlib
    >>> p = write_per_video(pathlib.Path(tempfile.mkdtemp()) / "v.txt", np.array([0, 7, 3]))
    >>> read_per_video(p).tolist()
    [0, 7, 3]
    """
    path = Path(path)
    arr = check_labels(labels, str(path))
    write_text(path, per_video_text(arr))
    return path


def read_per_video(path: str | Path) -> np.ndarray:
    """Labels of frames 1..N (int64); refuses ``-1`` or anything but 0..7 with file and line."""
    path = Path(path)
    labels = read_annotation_file(path)
    bad = np.flatnonzero(labels < 0)
    if bad.size:
        raise ReleaseFormatError(
            path, "prediction -1 (invalid) is not allowed: every frame needs a label 0..7",
            line=int(bad[0]) + 2)
    return labels.astype(np.int64)


def write_prediction_folder(folder: str | Path, preds: Mapping[str, np.ndarray]) -> Path:
    """Write ``<folder>/<name>.txt`` per video; names that would leave ``folder`` are refused.

    All names are checked (and all labels) before the first file is written, so a bad entry
    never leaves a half-written folder behind.
    """
    folder = Path(folder)
    for name in preds:
        if "/" in name or "\\" in name:
            raise HarnessError(f"refusing name {name!r}: a video name holds no path separator")
    targets = {name: safe_child(folder, f"{name}.txt") for name in preds}
    checked = {name: check_labels(lab, name) for name, lab in preds.items()}
    for name, path in targets.items():
        write_text(path, per_video_text(checked[name]))
    return folder


def read_prediction_folder(folder: str | Path) -> dict[str, np.ndarray]:
    """Every ``<name>.txt`` in ``folder``, by name (sorted)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HarnessError(f"{folder}: prediction folder not found")
    files = sorted(p for p in folder.iterdir() if p.suffix == ".txt" and p.is_file())
    return {p.stem: read_per_video(p) for p in files}
