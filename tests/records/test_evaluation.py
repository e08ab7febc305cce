"""Per-video evaluation: the per-video confusion file the bootstraps resample."""

from __future__ import annotations

import numpy as np

from harness.records import load_per_video_confusion, save_per_video_confusion
from tests.leaderboard.stores import video_cms


def test_per_video_confusion_npz(tmp_path):
    names, cms = ["a_left", "b", "122-60-1920x1080-1"], video_cms(3, 0.5, seed=0)
    path = tmp_path / "per_video_confusion.npz"
    save_per_video_confusion(path, names, cms)
    back_names, back = load_per_video_confusion(path)
    assert back_names == names and back.dtype == np.int64 and np.array_equal(back, cms)
    with np.load(path, allow_pickle=False) as z:
        assert z["names"].dtype.kind == "U"
