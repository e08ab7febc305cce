"""Cross-fitted (out-of-fold) stage-1 face features for the training names (``--face-oof K``).

Stage 1 is fine-tuned on the training names, so the features it extracts for those same names
are in-sample: the fusion models learn how far to trust a face from features the face model has
memorised, then meet weaker features at validation and test (stacking leakage). The paper does
this, so it stays available ("in-sample"); cross-fitting is the honest alternative:

- the training names are cut into K groups by recording (``recording_of``: a person's segments
  and ``_left``/``_right`` stay in one group), balanced by labelled frames, deterministically;
- K face models are fine-tuned on K-1 groups each (validated on the split's validation names,
  as the full model is), and each group's features come from the model that did not see it;
- validation and test features come from the model fine-tuned on all training names: the very
  entries an in-sample run uses, shared with it.

The cross-fitted entries live in their own cache, keyed by the K models, so in-sample and
cross-fitted training features never mix; ``CrossFitCache`` serves a run both kinds by name.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from harness.data.release import Release
from harness.data.splits import Split
from harness.data.videos import recording_of
from harness.errors import HarnessError
from harness.features.cache import FeatureCache, Features, Packed, pack_entries

IN_SAMPLE = "in-sample"


def face_fit(k: int) -> str:
    """How training names' face features were made: ``in-sample`` (k = 0) or ``oof<k>``."""
    return IN_SAMPLE if not k else f"oof{k}"


def oof_group_count(train: tuple[str, ...], k: int) -> int:
    """``k``, or the number of training recordings when there are fewer (with a warning).

    Small corpora (the embedded one at ``--videos 8`` has 4 training recordings) then still
    cross-fit; a single recording cannot be cross-fitted at all.
    """
    if k < 2:
        raise HarnessError(f"--face-oof takes K >= 2 groups (0: in-sample features), not {k}")
    n = len({recording_of(name) for name in train})
    if n < 2:
        raise HarnessError(f"cross-fitted face features need at least 2 training recordings; "
                           f"this split has {n} (pass --face-oof 0 for in-sample features)")
    if n < k:
        warnings.warn(f"--face-oof {k}: the training names hold only {n} recordings; "
                      f"cross-fitting over {n} groups", stacklevel=2)
    return min(n, k)


def oof_groups(release: Release, names: tuple[str, ...], k: int) -> list[tuple[str, ...]]:
    """``names`` cut into ``k`` groups of whole recordings, balanced by labelled frames.

    Greedy and without randomness (largest recording first, into the lightest group), so the
    groups never depend on a library version.
    """
    if k < 2:
        raise HarnessError(f"--face-oof takes K >= 2 groups (0: in-sample features), not {k}")
    by_recording: dict[str, list[str]] = {}
    for name in sorted(names):
        by_recording.setdefault(recording_of(name), []).append(name)
    if len(by_recording) < k:
        raise HarnessError(f"--face-oof {k}: the training names hold only {len(by_recording)} "
                           f"recording(s), fewer than {k} groups")
    weight = {r: sum(int((release.labels(n) >= 0).sum()) for n in ns)
              for r, ns in by_recording.items()}
    groups: list[list[str]] = [[] for _ in range(k)]
    load = np.zeros(k, np.int64)
    for rec in sorted(by_recording, key=lambda r: (-weight[r], r)):
        g = int(np.argmin(load))
        groups[g] += by_recording[rec]
        load[g] += weight[rec]
    return [tuple(sorted(g)) for g in groups]


def oof_splits(release: Release, split: Split, k: int) -> list[tuple[Split, tuple[str, ...]]]:
    """Per group: the split its face model trains on (the other groups) and the group itself.

    ``k`` groups (see ``oof_group_count`` for fewer recordings than that).
    """
    k = oof_group_count(split.train, k)
    out = []
    for i, group in enumerate(oof_groups(release, split.train, k), start=1):
        held_out = set(group)
        train = tuple(n for n in split.train if n not in held_out)
        out.append((Split(f"{split.name}-oof{i}of{k}", train, split.val, split.seed), group))
    return out


class CrossFitCache:
    """A run's face features by name: training names cross-fitted, the others from ``full``.

    Quacks like ``FeatureCache`` for readers (``load``, ``has``, ``missing``, ``dir``,
    ``pack``).
    """

    def __init__(self, full: FeatureCache, oof: FeatureCache, train: tuple[str, ...], fit: str):
        self.full, self.oof, self.train, self.fit = full, oof, frozenset(train), fit
        self.extractor, self.key, self.dir = oof.extractor, oof.key, oof.dir

    def _of(self, name: str) -> FeatureCache:
        return self.oof if name in self.train else self.full

    def load(self, name: str) -> Features:
        return self._of(name).load(name)

    def has(self, name: str) -> bool:
        return self._of(name).has(name)

    def missing(self, names: list[str]) -> list[str]:
        return [n for n in names if not self.has(n)]

    def stamp(self, name: str) -> str:
        return self._of(name).stamp(name)

    def entry_provenance(self, name: str) -> dict:
        return self._of(name).entry_provenance(name)

    def size_bytes(self) -> int:
        return self.full.size_bytes() + self.oof.size_bytes()

    def pack(self, keys: list[str]) -> Packed:
        """One table of these names' features, each from the cache that serves it."""
        return pack_entries(self, keys)

    @property
    def dirs(self) -> tuple[Path, Path]:
        return self.full.dir, self.oof.dir


def fit_of(cache: FeatureCache | CrossFitCache) -> str:
    """``in-sample``, ``oof<K>`` (the groups really used) or, for a frozen backbone's cache,
    ``frozen``: what ``run.json`` records."""
    if isinstance(cache, CrossFitCache):
        return cache.fit
    return cache.config.get("fit", IN_SAMPLE)
