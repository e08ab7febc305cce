"""The official split and the paper's five video-level re-splits, seeded and auditable.

The seed paper pooled Train_Set and Validation_Set and cut five folds without a seed, so its
folds cannot be rebuilt. Ours are seeded, grouped by underlying video (``x_left`` and
``x_right`` never straddle train and validation), stratified by frame labels as far as video
grouping allows, and written to a membership file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from harness.data.labels import NUM_CLASSES
from harness.data.release import Release
from harness.data.videos import video_of
from harness.errors import HarnessError

N_FOLDS = 5
FOLD_SEED = 2023  # ABAW5's year; any fixed value would do, what matters is that there is one
SPLIT_NAMES: tuple[str, ...] = ("official", *(f"fold{k}" for k in range(1, N_FOLDS + 1)))
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
    names = sorted(set(release.train) | set(release.val))
    videos = sorted({video_of(n) for n in names})
    if len(videos) < n_folds:
        raise HarnessError(f"{len(videos)} videos cannot be cut into {n_folds} folds")
    video_id = {v: i for i, v in enumerate(videos)}
    name_group = np.array([video_id[video_of(n)] for n in names])
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
    total = sum(int((release.labels(n) >= 0).sum()) for n in names)
    every = max(1, total // _STRATIFY_SAMPLES)
    for i, name in enumerate(names):
        lab = release.labels(name)
        valid = lab[lab >= 0][::every]
        if valid.size == 0:  # keep the video in the folds even with no valid frame
            valid = np.array([0], dtype=np.int8)
        idx.append(np.full(valid.size, i))
        labels.append(valid)
    return np.concatenate(idx), np.concatenate(labels)


def get_split(release: Release, name: str, seed: int = FOLD_SEED) -> Split:
    if name == "official":
        return official_split(release)
    if name in SPLIT_NAMES:
        return fold_splits(release, seed)[int(name[4:]) - 1]
    raise HarnessError(f"unknown split {name!r}; choose one of {', '.join(SPLIT_NAMES)}")


def class_counts(release: Release, names: tuple[str, ...]) -> np.ndarray:
    """Valid-frame counts per class over ``names``."""
    counts = np.zeros(NUM_CLASSES, dtype=np.int64)
    for n in names:
        lab = release.labels(n)
        counts += np.bincount(lab[lab >= 0], minlength=NUM_CLASSES)
    return counts


def split_summary(release: Release, split: Split) -> dict:
    out = {}
    for part in ("train", "val"):
        names = getattr(split, part)
        counts = class_counts(release, names)
        out[part] = {
            "videos": len(names),
            "underlying_videos": len({video_of(n) for n in names}),
            "frames": int(sum(release.labels(n).size for n in names)),
            "labelled_frames": int(counts.sum()),
            "class_counts": counts.tolist(),
        }
    return out
