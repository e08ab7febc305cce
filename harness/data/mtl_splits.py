"""MTL splits: the official train/validation files, and five folds grouped by recording.

A row's "name" is its image's video folder (``video45_1``). The folds pool the rows of both
annotation files and cut them with the same code and seed as the per-video tasks'
(``harness.data.splits``: ``StratifiedGroupKFold``, ``FOLD_SEED``, grouped by
``recording_of``, so ``x_left``/``x_right`` and a recording's segments stay on one side),
stratified on each row's expression class (rows without one: their own stratum). A video whose
rows appear in both official files is one group: all its rows go to the same side of a fold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.data.mtl import N_CLASSES, MtlLabels, MtlRelease
from harness.data.splits import FOLD_SEED, N_FOLDS, SPLIT_NAMES, Split
from harness.data.videos import recording_of
from harness.errors import HarnessError

_STRATIFY_SAMPLES = 50_000


def mtl_official_split(release: MtlRelease) -> Split:
    """The video folders of the training file vs those of the validation file."""
    return Split("official", tuple(sorted(set(release.train.videos))),
                 tuple(sorted(set(release.val.videos))))


def mtl_fold_splits(release: MtlRelease, seed: int = FOLD_SEED,
                    n_folds: int = N_FOLDS) -> list[Split]:
    """Five re-splits of the pooled rows: every video in exactly one validation fold."""
    from sklearn.model_selection import StratifiedGroupKFold  # lazy: a slow import

    videos = np.concatenate([release.train.videos, release.val.videos])
    strata = np.concatenate([release.train.expr, release.val.expr]).astype(np.int64)
    strata[strata < 0] = N_CLASSES  # rows without an expression label
    names = sorted(set(videos))
    recordings = pd.Series([recording_of(n) for n in names], index=names)
    if recordings.nunique() < n_folds:
        raise HarnessError(f"{recordings.nunique()} recordings cannot be cut into {n_folds} "
                           "folds")
    group = pd.Series(videos).map(recordings).to_numpy(object)
    every = max(1, len(videos) // _STRATIFY_SAMPLES)
    keep = np.zeros(len(videos), dtype=bool)
    keep[::every] = True
    keep[pd.Series(videos).drop_duplicates().index.to_numpy()] = True  # every video once
    g, s = group[keep], strata[keep]
    cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    out = []
    for k, (_, val_idx) in enumerate(cv.split(s, s, g), start=1):
        held = set(g[val_idx])
        val = tuple(n for n in names if recordings[n] in held)
        train = tuple(n for n in names if recordings[n] not in held)
        out.append(Split(f"fold{k}", train, val, seed))
    return out


def get_mtl_split(release: MtlRelease, name: str, seed: int = FOLD_SEED) -> Split:
    if name not in SPLIT_NAMES:
        raise HarnessError(f"unknown split {name!r}; choose one of {', '.join(SPLIT_NAMES)}")
    if name == "official":
        return mtl_official_split(release)
    return mtl_fold_splits(release, seed)[int(name[4:]) - 1]


def split_rows(release: MtlRelease, split: Split) -> tuple[MtlLabels, MtlLabels]:
    """The rows of ``split``'s training and validation videos. The official split keeps the
    two files as they are; a fold takes every row of its videos from both files."""
    if split.name == "official":
        return release.train, release.val
    pooled = _pooled(release)
    in_val = pd.Series(pooled.videos).isin(set(split.val)).to_numpy()
    return pooled.select(~in_val), pooled.select(in_val)


def _pooled(release: MtlRelease) -> MtlLabels:
    a, b = release.train, release.val
    return MtlLabels(a.path, *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in
                               ("images", "videos", "frames", "va", "expr", "au")))
