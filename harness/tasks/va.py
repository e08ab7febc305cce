"""VA: valence-arousal estimation, two values in [-1, 1] per frame, ``-5,-5`` = invalid.

Folders, names and formats follow ``aff-wild2-tasks.md`` section 2. The release's header text
was never seen byte for byte (``valence,arousal`` in the ABAW1/ABAW3 formats), so only its
column count is checked. The ABAW10 root ``annotations/`` is inferred from EXPR's.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from harness.data.valuefiles import VA_INVALID, read_va_files, va_text, va_valid
from harness.errors import HarnessError
from harness.tasks import AnnotationFolder, Task, register_task

CHALLENGE = "VA_Estimation_Challenge"
DIMENSIONS = ("valence", "arousal")
#: Valence and arousal are each cut at these values to stratify folds (3 x 3 = 9 strata).
STRATA_EDGES = (-0.2, 0.2)

HIDDEN = Path("synth_truth", CHALLENGE, "Test_Set")


class VaTask(Task):
    name = "va"
    title = "valence-arousal estimation"
    annotation_folders = (
        AnnotationFolder("ABAW10", "annotations", CHALLENGE),
        AnnotationFolder("ABAW6", "6th ABAW Annotations", CHALLENGE),
        AnnotationFolder("ABAW6", "6th_ABAW_Annotations", CHALLENGE),
        AnnotationFolder("ABAW5", "5th_ABAW_Annotations", CHALLENGE),
        AnnotationFolder("ABAW3", "Third ABAW Annotations", CHALLENGE),
        AnnotationFolder("ABAW3", "Third_ABAW_Annotations", CHALLENGE),
    )
    header = ",".join(DIMENSIONS)
    header_enforced = False
    columns = DIMENSIONS
    dtype = np.dtype(np.float32)
    invalid = VA_INVALID
    output_size = 2
    outputs = "values"
    activation = "tanh"  # values in [-1, 1], with a gradient everywhere (a clip has none)
    test_lists = ("Valence_Arousal_Estimation_Challenge_test_set_release.txt",)
    template_names = ("CVPR_5th_ABAW_VA_test_set_sample.txt",
                      "CVPR_5th_ABAW_VA_test_set_example.txt",
                      "CVPR_6th_ABAW_VA_test_set_sample.txt",
                      "CVPR_6th_ABAW_VA_test_set_example.txt",
                      "CVPR_8th_ABAW_VA_test_set_sample.txt",
                      "ICCV_9th_ABAW_VA_test_set_sample.txt",
                      "ABAW_VA_test_set_sample.txt", "ABAW_VA_test_set_example.txt")
    #: ``*VA*test_set_{sample,example}.txt`` (the reference's rule), VA as its own word.
    template_pattern = re.compile(r"^(.*_)?VA_(.*_)?test_set_(sample|example)\.txt$")
    template_header = "image_location," + ",".join(DIMENSIONS)
    submission_format = ("ABAW5 VA: one file, 'image_location,valence,arousal', "
                         "'<name>/<NNNNN>.jpg,<v>,<a>' per template row")
    leaderboard_columns = ("CCC-V", "CCC-A", "P_VA")
    #: Where the embedded corpus keeps the hidden test labels (not part of the real release).
    hidden_truth = HIDDEN
    #: Annotated names per split in the release (ABAW5; see ``release_names`` in the base).
    release_names = {"train": 334, "val": 76, "test": 162}
    #: ABAW5 valid frames of Train_Set / Validation_Set and test template rows.
    release_frames = {"train": 1_680_144, "val": 382_021, "test": 927_210}
    selection_metric = "P_VA"
    metric_module = "harness.metrics.va"
    loss = "ccc"
    loss_module = "harness.losses"
    submission_module = "submissions.va"
    smoothing = ("mean", "median", "gaussian", "hamming")  # mode: no classes to vote on
    bias_tuning = False
    threshold_tuning = False

    def read_files(self, paths: list[Path]) -> list[np.ndarray]:
        return read_va_files(paths)

    def valid(self, values: np.ndarray) -> np.ndarray:
        return va_valid(values)

    def strata(self, values: np.ndarray) -> np.ndarray:
        v = values[va_valid(values)]
        bins = np.digitize(v, STRATA_EDGES)
        return (bins[:, 0] * (len(STRATA_EDGES) + 1) + bins[:, 1]).astype(np.int8)

    def summary(self, arrays: list[np.ndarray]) -> dict:
        v = np.concatenate([a[va_valid(a)] for a in arrays]) if arrays else np.zeros((0, 2))
        out: dict = {"valid_frames": int(len(v))}
        for j, dim in enumerate(DIMENSIONS):
            col = v[:, j].astype(np.float64)
            out[dim] = {"mean": float(col.mean()) if col.size else float("nan"),
                        "std": float(col.std()) if col.size else float("nan")}
        return out

    def annotation_text(self, values: np.ndarray, crlf: bool = False) -> str:
        return va_text(values, self.header, crlf)

    def decisions(self, outputs: np.ndarray, thresholds: np.ndarray | None = None
                  ) -> np.ndarray:
        """The values, clipped to [-1, 1] (float32, (n, 2))."""
        if thresholds is not None:
            raise HarnessError("va decisions take no thresholds (values are predicted directly)")
        return np.clip(np.asarray(outputs, dtype=np.float32), -1.0, 1.0)

    def video_stats(self, truths, preds):
        va_stats = self.module("metric").va_stats
        return va_stats(truths, preds)

    def stats_from_arrays(self, arrays):
        VAStats = self.module("metric").VAStats
        sums, n, shift = (np.asarray(arrays[k]) for k in ("sums", "n_frames", "shift"))
        if sums.ndim != 3 or sums.shape[1:] != (2, 6) or n.shape != sums.shape[:1] \
                or shift.shape != (2, 2):
            raise ValueError(f"sums {sums.shape}, n_frames {n.shape}, shift {shift.shape}")
        return VAStats(sums.astype(np.float64), n.astype(np.int64), shift.astype(np.float64))

    def scores_from_dict(self, d):
        VAScores = self.module("metric").VAScores
        return VAScores(float(d["ccc_valence"]), float(d["ccc_arousal"]), float(d["p_va"]),
                        int(d["n_frames"]), tuple(int(x) for x in d["n_valid"]))

    def figures(self, scores) -> dict[str, float]:
        return {"CCC-V": float(scores.ccc_valence), "CCC-A": float(scores.ccc_arousal),
                "P_VA": float(scores.p_va)}

    def synth_labels(self, rng: np.random.Generator, timeline, fps: float) -> np.ndarray:
        """The embedded corpus's labels of one person, read off what is drawn and heard."""
        from harness.data.synth.tasks import va_labels  # the generator: only when generating

        return va_labels(rng, timeline, fps)

    def synth_scale_values(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` frames of values for the annotation-only corpus at the release's sizes."""
        from harness.data.synth.scale_tasks import va_values

        return va_values(rng, n)



VA = register_task(VaTask())
