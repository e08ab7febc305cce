"""EXPR: expression recognition, 8 classes (Neutral .. Other), one integer label per frame.

Folders, names and formats follow ``aff-wild2-expr.md`` (ABAW5, ABAW6, ABAW10 releases; ABAW6's
root is also seen spelt ``6th_ABAW_Annotations``, per ``aff-wild2-tasks.md`` section 2).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from harness.data.annotations import annotation_text, read_annotation_file
from harness.data.labels import ANNOTATION_HEADER, CLASSES, INVALID, NUM_CLASSES, TEMPLATE_HEADER
from harness.tasks import AnnotationFolder, Task, register_task

HIDDEN = Path("synth_truth", "Test_Set")


class ExprTask(Task):
    name = "expr"
    title = "expression recognition"
    annotation_folders = (
        AnnotationFolder("ABAW10", "annotations", "EXPR_Recognition_Challenge"),
        AnnotationFolder("ABAW6", "6th ABAW Annotations", "EXPR_Recognition_Challenge"),
        AnnotationFolder("ABAW5", "5th_ABAW_Annotations", "EXPR_Classification_Challenge"),
        AnnotationFolder("ABAW6", "6th_ABAW_Annotations", "EXPR_Recognition_Challenge"),
    )
    header = ANNOTATION_HEADER
    header_enforced = True
    columns = ()
    dtype = np.dtype(np.int8)
    invalid = INVALID
    output_size = NUM_CLASSES
    outputs = "logits"
    test_lists = (
        "Expression_Classification_Challenge_test_set_release.txt",
        "Expression_Recognition_Challenge_test_set_release.txt",
    )
    template_names = ("CVPR_5th_ABAW_EXPR_test_set_sample.txt",
                      "CVPR_5th_ABAW_EXPR_test_set_example.txt",
                      "CVPR_6th_ABAW_Expr_test_set_sample.txt")
    template_pattern = re.compile(
        r"^CVPR_\d+(st|nd|rd|th)_ABAW_EXPR_test_set_(sample|example)\.txt$", re.I)
    template_header = TEMPLATE_HEADER
    submission_format = "ABAW5 EXPR: one file, template header, '<name>/<NNNNN>.jpg,<0..7>'"
    leaderboard_columns = (*CLASSES, "Acc", "Avg(F1)")
    #: Where the embedded corpus keeps the hidden test labels (not part of the real release).
    hidden_truth = HIDDEN
    #: Annotated names per split in the release (ABAW5; see ``release_names`` in the base).
    release_names = {"train": 247, "val": 70, "test": 228}
    #: ABAW5 valid frames of Train_Set / Validation_Set and test template rows.
    release_frames = {"train": 592_216, "val": 284_230, "test": 1_022_655}
    selection_metric = "Avg(F1)"
    metric_module = "harness.metrics"
    loss = "class-weighted cross-entropy (weights: harness.train.class_weights)"
    submission_module = "submissions.abaw"
    smoothing = ("mean", "median", "gaussian", "hamming", "mode")
    bias_tuning = True
    threshold_tuning = False

    def read_files(self, paths: list[Path]) -> list[np.ndarray]:
        return [read_annotation_file(p) for p in paths]

    def valid(self, values: np.ndarray) -> np.ndarray:
        return values >= 0

    def strata(self, values: np.ndarray) -> np.ndarray:
        return values[values >= 0]

    def summary(self, arrays: list[np.ndarray]) -> dict:
        counts = np.zeros(NUM_CLASSES, dtype=np.int64)
        for lab in arrays:
            counts += np.bincount(lab[lab >= 0], minlength=NUM_CLASSES)
        return {"valid_frames": int(counts.sum()),
                "class_counts": dict(zip(CLASSES, counts.tolist()))}
    def annotation_text(self, values: np.ndarray, crlf: bool = False) -> str:
        return annotation_text(values, crlf=crlf)


EXPR = register_task(ExprTask())
