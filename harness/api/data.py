"""``harness.data_synth``, ``data_info``, ``splits`` and ``baselines``: what a release holds,
how it is split, and what can run on it. None of them imports torch at import time;
``splits`` loads scikit-learn only when folds must be cut (not with ``folds=``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.api.common import load_release, load_user_modules

if TYPE_CHECKING:
    from harness.data.coverage import PartCoverage
    from harness.data.release import Release
    from harness.data.splits import Split


def data_synth(out: Path = Path("synth-corpus"), *, seed: int = 0, videos: int | None = None,
               seconds: float | None = None, annotations_only: bool = False,
               real_scale: bool = False, features_only: bool = False):
    """Generate a synthetic corpus laid out exactly like the real release (its summary)."""
    from harness.config_files import require
    from harness.data import synth

    require("--seconds", seconds, positive=True)  # NaN too: it fails late in the plan
    require("--videos", videos, minimum=1)
    if features_only:
        from harness.data.synth.scale_features import synthesize_features_only

        return synthesize_features_only(out, seed=seed, real_scale=real_scale)
    if annotations_only:
        return synth.synthesize_annotations_only(out, seed=seed, real_scale=real_scale)
    kwargs = {k: v for k, v in (("videos", videos), ("seconds", seconds)) if v is not None}
    return synth.synthesize(out, seed=seed, **kwargs)


@dataclass
class DataInfo:
    release: Release
    coverage: list[PartCoverage]  # per part: faces, audio, poses found (no image opened)
    #: With a task asked for: its labels per part (``harness.data.task_summary``).
    labels: list | None = None


def data_info(data: Path | None = None, *, release: Release | None = None,
              task: str | None = None) -> DataInfo:
    """A release (edition, folders, names, frames, test set) and its coverage per part; with
    ``task`` (expr, va, au), that task's part of the release and a summary of its labels."""
    from harness.console import progress_task
    from harness.data.coverage import release_coverage, release_parts

    rel = load_release(data, release, task)
    total = sum(len(names) for _, names in release_parts(rel))
    with progress_task("coverage", total, "names") as advance:
        coverage = release_coverage(rel, on_name=advance)
    labels = None
    if task is not None:
        from harness.data.task_summary import task_summary

        labels = task_summary(rel)
    return DataInfo(rel, coverage, labels)


@dataclass
class Splits:
    release: Release
    splits: list[Split]  # official and fold1..fold5
    written: Path | None = None  # the membership file, if one was written


def splits(data: Path | None = None, *, write: Path | None = None, folds: Path | None = None,
           release: Release | None = None, task: str | None = None) -> Splits:
    """The official split and the five seeded folds (rebuilt from ``folds`` if given) of
    ``task``'s names (default expr); with ``write``, their membership file for audit and exact
    rebuilds."""
    from harness.data.splits import SPLIT_NAMES, get_split, read_membership

    rel = load_release(data, release, task)
    if write is not None:  # never over the release (or the --folds file read here)
        from harness.api.common import protected_inputs
        from harness.paths import check_output_file

        check_output_file(write, "--write",
                          protected_inputs(rel) + ([Path(folds)] if folds else []))
    if folds is not None:
        made = list(read_membership(folds, rel).values())
    else:
        made = [get_split(rel, n) for n in SPLIT_NAMES]
    if write is not None:
        write_membership(write, rel, made)
    return Splits(rel, made, write)


def write_membership(path: Path, release: Release, splits: list[Split]) -> None:
    """The membership file ``--folds`` rebuilds splits from (names, not a recipe)."""
    import sklearn

    from harness.atomic import write_json

    write_json(path, {
        "dataset": release.dataset,
        "fingerprint": release.fingerprint,
        "grouping": "recording (harness.data.videos.recording_of)",
        "made_with": {"scikit-learn": sklearn.__version__},
        "duplicates_kept_in_validation": list(release.duplicates),
        "splits": [s.to_dict() for s in splits],
    })


@dataclass
class BaselineInfo:
    spec: Any  # baselines.BaselineSpec
    parameters: int  # at the paper's feature sizes (face 256, audio 1024, pose 36)


def baselines(baseline_module: Sequence[str] | None = None) -> list[BaselineInfo]:
    """Registered baselines (after importing the user's modules) with their parameter counts."""
    from baselines import create_baseline, list_baselines
    from harness.features.modalities import PAPER_DIMS
    from harness.train import count_parameters

    load_user_modules(baseline_module)
    return [BaselineInfo(spec, count_parameters(create_baseline(spec.name, PAPER_DIMS)))
            for spec in list_baselines()]
