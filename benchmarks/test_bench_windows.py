"""Window indices for every frame of every labelled video (real scale: 1.56 M frames, 30 fps)."""

from __future__ import annotations

import numpy as np

from harness.features.timeline import N_STEPS, window_frames


def test_window_frames_all_videos(benchmark, corpus):
    lengths = list(corpus.n_frames["train"].values()) + list(corpus.n_frames["val"].values())

    def build() -> tuple[int, int]:
        rows = inside_total = 0
        for n in lengths:
            idx, inside = window_frames(np.arange(1, n + 1), 30.0, n)
            rows += idx.shape[0]
            inside_total += int(inside[:, 6].sum())
        return rows, inside_total

    rows, current_inside = benchmark(build)
    assert rows == sum(lengths)
    assert current_inside == rows  # the current step is always inside its video
    idx, _ = window_frames(np.arange(1, lengths[0] + 1), 30.0, lengths[0])
    assert idx.shape == (lengths[0], N_STEPS) and idx.min() >= 1 and idx.max() <= lengths[0]
