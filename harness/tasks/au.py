"""AU: action-unit detection, 12 binary AUs per frame, a row with any ``-1`` = invalid.

Folders, names and formats follow ``aff-wild2-tasks.md`` section 3. The header's exact text was
never seen (the 12 names in order are known from the test template and the ABAW3 format), so
only its column count is checked. Later editions' folders are presumed unchanged; the ABAW10
root ``annotations/`` is inferred from EXPR's.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from harness.data.valuefiles import AU_INVALID, AU_NAMES, au_text, au_valid, read_au_file
from harness.errors import HarnessError
from harness.tasks import AnnotationFolder, Task, register_task

CHALLENGE = "AU_Detection_Challenge"
#: Folds are stratified on these AUs' joint state (the rare and the common ones), 2**3 strata.
STRATA_AUS = ("AU12", "AU25", "AU4")
#: Positive rate of each AU, ABAW5 train+val (aff-wild2-tasks.md section 3, INFERRED there).
AU_RATES = (0.124, 0.060, 0.154, 0.262, 0.397, 0.346, 0.247, 0.029, 0.030, 0.027, 0.632, 0.082)

HIDDEN = Path("synth_truth", CHALLENGE, "Test_Set")


class AuTask(Task):
    name = "au"
    title = "action-unit detection"
    annotation_folders = (
        AnnotationFolder("ABAW10", "annotations", CHALLENGE),
        AnnotationFolder("ABAW6", "6th ABAW Annotations", CHALLENGE),
        AnnotationFolder("ABAW6", "6th_ABAW_Annotations", CHALLENGE),
        AnnotationFolder("ABAW5", "5th_ABAW_Annotations", CHALLENGE),
        AnnotationFolder("ABAW3", "Third ABAW Annotations", CHALLENGE),
        AnnotationFolder("ABAW3", "Third_ABAW_Annotations", CHALLENGE),
    )
    header = ",".join(AU_NAMES)
    header_enforced = False
    columns = AU_NAMES
    dtype = np.dtype(np.int8)
    invalid = AU_INVALID
    output_size = len(AU_NAMES)
    outputs = "logits"
    test_lists = ("Action_Unit_Detection_Challenge_test_set_release.txt",)
    template_names = ("CVPR_5th_ABAW_AU_test_set_sample.txt",
                      "CVPR_5th_ABAW_AU_test_set_example.txt",
                      "CVPR_6th_ABAW_AU_test_set_sample.txt",
                      "CVPR_6th_ABAW_AU_test_set_example.txt")
    template_pattern = re.compile(r"^(.*_)?AU_(.*_)?test_set_(sample|example)\.txt$")
    template_header = "image_location," + ",".join(AU_NAMES)
    submission_format = ("ABAW5 AU: one file, 'image_location,AU1,...,AU26', "
                         "'<name>/<NNNNN>.jpg,<12 x 0/1>' per template row")
    leaderboard_columns = (*AU_NAMES, "P_AU")
    #: Where the embedded corpus keeps the hidden test labels (not part of the real release).
    hidden_truth = HIDDEN
    #: Annotated names per split in the release (ABAW5; see ``release_names`` in the base).
    release_names = {"train": 320, "val": 105, "test": 141}
    #: ABAW5 valid frames of Train_Set / Validation_Set and test template rows.
    release_frames = {"train": 1_359_523, "val": 445_845, "test": 729_736}
    selection_metric = "P_AU"
    metric_module = "harness.metrics.au"
    loss = "bce"
    loss_module = "harness.losses"
    submission_module = "submissions.au"
    smoothing = ("mean", "median", "gaussian", "hamming")  # on logits; mode does not apply
    bias_tuning = False
    threshold_tuning = True

    def read_files(self, paths: list[Path]) -> list[np.ndarray]:
        return [read_au_file(p) for p in paths]

    def valid(self, values: np.ndarray) -> np.ndarray:
        return au_valid(values)

    def strata(self, values: np.ndarray) -> np.ndarray:
        v = values[au_valid(values)][:, [AU_NAMES.index(a) for a in STRATA_AUS]]
        return (v * (1 << np.arange(len(STRATA_AUS)))).sum(axis=1).astype(np.int8)

    def summary(self, arrays: list[np.ndarray]) -> dict:
        v = np.concatenate([a[au_valid(a)] for a in arrays]) if arrays else np.zeros((0, 12))
        positives = v.sum(axis=0).astype(np.int64)
        return {"valid_frames": int(len(v)),
                "au_positives": dict(zip(AU_NAMES, positives.tolist())),
                "au_rates": dict(zip(AU_NAMES, (positives / max(len(v), 1)).tolist()))}

    def annotation_text(self, values: np.ndarray, crlf: bool = False) -> str:
        return au_text(values, self.header, crlf)

    def decisions(self, outputs: np.ndarray, thresholds: np.ndarray | None = None
                  ) -> np.ndarray:
        """1 where sigmoid(logit) >= the AU's threshold (0.5 unless given: ``logit >= 0``);
        int8, (n, 12). ``thresholds``: 12 probabilities in (0, 1)."""
        z = np.asarray(outputs, dtype=np.float32)
        if thresholds is None:
            return (z >= 0).astype(np.int8)
        t = np.asarray(thresholds, dtype=np.float64)
        if t.shape != (len(AU_NAMES),) or not ((t > 0) & (t < 1)).all():
            raise HarnessError(f"AU thresholds must be {len(AU_NAMES)} probabilities in (0, 1), "
                               f"got {t.tolist()}")
        # sigmoid(z) >= t  <=>  z >= logit(t): no overflow, same decisions
        return (z >= np.log(t / (1.0 - t))).astype(np.int8)

    def video_stats(self, truths, preds):
        au_stats = self.module("metric").au_stats
        return au_stats(truths, preds)

    def stats_from_arrays(self, arrays):
        AUStats = self.module("metric").AUStats
        counts, n = np.asarray(arrays["counts"]), np.asarray(arrays["n_frames"])
        if counts.ndim != 3 or counts.shape[1:] != (len(AU_NAMES), 3) \
                or n.shape != counts.shape[:1]:
            raise ValueError(f"counts {counts.shape}, n_frames {n.shape}")
        return AUStats(counts.astype(np.int64), n.astype(np.int64))

    def scores_from_dict(self, d):
        AUScores = self.module("metric").AUScores
        return AUScores(tuple(float(x) for x in d["per_au_f1"]), float(d["p_au"]),
                        int(d["n_frames"]), tuple(tuple(int(x) for x in r) for r in d["counts"]))

    def figures(self, scores) -> dict[str, float]:
        return {**dict(zip(AU_NAMES, map(float, scores.per_au_f1))), "P_AU": float(scores.p_au)}

    def synth_labels(self, rng: np.random.Generator, timeline, fps: float) -> np.ndarray:
        """The embedded corpus's labels of one person, read off what is drawn and heard."""
        from harness.data.synth.tasks import au_labels  # the generator: only when generating

        return au_labels(rng, timeline, fps)

    def synth_scale_values(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` frames of values for the annotation-only corpus at the release's sizes."""
        from harness.data.synth.scale_tasks import au_values

        return au_values(rng, n, np.array(AU_RATES))



AU = register_task(AuTask())
