"""The one check every prediction passes before it is written: one integer label 0..7 per frame.

Both file formats (per-video files and the one-file submission) call it, so a label is refused
with the same words wherever it would be written, naming the video (or file) and the frame.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from harness.data.labels import NUM_CLASSES
from harness.errors import HarnessError


def check_labels(labels: ArrayLike, what: str) -> np.ndarray:
    """``labels`` as a 1-D int64 array, or a ``HarnessError`` naming ``what`` and the frame.

    Float arrays are refused even when they hold whole numbers: a float here means scores or
    probabilities were passed where class indices belong.

    >>> check_labels([0, 7, 3], "v").tolist()
    [0, 7, 3]
    >>> check_labels([1, 9], "v")
    Traceback (most recent call last):
    harness.errors.HarnessError: v: frame 2 has label 9, outside 0..7
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise HarnessError(f"{what}: predictions must be 1-D (one label per frame), "
                           f"got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise HarnessError(f"{what}: predictions are {arr.dtype}, not integer labels 0..7")
    arr = arr.astype(np.int64, copy=False)
    bad = np.flatnonzero((arr < 0) | (arr >= NUM_CLASSES))
    if bad.size:
        i = int(bad[0])
        raise HarnessError(f"{what}: frame {i + 1} has label {int(arr[i])}, outside 0..7")
    return arr
