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
from harness.data.valuefiles import AU_INVALID, AU_NAMES, VA_INVALID
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


#: A frame without any label, in the (15,) row layout: VA -5, expression -1, AUs -1.
NO_LABEL = np.array([VA_INVALID, VA_INVALID, EXPR_INVALID, *[AU_INVALID] * len(AU_NAMES)],
                    dtype=np.float32)


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
    #: P_MTL last: the column a run is judged by (``leaderboard.views``).
    leaderboard_columns = ("P_VA", "P_EXPR", "P_AU", "P_MTL")
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
    #: ``harness.losses.mtl_loss``: 1 - CCC (VA), class-weighted cross-entropy (EXPR) and BCE
    #: with per-AU positive weights (AU), each over its own valid labels, weighted and summed.
    loss = "multitask"
    activation = "tanh"  # on the two VA outputs only (``activate``)
    #: The modalities an MTL run reads: s-Aff-Wild2 is face images; no source found says the
    #: challenge provides or allows audio or pose (docs/mtl.md).
    modalities = ("face",)
    loss_module = "harness.losses"
    submission_module = "submissions.mtl"
    smoothing = ("mean", "median", "gaussian", "hamming")  # per video over sparse frames
    bias_tuning = True  # the EXPR head
    threshold_tuning = True  # the AU head

    def read_files(self, paths: list[Path]) -> list[np.ndarray]:
        """Per-video files of a run folder (``annotation_text``): the release itself is two
        annotation files of images, read by ``harness.data.mtl.load_mtl_release``."""
        from harness.data.mtl_files import read_frame_files

        return read_frame_files(paths, self.columns)

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
        """One video's frames 1..N as a run folder keeps them: the 15 column names, then
        ``v,a,expression,AU1..AU26`` per frame (VA to 4 decimals). The release's own rows
        need their image paths: ``harness.data.synth.mtl.mtl_text`` writes those."""
        from harness.data.mtl_files import frame_text

        return frame_text(values, self.columns, crlf)

    def figure_range(self, column: str) -> tuple[float, float]:
        """P_MTL sums three terms: [-1, 3]; each term lies in [-1, 1]."""
        return (-1.0, 3.0) if column == self.selection_metric else (-1.0, 1.0)

    def tuned_columns(self, what: str) -> tuple[slice, slice | int]:
        """Offsets act on the 8 EXPR logits against the expression column, thresholds on the
        12 AU logits against the AU columns."""
        at = head_slices()
        return (at["expr"], 2) if what == "bias" else (at["au"], slice(3, 3 + len(AU_NAMES)))

    def unknown(self, n: int) -> np.ndarray:
        """``n`` frames without any label: VA -5, expression -1, AUs -1 (one marker per task;
        -1 alone would read as a valid valence)."""
        return np.tile(NO_LABEL, (n, 1))

    def activate(self, outputs):
        """tanh on the two VA outputs; the EXPR and AU logits stay logits."""
        import torch

        at = head_slices()["va"]
        return torch.cat([outputs[..., at].tanh(), outputs[..., at.stop:]], dim=-1)

    def submission_predictions(self, template, per_video: dict[str, np.ndarray]
                               ) -> dict[str, np.ndarray]:
        """The heads at the test list's images, in list order, from per-video decisions of
        frames 1..N (``template``: ``harness.data.mtl_sequences.MtlTemplate``)."""
        from harness.data.mtl_sequences import labels_at

        rows = labels_at(per_video, template.test.images, template.path)
        return {"va": rows.va, "expr": rows.expr.astype(np.int64),
                "au": rows.au.astype(np.int64)}

    def read_template(self, path: Path):
        """A test list (any edition's) as the template a submission follows."""
        from harness.data.mtl import read_mtl_test_list
        from harness.data.mtl_sequences import test_template

        return test_template(read_mtl_test_list(path), self)

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

    def stats_arrays(self, stats) -> dict[str, np.ndarray]:
        """``MTLStats`` as flat arrays: each term's own, prefixed (``va_sums``, ``cms``...)."""
        from harness.tasks import get_task

        va, au = (get_task(t).stats_arrays(s) for t, s in (("va", stats.va), ("au", stats.au)))
        return ({f"va_{k}": v for k, v in va.items()} | {"cms": np.asarray(stats.confusion)}
                | {f"au_{k}": v for k, v in au.items()})

    def stats_from_arrays(self, arrays):
        from harness.tasks import get_task

        MTLStats = self.module("metric").MTLStats
        va = get_task("va").stats_from_arrays({k[3:]: v for k, v in arrays.items()
                                               if k.startswith("va_")})
        au = get_task("au").stats_from_arrays({k[3:]: v for k, v in arrays.items()
                                               if k.startswith("au_")})
        cms = np.asarray(arrays["cms"])
        if cms.shape != (len(au.n_frames), len(CLASSES), len(CLASSES)):
            raise ValueError(f"cms {cms.shape} for {len(au.n_frames)} videos")
        return MTLStats(va, cms.astype(np.int64), au)

    def scores_from_dict(self, d):
        from harness.tasks import get_task

        MTLScores = self.module("metric").MTLScores
        return MTLScores(float(d["p_mtl"]), float(d["p_va"]), float(d["p_expr"]),
                         float(d["p_au"]), get_task("va").scores_from_dict(d["va"]),
                         get_task("expr").scores_from_dict(d["expr"]),
                         get_task("au").scores_from_dict(d["au"]))

    def figures(self, scores) -> dict[str, float]:
        got = scores.columns()
        return {c: float(got[c]) for c in self.leaderboard_columns}

    def selection(self, scores) -> float:
        return float(scores.p_mtl)


MTL = register_task(MtlTask())
