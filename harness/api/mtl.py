"""``harness.mtl_info``, ``mtl_splits`` and ``mtl_validate``: the multi-task challenge (MTL,
s-Aff-Wild2) as ``harness data info``, ``harness splits`` and ``harness validate`` take it
with ``--task mtl``.

The MTL release is not one annotation file per video: two files of sparse images and a test
list (``harness.data.mtl``), so these functions read it themselves instead of going through
``harness.data.release``. None imports torch; scikit-learn is loaded only to cut folds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.data.mtl import MtlLabels, MtlRelease
    from harness.data.splits import Split
    from harness.data.task_summary import PartSummary
    from harness.metrics.mtl import MTLScores
    from submissions import Problem


def load_mtl(data: Path | None = None, *, release: MtlRelease | None = None,
             check_images: bool = True) -> MtlRelease:
    """``release`` if given, else the MTL part of the release at ``data`` (None: the embedded
    corpus); with ``check_images`` every row's image must exist where the release keeps them."""
    if release is not None:
        return release
    from harness.data.embedded import ensure_default_corpus
    from harness.data.mtl import load_mtl_release

    return load_mtl_release(ensure_default_corpus() if data is None else data,
                            check_images=check_images)


@dataclass
class MtlInfo:
    release: MtlRelease
    parts: list[PartSummary]  # train, validation (official files), test list


def mtl_info(data: Path | None = None, *, release: MtlRelease | None = None) -> MtlInfo:
    """The MTL release (edition, files found) and, per part, rows, videos, per-task valid
    counts, images per expression class and positives per AU."""
    from harness.data.mtl_summary import mtl_summary

    rel = load_mtl(data, release=release)
    return MtlInfo(rel, mtl_summary(rel))


@dataclass
class MtlSplits:
    release: MtlRelease
    splits: list[Split]  # official and fold1..fold5; names are video folders
    written: Path | None = None


def mtl_splits(data: Path | None = None, *, write: Path | None = None,
               folds: Path | None = None, release: MtlRelease | None = None) -> MtlSplits:
    """The official split (the two annotation files) and five folds grouped by recording
    (the image path's video folder); ``folds`` rebuilds them from a membership file,
    ``write`` writes one."""
    from harness.data.mtl_splits import get_mtl_split
    from harness.data.splits import SPLIT_NAMES

    rel = load_mtl(data, release=release)
    if write is not None:
        from harness.paths import check_output_file

        check_output_file(write, "--write", _protected(rel) + ([Path(folds)] if folds else []))
    if folds is not None:
        made = list(read_mtl_membership(folds, rel).values())
    else:
        made = [get_mtl_split(rel, n) for n in SPLIT_NAMES]
    if write is not None:
        from harness.atomic import write_json

        write_json(write, {"dataset": f"s-Aff-Wild2 ({rel.edition})",
                           "grouping": "recording of the image path's video folder "
                                       "(harness.data.videos.recording_of)",
                           "splits": [s.to_dict() for s in made]})
    return MtlSplits(rel, made, write)


def read_mtl_membership(path: Path, release: MtlRelease) -> dict[str, Split]:
    """Splits of a membership file (``harness splits --task mtl --write``); every name must be
    a video folder of the release's annotation files, none on both sides of a split."""
    import json

    from harness.data.splits import membership_splits
    from harness.errors import ReleaseFormatError

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReleaseFormatError(path, f"not a readable split membership file ({exc})") from None
    videos = SimpleNamespace(train=set(release.train.videos), val=set(release.val.videos))
    return membership_splits(data, videos, path)


@dataclass
class MtlValidation:
    """An MTL submission's problems against the test list, and its scores when asked."""

    path: Path
    problems: list[Problem] = field(default_factory=list)
    scores: MTLScores | None = None  # with score=True and a valid file
    truth: Path | None = None  # the annotation file it was scored against

    @property
    def valid(self) -> bool:
        return not self.problems


def mtl_validate(file: Path, *, template: Path | None = None, data: Path | None = None,
                 score: bool = False, truth: Path | None = None,
                 release: MtlRelease | None = None) -> MtlValidation:
    """Every problem of an MTL submission (header, 16 fields, values, names, order, missing
    rows) against ``template`` (a test list, any edition's) or the release's test list.

    With ``score`` (or a ``truth`` file), a valid file is scored: P_MTL and its three terms
    against ``truth`` (16-field annotation rows), by default the embedded corpus's hidden test
    labels; a real release has none, so there ``truth`` must be given.
    """
    from harness.data.mtl import read_mtl_annotations, read_mtl_test_list
    from submissions.mtl import score_mtl_submission, validate_mtl_submission

    scoring = score or truth is not None
    rel = None
    if template is None or (scoring and truth is None):
        rel = load_mtl(data, release=release, check_images=False)
    labels_path = (Path(truth) if truth is not None else _hidden_truth(rel)) if scoring \
        else None  # before any reading: a release without hidden labels is refused first
    if template is not None:
        test = read_mtl_test_list(template)
    elif rel.test is None:
        raise HarnessError(f"no MTL test list found under {rel.layout.root}: pass --template")
    else:
        test = rel.test
    problems = validate_mtl_submission(file, test)
    done = MtlValidation(Path(file), problems)
    if problems or labels_path is None:
        return done
    labels: MtlLabels = read_mtl_annotations(labels_path)
    done.scores = score_mtl_submission(file, labels, test)
    done.truth = labels_path
    return done


def _hidden_truth(release: MtlRelease) -> Path:
    from harness.tasks.mtl import MTL

    path = release.layout.root / MTL.hidden_truth
    if not path.is_file():
        raise HarnessError(f"{release.layout.root} has no hidden MTL test labels (only the "
                           "embedded corpus has them): pass --truth FILE to score")
    return path


def _protected(release: MtlRelease) -> list[Path]:
    lay = release.layout
    return [p for p in (lay.root, lay.train, lay.val, lay.images, lay.test_list,
                        lay.test_images) if p is not None]
