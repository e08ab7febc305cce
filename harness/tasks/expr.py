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
from harness.errors import HarnessError
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
    classification = True

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

    def decisions(self, outputs: np.ndarray, thresholds: np.ndarray | None = None
                  ) -> np.ndarray:
        """The class of the largest logit (int64, (n,))."""
        if thresholds is not None:
            raise HarnessError("expr decisions take no thresholds (tune class biases instead)")
        return np.asarray(outputs).argmax(axis=1).astype(np.int64)

    def video_stats(self, truths, preds):
        expr_stats = self.module("metric").expr_stats
        return expr_stats(truths, preds)

    def stats_from_arrays(self, arrays):
        ExprStats = self.module("metric").ExprStats
        cms = np.asarray(arrays["cms"])
        if cms.ndim != 3 or cms.shape[1:] != (NUM_CLASSES, NUM_CLASSES):
            raise ValueError(f"cms of shape {cms.shape}, not (n, 8, 8)")
        return ExprStats(cms.astype(np.int64))

    def scores_from_dict(self, d):
        Scores = self.module("metric").Scores
        return Scores(tuple(d["per_class_f1"]), d["accuracy"], d["macro_f1"],
                      tuple(tuple(r) for r in d["confusion"]), d["n_frames"])

    def figures(self, scores) -> dict[str, float]:
        return {**dict(zip(CLASSES, map(float, scores.per_class_f1))),
                "Acc": float(scores.accuracy), "Avg(F1)": float(scores.macro_f1)}


EXPR = register_task(ExprTask())
