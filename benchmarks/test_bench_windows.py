"""Windows at real scale: window indices of 1.56 M frames, and the windows of every split built
from memory-mapped feature tables of the whole release (2.58 M frames of 256-d face, 1024-d
audio and 36-d pose features) with peak anonymous memory under the 2 GB bound."""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.conftest import FeatureCorpus
from harness.features.timeline import N_STEPS, window_frames
from harness.features.windows import WindowSet, build_windows
from harness.measure import StageClock


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


# --------------------------------------------------------------------------- real-scale windows

#: The bound a real-scale run's anonymous memory must stay under, whatever the feature sizes.
MEMORY_BOUND_MB = 2048




def _all_windows(c: FeatureCorpus) -> list[WindowSet]:
    """What ``harness run`` builds: train (labelled frames), validation and test (every frame)."""
    return [build_windows(c.release, c.split.train, c.sources, labelled_only=True),
            build_windows(c.release, c.split.val, c.sources, labelled_only=False),
            build_windows(c.release, c.release.template.names, c.sources, labelled_only=False)]


def test_build_windows_real_scale_bounded_memory(benchmark, feature_corpus):
    """Train, validation and test windows of the whole release from the memory-mapped packed
    tables (packed once, untimed), with peak anonymous memory under the bound."""
    c = feature_corpus
    _all_windows(c)  # packs the tables once, as a run's first window building does
    clock = StageClock(interval_s=0.01)
    with clock.stage("windows"):
        train, val, test = benchmark(lambda: _all_windows(c))
        batch = train.batch(np.random.default_rng(0).choice(len(train), 256, replace=False))
    clock.close()
    labelled = sum(int((c.release.labels(n) >= 0).sum()) for n in c.split.train)
    assert len(train) == labelled
    assert len(val) == sum(c.release.n_frames(n) for n in c.split.val)
    assert len(test) == c.release.template.n_rows
    assert batch["face"].shape == (256, N_STEPS, 256) and batch["audio"].shape[2] == 1024
    assert batch["pose"].shape[2] == 36 and bool(batch["mask"][:, 6].all())
    peak = clock.peak_mb()
    benchmark.extra_info["peak_rss_anon_mb"] = peak
    if peak is not None:  # Linux
        assert peak <= MEMORY_BOUND_MB, f"peak anonymous memory {peak:.0f} MB"


def test_window_batch_real_scale(benchmark, feature_corpus):
    """One training batch (256 random windows, 12 steps, three modalities) gathered from the
    memory-mapped tables: the data cost of every fusion training step."""
    train = build_windows(feature_corpus.release, feature_corpus.split.train,
                          feature_corpus.sources, labelled_only=True)
    rng = np.random.default_rng(0)
    batch = benchmark(lambda: train.batch(rng.choice(len(train), 256, replace=False)))
    assert batch["face"].shape == (256, N_STEPS, 256) and torch.isfinite(batch["audio"]).all()
