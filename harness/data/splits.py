"""The official split and the paper's five video-level re-splits, seeded and auditable.

The seed paper pooled Train_Set and Validation_Set and cut five folds without a seed, so its
folds cannot be rebuilt. Ours are seeded, grouped by recording (``recording_of``: ``x_left``
and ``x_right`` of one video, and the segments ``x-1``, ``x-2``... of one recording, never
straddle train and validation, so one person stays on one side), stratified by frame labels as
far as that grouping allows, and written to a membership file. A membership file given back
(``--folds``, or a run's own ``split.json``) rebuilds the folds from the names it lists, so a
different scikit-learn version cannot silently change them.

Splits are per task: each task's release holds its own videos (a video can be in several
tasks), so each task has its own official split and its own folds, stratified on the task's
``strata`` (EXPR: the class; VA: valence x arousal bins; AU: a few AUs' joint state).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.labels import NUM_CLASSES
from harness.data.release import Release
from harness.data.valuefiles import quoted
from harness.data.videos import recording_of, video_of
from harness.errors import HarnessError, ReleaseFormatError

N_FOLDS = 5
FOLD_SEED = 2023  # ABAW5's year; any fixed value would do, what matters is that there is one
SPLIT_NAMES: tuple[str, ...] = ("official", *(f"fold{k}" for k in range(1, N_FOLDS + 1)))
ALL_SPLITS = "all"  # ``harness run --split all``: every split above, then Table 1
_STRATIFY_SAMPLES = 50_000  # thin long releases to about this many frames to stratify on


@dataclass(frozen=True)
class Split:
    name: str
    train: tuple[str, ...]
    val: tuple[str, ...]
    seed: int | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "seed": self.seed, "train": list(self.train),
                "val": list(self.val)}


def official_split(release: Release) -> Split:
    """Train_Set vs Validation_Set; duplicates were already moved to validation on load."""
    return Split("official", tuple(sorted(release.train)), tuple(sorted(release.val)))


def fold_splits(release: Release, seed: int = FOLD_SEED, n_folds: int = N_FOLDS) -> list[Split]:
    """The five re-splits: every annotated name in exactly one validation fold, by recording."""
    from sklearn.model_selection import StratifiedGroupKFold  # lazy: a slow import

    names = sorted(set(release.train) | set(release.val))
    recordings = sorted({recording_of(n) for n in names})
    if len(recordings) < n_folds:
        raise HarnessError(f"{len(recordings)} recordings cannot be cut into {n_folds} folds")
    group_id = {v: i for i, v in enumerate(recordings)}
    name_group = np.array([group_id[recording_of(n)] for n in names])
    sample_name, sample_label = _stratification_samples(release, names)
    group_ids = name_group[sample_name]
    cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    folds = []
    for k, (_, val_idx) in enumerate(cv.split(sample_label, sample_label, group_ids), start=1):
        in_val = np.isin(name_group, group_ids[val_idx])
        val = tuple(n for n, v in zip(names, in_val) if v)
        train = tuple(n for n, v in zip(names, in_val) if not v)
        folds.append(Split(f"fold{k}", train, val, seed))
    return folds


def _stratification_samples(release: Release, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A thinned set of (name index, label) pairs over valid frames; every name at least once."""
    idx, labels = [], []
    task = release.task
    total = sum(int(task.valid(release.labels(n)).sum()) for n in names)
    every = max(1, total // _STRATIFY_SAMPLES)
    for i, name in enumerate(names):
        valid = task.strata(release.labels(name))[::every]
        if valid.size == 0:  # keep the video in the folds even with no valid frame
            valid = np.array([0], dtype=np.int8)
        idx.append(np.full(valid.size, i))
        labels.append(valid)
    return np.concatenate(idx), np.concatenate(labels)


def check_split(name: str, *, allow_all: bool = False) -> tuple[str, ...]:
    """The split names ``name`` stands for (``all``: every one, where allowed), or an error:
    the one place a split name is checked."""
    if allow_all and name == ALL_SPLITS:
        return SPLIT_NAMES
    if name not in SPLIT_NAMES:
        choices = f"{ALL_SPLITS} or one of " if allow_all else "one of "
        raise HarnessError(f"unknown split {name!r}; choose {choices}{', '.join(SPLIT_NAMES)}")
    return (name,)


def get_split(release: Release, name: str, seed: int = FOLD_SEED,
              membership: Path | None = None) -> Split:
    """A split by name; from the ``membership`` file (``--folds``, a ``split.json``) if given."""
    check_split(name)
    if membership is not None:
        return read_membership(membership, release)[name]
    if name == "official":
        return official_split(release)
    return fold_splits(release, seed)[int(name[4:]) - 1]


def read_membership(path: Path, release: Release) -> dict[str, Split]:
    """Splits written by ``harness splits --write`` (all of them) or a run's ``split.json``.

    Every name must be an annotated name of ``release``, and no name may be on both sides: a
    file from another release, or edited by hand, is refused rather than half used.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReleaseFormatError(path, f"not a readable split membership file ({exc})") from None
    return membership_splits(data, release, path)


def membership_splits(data: object, release: Release, path: Path) -> dict[str, Split]:
    """The splits of a parsed membership object (``path`` names its origin in errors)."""
    entries = data.get("splits", [data]) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ReleaseFormatError(path, "expected a split membership object")
    annotated = set(release.train) | set(release.val)
    splits = {}
    for entry in entries:
        split = _membership_split(path, entry)
        unknown = sorted(set(split.train + split.val) - annotated)
        if unknown:
            raise ReleaseFormatError(path, f"split {split.name}: {len(unknown)} name(s) are not "
                                     f"annotated in this release, first {quoted(unknown[0])}")
        both = sorted(set(split.train) & set(split.val))
        if both:
            raise ReleaseFormatError(path, f"split {split.name}: {quoted(both[0])} is in train and "
                                     "validation")
        splits[split.name] = split
    return _SplitsOf(path, splits)


class _SplitsOf(dict):
    """The splits of one file; asking for one it lacks names the file."""

    def __init__(self, path: Path, splits: dict[str, Split]):
        super().__init__(splits)
        self.path = path

    def __missing__(self, name: str) -> Split:
        raise HarnessError(f"{self.path} holds no split {name!r} (it has "
                           f"{', '.join(self) or 'none'})")


#: A split's name goes into file names (stage-1 models, run folders): plain and short.
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _membership_split(path: Path, entry: object) -> Split:
    try:
        name, train, val = entry["name"], entry["train"], entry["val"]
        seed = entry.get("seed")
    except (TypeError, KeyError, AttributeError):
        raise ReleaseFormatError(path, "each split needs a name and train and val name lists"
                                 ) from None
    if not (isinstance(name, str) and _SPLIT_NAME.match(name)) or name.endswith("."):
        raise ReleaseFormatError(path, f"split name {quoted(str(name))}: a split name is 1 to 64 "
                                 "letters, digits, '_', '-' or '.' (it names files)")
    for side, names in (("train", train), ("val", val)):
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise ReleaseFormatError(path, f"split {name}: {side!r} must be a list of names")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed < 2**63):
        raise ReleaseFormatError(path, f"split {name}: seed {quoted(str(seed))} is not a "
                                 "non-negative integer")
    return Split(name, tuple(train), tuple(val), seed)


def class_counts(release: Release, names: tuple[str, ...]) -> np.ndarray:
    """Valid-frame counts per EXPR class over ``names`` (an EXPR release's)."""
    counts = np.zeros(NUM_CLASSES, dtype=np.int64)
    for n in names:
        lab = release.labels(n)
        counts += np.bincount(lab[lab >= 0], minlength=NUM_CLASSES)
    return counts


def split_summary(release: Release, split: Split) -> dict:
    """Per part: videos, recordings, frames, labelled frames and the task's label summary
    (EXPR: ``class_counts`` as a list in class order, as before)."""
    out = {}
    task = release.task
    for part in ("train", "val"):
        names = getattr(split, part)
        arrays = [release.labels(n) for n in names]
        summary = task.summary(arrays)
        out[part] = {
            "videos": len(names),
            "underlying_videos": len({video_of(n) for n in names}),
            "recordings": len({recording_of(n) for n in names}),
            "frames": int(sum(len(a) for a in arrays)),
            "labelled_frames": summary.pop("valid_frames"),
        }
        counts = summary.pop("class_counts", None)
        if counts is not None:
            summary["class_counts"] = list(counts.values())
        out[part] |= summary
    return out
