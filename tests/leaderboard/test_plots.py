"""Plots: a run's confusion and per-class F1 (harness.records.figures) and the leaderboard's
macro F1 with intervals, all valid PNGs written where asked."""

from __future__ import annotations

import numpy as np

from harness.records.figures import plot_confusion, plot_per_class_f1
from leaderboard.plots import plot_macro_f1
from tests.leaderboard.stores import video_cms


def test_plots_write_png(tmp_path):
    magic = b"\x89PNG\r\n\x1a\n"
    cm = video_cms(1, 0.5, seed=0)[0]
    cm[3] = 0  # a class with no truth frames must not break row normalisation
    paths = [
        plot_confusion(cm, tmp_path / "confusion.png"),
        plot_per_class_f1(np.linspace(0.1, 0.8, 8), tmp_path / "per_class_f1.png", "run x"),
        plot_macro_f1([("current_face", 0.33, 0.30, 0.36), ("attention_fusion", 0.36, 0.33, 0.4)],
                      tmp_path / "macro.png"),
    ]
    for p in paths:
        assert p.read_bytes()[:8] == magic
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["confusion.png", "macro.png", "per_class_f1.png"]
