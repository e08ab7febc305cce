"""What ``harness data info --task mtl`` shows: per part of a split, rows, videos, per-task
valid counts, images per expression class and positives per AU (valid rows of each task).

Shaped like ``harness.data.task_summary`` (one ``PartSummary`` per part: train, validation,
then test with its images and videos only, since a release has no test labels).
"""

from __future__ import annotations

from harness.data.mtl import MtlRelease, rows_summary
from harness.data.mtl_splits import mtl_official_split, split_rows
from harness.data.splits import Split
from harness.data.task_summary import PartSummary


def mtl_summary(release: MtlRelease, split: Split | None = None) -> list[PartSummary]:
    """Train and validation of ``split`` (default: the official files), then the test list.

    ``frames`` counts rows (images); ``valid_frames`` rows with at least one task's label;
    ``labels`` holds ``va_valid``, ``expr_valid``, ``au_valid``, ``class_counts`` and
    ``au_positives``.
    """
    split = mtl_official_split(release) if split is None else split
    out = []
    for part, rows in zip(("train", "validation"), split_rows(release, split)):
        labels = rows_summary([rows.rows()])
        n, valid = labels.pop("rows"), labels.pop("valid_frames")
        out.append(PartSummary(part, len(set(rows.videos)), n, valid, labels))
    if release.test is not None:
        out.append(PartSummary("test", len(set(release.test.videos)), release.test.n_rows,
                               None))
    return out
