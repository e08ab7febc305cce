"""Score a submission against per-video truth files (the embedded corpus keeps its hidden test
labels in ``synth_truth/Test_Set/``; the real Aff-Wild2 test labels are not public).

Per-video confusion matrices are returned too, so the leaderboard's bootstrap can put an
interval on the test score by resampling videos.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from harness.data.annotations import read_annotation_file
from harness.data.rowscan import scan_rows
from harness.data.testset import Template, template_from_rows
from harness.errors import HarnessError
from harness.metrics import Scores, confusion_matrix, scores_from_confusion
from harness.paths import safe_child
from submissions.validate import read_submission, read_submission_bytes


def own_template(path: str | Path) -> Template:
    """The template a submission implies (its names and frame counts), for scoring without one."""
    path = Path(path)
    header, rows = scan_rows(path, read_submission_bytes(path), require_value=True)
    return template_from_rows(path, header, rows)


def score_submission_per_video(path: str | Path, truth_folder: str | Path,
                               template: Template | None = None
                               ) -> tuple[list[str], np.ndarray]:
    """Names and per-video (n, 8, 8) confusion matrices of the submission against the truth.

    With ``template`` the file is validated against it first; without, against itself. Frames
    are scored where both a prediction and a truth line exist; truth ``-1`` is excluded. A length
    mismatch (the release's label files often have one line more) is warned about, not fatal.
    """
    template = template if template is not None else own_template(path)
    preds = read_submission(path, template)
    folder = Path(truth_folder)
    cms = np.zeros((len(preds), 8, 8), dtype=np.int64)
    for k, (name, pred) in enumerate(preds.items()):
        truth_path = safe_child(folder, f"{name}.txt")
        if not truth_path.is_file():
            raise HarnessError(f"no truth file for test video {name!r} in {folder}")
        truth = read_annotation_file(truth_path)
        if truth.size != pred.size:
            warnings.warn(f"{name}: {truth.size} truth frames, {pred.size} predicted; scoring "
                          f"the first {min(truth.size, pred.size)}", stacklevel=2)
        n = min(truth.size, pred.size)
        cms[k] = confusion_matrix(truth[:n], pred[:n])
    return list(preds), cms


def score_submission(path: str | Path, truth_folder: str | Path,
                     template: Template | None = None) -> Scores:
    """P_EXPR (pooled macro F1), accuracy and per-class F1 of a submission file."""
    _, cms = score_submission_per_video(path, truth_folder, template)
    return scores_from_confusion(cms.sum(axis=0))
