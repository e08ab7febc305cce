"""Rows and stores the leaderboard tests share: Table rows of three baselines over six splits,
three feature configurations on two data fingerprints, and a store whose runs keep per-video
confusion matrices."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.metrics import macro_f1_from_confusion
from harness.records import Result, RunFolder, append_result, store_path
from tests.records.row_factory import make_result, with_

LIGHT = {"face": "light", "audio": "logmel", "pose": "coco18", "face_fit": "in-sample"}
EMONET = {"face": "emonet", "audio": "deepspectrum", "pose": "coco18", "face_fit": "in-sample"}


def sample_results() -> list[Result]:
    out = [make_result(b, s, seed=10 * i + j, created=f"2024-01-01T00:00:0{j}")
           for i, b in enumerate(["current_face", "only_video", "attention_fusion"])
           for j, s in enumerate(["official", "fold1", "fold2", "fold3", "fold4", "fold5"])]
    # an older and a newer re-run of current_face on official: the newest wins
    out.append(make_result("current_face", "official", seed=99, created="2023-01-01T00:00:00"))
    out.append(make_result("current_face", "official", seed=98, created="2025-01-01T00:00:00"))
    return out


def video_cms(n_videos: int, acc: float, seed: int, frames: int = 200) -> np.ndarray:
    """Per-video matrices of a classifier right with probability ``acc`` (else uniform)."""
    rng = np.random.default_rng(seed)
    cms = np.zeros((n_videos, 8, 8), dtype=np.int64)
    for v in range(n_videos):
        t = rng.integers(0, 8, frames)
        p = np.where(rng.random(frames) < acc, t, rng.integers(0, 8, frames))
        np.add.at(cms[v], (t, p), 1)
    return cms


def config_rows() -> list[Result]:
    """Three systems on ABAW5 data, one newer run on ABAW6 data, all named "affwild2"."""
    def one(baseline, feats, fp, t, seed):
        return with_(make_result(baseline, seed=seed, dataset="affwild2",
                                 created=f"2025-01-01T00:00:0{t}"),
                     features=feats, data_fingerprint=fp, run_id=f"{baseline}-{fp}-{t}")
    return [one("current_face", LIGHT, "abaw5", 1, 1),
            one("attention_fusion", LIGHT, "abaw5", 2, 2),
            one("attention_fusion", EMONET, "abaw5", 3, 3),
            one("attention_fusion", {**EMONET, "face_fit": "cross-fitted"}, "abaw5", 4, 4),
            one("attention_fusion", EMONET, "abaw6", 5, 5)]


def store_with_runs(tmp_path) -> Path:
    """The rows of ``_configs`` in a store, each with a run folder holding per-video matrices."""
    work = tmp_path / "work"
    for k, r in enumerate(config_rows()):
        folder = RunFolder.create(work, r.run_id)
        run_dir = folder.path
        cms = video_cms(12, 0.2 + 0.1 * k, seed=7)  # same truth in every run, better and better
        folder.write_per_video_confusion([f"v{i}" for i in range(12)], cms)
        append_result(store_path(work), with_(r, run_dir=str(run_dir),
                                              macro_f1=float(macro_f1_from_confusion(cms.sum(0)))))
    return work
