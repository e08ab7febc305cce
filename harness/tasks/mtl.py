"""MTL: the multi-task challenge on s-Aff-Wild2 (ABAW3, ABAW4, ABAW7, ABAW11).

From each sparse image: valence and arousal, the expression (8 classes) and the 12 AUs, scored
as P_MTL = P_VA + P_EXPR + P_AU (``aff-wild2-tasks.md`` section 4). A composite task: its head
joins the heads of ``components`` (``HEADS``: 2 tanh values, 8 logits, 12 logits = 22 outputs),
each masked to its own valid labels. The release is not per video: two annotation files of
16-field rows and a test list of images, read by ``harness.data.mtl`` (not ``read_files``).

A task's per-frame array is here an (n, 15) float32 row matrix ``[valence, arousal,
expression, AU1..AU26]`` (``MtlLabels.rows``), with -5 / -1 / -1 for a missing task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.labels import CLASSES
from harness.data.mtl import EXPR_INVALID, TEST_HEADER, TEST_LIST_NAMES, rows_summary, rows_valid
from harness.data.valuefiles import AU_NAMES
from harness.errors import HarnessError
from harness.tasks import AnnotationFolder, Task, register_task

CHALLENGE = "MTL_Challenge"
HIDDEN = Path("synth_truth", CHALLENGE, "test_set_annotations.txt")


@dataclass(frozen=True)
class Head:
    """One part of the MTL head: the single task it predicts, its width and output kind."""

    task: str
    width: int
    activation: str  # "tanh" (values in [-1, 1]) or "logits"


HEADS = (Head("va", 2, "tanh"), Head("expr", 8, "logits"), Head("au", len(AU_NAMES), "logits"))


def head_slices() -> dict[str, slice]:
    """Each component's columns in the 22-wide output: va 0:2, expr 2:10, au 10:22."""
    out, at = {}, 0
    for h in HEADS:
        out[h.task] = slice(at, at + h.width)
        at += h.width
    return out


