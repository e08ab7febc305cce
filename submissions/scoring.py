"""Score a submission against per-video truth files (the embedded corpus keeps its hidden test
labels in ``synth_truth/Test_Set/``; the real Aff-Wild2 test labels are not public).

Per-video confusion matrices are returned too, so the leaderboard's bootstrap can put an
interval on the test score by resampling videos.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from harness.data.annotations import read_annotation_file
from harness.data.rowscan import scan_rows
from harness.data.testset import Template, template_from_rows
from harness.errors import HarnessError, ReleaseFormatError
from harness.metrics import (
    AUScores,
    AUStats,
    Scores,
    VAScores,
    VAStats,
    au_stats,
    confusion_matrix,
    scores_from_confusion,
    va_stats,
)
from harness.paths import safe_child
from submissions.reading import read_submission_bytes
from submissions.validate import read_submission, screen
from submissions.validate_values import read_values_submission
from submissions.values import ValuesFormat

#: Rows a submission scored without a template may have (the largest real one: 1,022,655).
MAX_OWN_TEMPLATE_ROWS = 2_000_000


def own_template(path: str | Path) -> Template:
    """The template a submission implies (its names and frame counts), for scoring without one."""
    path = Path(path)
    data, found = screen(read_submission_bytes(path), MAX_OWN_TEMPLATE_ROWS)
    if found:  # junk, absurd lines: bounded before the row scan, as the validator does
        raise ReleaseFormatError(path, found[0][1], line=found[0][0])
    header, rows = scan_rows(path, data, require_value=True)
    return template_from_rows(path, header, rows)


def score_submission_per_video(path: str | Path,
                               truth_folder: str | Path | Mapping[str, np.ndarray],
                               template: Template | None = None
                               ) -> tuple[list[str], np.ndarray]:
    """Names and per-video (n, 8, 8) confusion matrices of the submission against the truth.

    With ``template`` the file is validated against it first; without, against itself. Frames
    are scored where both a prediction and a truth line exist; truth ``-1`` is excluded. A length
    mismatch (the release's label files often have one line more) is warned about, not fatal.
    ``truth_folder`` may also be the truth labels by name.
    """
    template = template if template is not None else own_template(path)
    preds = read_submission(path, template)
    cms = np.zeros((len(preds), 8, 8), dtype=np.int64)
    for k, (name, pred) in enumerate(preds.items()):
        truth, pred = _aligned(_truth_of(truth_folder, name), pred, name)
        cms[k] = confusion_matrix(truth, pred)
    return list(preds), cms


def _truth_of(truth: str | Path | Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """The truth of one test video, from a mapping or an EXPR truth folder."""
    if isinstance(truth, Mapping):
        if name not in truth:
            raise HarnessError(f"no truth for test video {name!r}")
        return np.asarray(truth[name])
    folder = Path(truth)
    truth_path = safe_child(folder, f"{name}.txt")
    if not truth_path.is_file():
        raise HarnessError(f"no truth file for test video {name!r} in {folder}")
    return read_annotation_file(truth_path)


def _aligned(truth: np.ndarray, pred: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The frames both have; a length mismatch is warned about, not fatal."""
    if len(truth) != len(pred):
        warnings.warn(f"{name}: {len(truth)} truth frames, {len(pred)} predicted; scoring "
                      f"the first {min(len(truth), len(pred))}", stacklevel=3)
    n = min(len(truth), len(pred))
    return truth[:n], pred[:n]


def score_submission(path: str | Path, truth_folder: str | Path,
                     template: Template | None = None) -> Scores:
    """P_EXPR (pooled macro F1), accuracy and per-class F1 of a submission file."""
    _, cms = score_submission_per_video(path, truth_folder, template)
    return scores_from_confusion(cms.sum(axis=0))


def score_values_submission_per_video(path: str | Path, truth: Mapping[str, np.ndarray],
                                      fmt: ValuesFormat, template: Template | None = None
                                      ) -> tuple[list[str], VAStats | AUStats]:
    """Names and per-video statistics of a VA/AU submission against truth arrays by name
    ((frames, 2) with -5 invalid, or (frames, 12) with -1 invalid), for scores and bootstraps.

    With ``template`` the file is validated against it first; without, against itself.
    """
    template = template if template is not None else own_template(path)
    preds = read_values_submission(path, template, fmt)
    pairs = [_aligned(_truth_of(truth, name), pred, name) for name, pred in preds.items()]
    stats = au_stats if fmt.binary else va_stats
    try:
        return list(preds), stats([t for t, _ in pairs], [p for _, p in pairs])
    except ValueError as exc:  # the truth is broken (the submission was validated)
        raise HarnessError(f"scoring {path}: {exc}") from None


def score_values_submission(path: str | Path, truth: Mapping[str, np.ndarray],
                            fmt: ValuesFormat, template: Template | None = None
                            ) -> VAScores | AUScores:
    """P_VA with its CCCs, or P_AU with each AU's F1, of a VA/AU submission file."""
    return score_values_submission_per_video(path, truth, fmt, template)[1].scores()
