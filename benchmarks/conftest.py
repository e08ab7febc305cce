"""pytest-benchmark suite for the harness's hot paths (outside ``testpaths``: run it by path).

Full mode (real-scale corpus: 317 annotation files / 1.56 M lines, 1.02 M-row template,
1 M-frame metric, batch 256 models), one command, results saved for later comparison::

    python -m pytest benchmarks --benchmark-enable --benchmark-autosave

Compare with earlier saved runs (``.benchmarks/<machine>/NNNN_<commit>.json``)::

    python -m pytest benchmarks --benchmark-enable --benchmark-compare            # vs latest
    python -m pytest benchmarks --benchmark-enable --benchmark-compare=0001 \\
        --benchmark-compare-fail=median:20%                                      # fail on +20%
    pytest-benchmark compare 0001 0002 --group-by=name                           # offline

Reduced mode for CI (``HARNESS_BENCH_QUICK=1``, or whenever ``CI`` is set): a tiny corpus
(``real_scale=False``), 100 k frames, batch 16, one torch thread; the suite takes < 60 s.

pyproject's ``addopts`` holds ``--benchmark-disable``: without ``--benchmark-enable`` every
benchmarked function runs exactly once, untimed, so the suite doubles as a smoke test. Every
benchmark asserts on its output (row counts, shapes), so it can fail, but never on timing.
Targets (reported, not asserted): annotations load ~1 s; 1.02 M-row submission written and
validated < 3 s; metric on 1 M frames < 0.1 s; fusion training step see ``harness bench``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from harness.data.release import Release, load_release
from harness.data.splits import Split, get_split
from harness.data.synth import files
from harness.data.synth.scale import synthesize_annotations_only
from harness.data.synth.scale_features import IMPORT_NAMES, synthesize_features_only
from harness.features.extract import all_names
from harness.features.imported import import_features, imported_source
from harness.features.sources import FeatureSource


def quick_mode() -> bool:
    """Reduced sizes when ``HARNESS_BENCH_QUICK=1`` or on CI (``CI`` set and not "false")."""
    if os.environ.get("HARNESS_BENCH_QUICK", "") not in ("", "0"):
        return True
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


@dataclass(frozen=True)
class Sizes:
    real_scale: bool
    metric_frames: int
    model_batch: int
    model_rounds: int


QUICK = Sizes(real_scale=False, metric_frames=100_000, model_batch=16, model_rounds=2)
FULL = Sizes(real_scale=True, metric_frames=1_000_000, model_batch=256, model_rounds=5)


@pytest.fixture(scope="session")
def sizes() -> Sizes:
    return QUICK if quick_mode() else FULL


@pytest.fixture(scope="session", autouse=True)
def _quick_threads() -> Iterator[None]:
    """One torch thread in quick mode: at batch 16 a second OpenMP thread only adds barrier
    waits, and on a shared CI runner a spinning second thread can make a step 3-10x slower."""
    before = torch.get_num_threads()
    if quick_mode():
        torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@dataclass(frozen=True)
class Corpus:
    """An annotation-only release on disk and what its manifest says it holds."""

    root: Path
    n_frames: dict[str, dict[str, int]]  # split -> name -> frames

    @property
    def train_dir(self) -> Path:
        return self.root / files.SPLIT_DIRS["train"]

    @property
    def val_dir(self) -> Path:
        return self.root / files.SPLIT_DIRS["val"]

    @property
    def template(self) -> Path:
        return self.root / files.TEMPLATE


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory, sizes: Sizes) -> Corpus:
    """Generated once per session (real scale: about 10 s), never timed."""
    root = tmp_path_factory.mktemp("abaw_corpus")
    synthesize_annotations_only(root, seed=0, real_scale=sizes.real_scale, progress=False)
    manifest = json.loads((root / files.MANIFEST).read_text())
    n_frames: dict[str, dict[str, int]] = {"train": {}, "val": {}, "test": {}}
    for name, info in manifest["names"].items():
        n_frames[info["split"]][name] = info["n_frames"]
    dup = manifest.get("duplicate")  # one video sits in both splits, as in the real release
    if dup:
        n_frames["train"][dup] = n_frames["val"][dup]
    return Corpus(root, n_frames)


@dataclass(frozen=True)
class FeatureCorpus:
    release: Release
    split: Split
    sources: dict[str, FeatureSource]


@pytest.fixture(scope="session")
def feature_corpus(tmp_path_factory, sizes) -> Iterator[FeatureCorpus]:
    """The features-only corpus (full mode: real scale, 2.58 M frames, 256/1024/36-d, about
    3.4 GB), imported as ``harness extract --from`` does, in a private harness home. Made once
    per session and shared by the window and sequence benchmarks (full mode: several minutes,
    about 10 GB of temp disk), never timed."""
    root = tmp_path_factory.mktemp("features_corpus") / "corpus"
    old = os.environ.get("ABAW_HARNESS_HOME")
    os.environ["ABAW_HARNESS_HOME"] = str(tmp_path_factory.mktemp("harness_home"))
    try:
        synthesize_features_only(root, seed=0, real_scale=sizes.real_scale, progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the train/val duplicate, as in the release
            release = load_release(root)
        names = all_names(release)
        for modality, name in IMPORT_NAMES:
            import_features(release, root / "features" / modality, name, names=names,
                            quiet=True)
        sources = {m: imported_source(release, name) for m, name in IMPORT_NAMES}
        yield FeatureCorpus(release, get_split(release, "official"), sources)
    finally:
        if old is None:
            os.environ.pop("ABAW_HARNESS_HOME", None)
        else:
            os.environ["ABAW_HARNESS_HOME"] = old