class MtlTask(Task):
    name = "mtl"
    title = "multi-task learning (VA, EXPR, AU)"
    #: Only ABAW3's files lie in a challenge folder; ABAW4/7/11's two files
    #: (``training_set_annotations.txt``...) are found by ``harness.data.mtl.find_mtl_release``.
    annotation_folders = (
        AnnotationFolder("ABAW3", "Third ABAW Annotations", CHALLENGE),
    )
    header = ",".join(("image", "valence", "arousal", "expression", *AU_NAMES))
    header_enforced = False  # only the first four names were seen (section 4)
    columns = ("valence", "arousal", "expression", *AU_NAMES)
    dtype = np.dtype(np.float32)
    invalid = EXPR_INVALID  # per task: VA -5, EXPR -1, AU -1 (``rows_valid``)
    components = tuple(h.task for h in HEADS)
    sparse_images = True
    output_size = sum(h.width for h in HEADS)
    outputs = "logits and values"
    #: ABAW3, ABAW4, ABAW7 (``test_set_examples/MTL.txt``); ABAW11's name is not known and
    #: ABAW7's is taken for it.
    test_lists = TEST_LIST_NAMES
    template_names = TEST_LIST_NAMES  # the test list is MTL's template
    template_pattern = re.compile(
        r"^(Multi_Task_Learning_Challenge_test_set_release|MTL_Challenge_test_set_release|MTL)"
        r"\.txt$")
    template_header = TEST_HEADER
    submission_format = ("ABAW4/7 MTL: one file, 'image,valence,arousal,expression,aus' (5 "
                         "names), '<video>/<NNNNN>.jpg,<v>,<a>,<expr>,<12 x 0/1>' per test-list "
                         "image")
    leaderboard_columns = ("P_MTL", "P_VA", "P_EXPR", "P_AU")
    #: The detail view adds these: CCCs, per-class F1, per-AU F1.
    detail_columns = ("CCC-V", "CCC-A", *CLASSES, *AU_NAMES)
    hidden_truth = HIDDEN
    #: Video folders per split: not found in the reference (ABAW7 test: 82 folders, HSE);
    #: the embedded corpus takes its own persons (``harness.data.synth.mtl``).
    release_names = {"train": 0, "val": 0, "test": 82}
    #: ABAW4/7 rows of the two files and test images (section 4 Sizes).
    release_frames = {"train": 142_333, "val": 26_876, "test": 51_159}
    #: Per-task valid rows of ABAW4/7, train then validation (section 4 Sizes).
    release_valid = {"train": {"va": 103_917, "expr": 90_645, "au": 103_316},
                     "val": {"va": 26_876, "expr": 15_440, "au": 26_876}}
    selection_metric = "P_MTL"
    metric_module = "harness.metrics.mtl"
    #: Not yet a name in ``harness.losses``: MTL training (a masked loss per head) is a later
    #: step, after the VA/AU training lands (docs/mtl.md, "Not built yet").
    loss = "masked sum of ccc, class-weighted cross-entropy and bce (one per head)"
    loss_module = "harness.losses"
    submission_module = "submissions.mtl"
    smoothing = ("mean", "median", "gaussian", "hamming")  # per video over sparse frames
    bias_tuning = True  # the EXPR head
    threshold_tuning = True  # the AU head

    def read_files(self, paths: list[Path]) -> list[np.ndarray]:
        raise HarnessError("the MTL release is two annotation files of images, not one file "
                           "per video: read it with harness.data.mtl.load_mtl_release")

    def valid(self, values: np.ndarray) -> np.ndarray:
        """Rows with at least one task's label."""
        return rows_valid(values).any(axis=1)

    def strata(self, values: np.ndarray) -> np.ndarray:
        """The expression class of each valid row, 8 where it has none."""
        expr = values[self.valid(values), 2].astype(np.int8)
        return np.where(expr < 0, len(CLASSES), expr).astype(np.int8)

    def summary(self, arrays: list[np.ndarray]) -> dict:
        out = rows_summary(arrays)
        out.pop("rows")
        return out

    def annotation_text(self, values: np.ndarray, crlf: bool = False) -> str:
        raise HarnessError("an MTL row needs its image path: write it with "
                           "harness.data.synth.mtl.mtl_text")

    # -- scoring: rows in, rows out ----------------------------------------------------------
    def decisions(self, outputs: np.ndarray, thresholds: np.ndarray | None = None
                  ) -> np.ndarray:
        """(n, 15) float32 rows ``[valence, arousal, expression, AU1..AU26]`` (the layout of
        ``MtlLabels.rows``) from (n, 22) outputs: VA clipped to [-1, 1], the argmax of the 8
        EXPR logits, each AU 1 where ``sigmoid(logit) >= threshold`` (0.5 by default)."""
        outputs = np.asarray(outputs, dtype=np.float64)
        if outputs.ndim != 2 or outputs.shape[1] != self.output_size:
            raise HarnessError(f"MTL outputs have shape {outputs.shape}; the head is "
                               f"{self.output_size} wide (2 VA values, 8 + 12 logits)")
        at = head_slices()
        au = outputs[:, at["au"]]
        if thresholds is None:
            chosen = au >= 0.0
        else:
            thr = np.clip(np.asarray(thresholds, dtype=np.float64), 1e-12, 1 - 1e-12)
            if thr.shape != (len(AU_NAMES),):
                raise HarnessError(f"{thr.size} AU thresholds where the head has "
                                   f"{len(AU_NAMES)}")
            chosen = au >= np.log(thr / (1 - thr))  # sigmoid(x) >= t  <=>  x >= logit(t)
        return np.concatenate([np.clip(outputs[:, at["va"]], -1.0, 1.0),
                               outputs[:, at["expr"]].argmax(axis=1)[:, None],
                               chosen], axis=1).astype(np.float32)

    def video_stats(self, truths, preds):
        """``harness.metrics.mtl.MTLStats`` of per-video (n, 15) rows: truth with -5 / -1 /
        -1 where a task is missing, predictions as ``decisions`` gives them."""
        mtl_stats = self.module("metric").mtl_stats
        t = [np.asarray(a) for a in truths]
        p = [np.asarray(a) for a in preds]
        return mtl_stats([a[:, 0:2] for a in t], [a[:, 0:2] for a in p],
                         [a[:, 2].astype(np.int64) for a in t],
                         [a[:, 2].astype(np.int64) for a in p],
                         [a[:, 3:].astype(np.int64) for a in t],
                         [a[:, 3:].astype(np.int64) for a in p])

    def scores(self, truths, preds):
        """P_MTL, its terms and theirs (``MTLScores``) pooled over every video."""
        return self.video_stats(truths, preds).scores()

    def figures(self, scores) -> dict[str, float]:
        return scores.columns()

    def selection(self, scores) -> float:
        return float(scores.p_mtl)


MTL = register_task(MtlTask())
