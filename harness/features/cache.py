"""The feature cache: computed once per (name, extractor, config hash), memory-mapped on read.

Layout: ``<root>/<extractor>-<hash>/config.json`` and, per name,
``<name>/{feat,time,flag}.npy`` plus ``<name>/done.json`` written last. A name counts as
cached only when its marker exists and its arrays load with the recorded shapes, so a run killed
mid-write (or a file truncated by a crash) is detected and rebuilt, never read half-written.
Shards of a cluster job array write disjoint names and never touch a shared manifest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock

from harness.atomic import save_npy, write_json
from harness.errors import HarnessError
from harness.paths import harness_home, safe_child

if TYPE_CHECKING:
    from harness.data.release import Release


@dataclass(frozen=True)
class Features:
    feat: np.ndarray  # (rows, dim) float32
    time: np.ndarray  # (rows,) seconds
    flag: np.ndarray  # (rows,) bool: imputed (no face / no audio / no person)


def cache_root(release: Release) -> Path:
    """Every cache of one release (data set and fingerprint) lives below this folder."""
    return harness_home() / "cache" / f"{release.dataset}-{release.fingerprint}"


def config_hash(config: dict) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


class FeatureCache:
    """One extractor's cache folder; ``config`` identifies everything the features depend on."""

    def __init__(self, root: Path, extractor: str, config: dict):
        self.extractor = extractor
        self.config = config
        self.key = f"{extractor}-{config_hash(config)}"
        self.dir = Path(root) / self.key
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "config.json").exists():
            write_json(self.dir / "config.json", {"extractor": extractor, "config": config})

    def _folder(self, name: str) -> Path:
        return safe_child(self.dir, name)

    def has(self, name: str) -> bool:
        try:
            self.load(name)
        except (FileNotFoundError, HarnessError):
            return False
        return True

    def missing(self, names: list[str]) -> list[str]:
        return [n for n in names if not self.has(n)]

    def load(self, name: str) -> Features:
        folder = self._folder(name)
        marker = folder / "done.json"
        meta = json.loads(marker.read_text())
        try:
            arrays = {k: np.load(folder / f"{k}.npy", mmap_mode="r", allow_pickle=False)
                      for k in ("feat", "time", "flag")}
        except (OSError, ValueError) as exc:  # truncated or damaged by a crash
            self.invalidate(name)
            raise HarnessError(f"{folder}: damaged cache entry removed ({exc})") from None
        if arrays["feat"].shape != tuple(meta["feat_shape"]):
            self.invalidate(name)
            raise HarnessError(f"{folder}: cache entry does not match its marker; removed")
        return Features(**arrays)

    def save(self, name: str, feat: np.ndarray, time: np.ndarray, flag: np.ndarray) -> None:
        feat = np.asarray(feat, dtype=np.float32)
        if feat.ndim != 2 or feat.shape[0] != len(time) or len(time) != len(flag):
            raise ValueError(f"{name}: feat {feat.shape}, time {len(time)}, flag {len(flag)}")
        bad = ~np.isfinite(feat)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise HarnessError(f"{self.extractor} features of {name}: NaN or inf at row {row} "
                               f"(t = {float(time[row]):.2f} s); refusing to cache them")
        folder = self._folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        # Concurrent runs may compute the same entry: the first to finish wins and a valid
        # entry is never rewritten, so readers never see one change under them.
        with FileLock(str(folder) + ".lock"):
            if self.has(name):
                return
            (folder / "done.json").unlink(missing_ok=True)
            save_npy(folder / "feat.npy", feat)
            save_npy(folder / "time.npy", np.asarray(time, dtype=np.float64))
            save_npy(folder / "flag.npy", np.asarray(flag, dtype=bool))
            write_json(folder / "done.json", {"feat_shape": list(feat.shape)})

    def invalidate(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self._folder(name))

    def size_bytes(self) -> int:
        """Bytes of the cached entries (packed tables not counted)."""
        return sum(p.stat().st_size for p in self.dir.glob("*/*.npy"))

    def pack(self, keys: list[str]) -> Packed:
        """The entries ``keys`` as one memory-mapped table, built once and reused.

        Training gathers rows of many entries per batch; one table on disk makes that a single
        indexing operation without ever holding all features in memory.
        """
        keys = sorted(set(keys))
        digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
        folder = self.dir / PACKED_DIR / digest
        folder.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder) + ".lock"):
            packed = _read_packed(folder, keys)
            if packed is None:
                missing = self.missing(keys)
                if missing:
                    raise HarnessError(f"{self.extractor}: no cached features for "
                                       f"{len(missing)} name(s), e.g. {missing[:3]}; extract "
                                       "them first (harness extract)")
                _write_packed(folder, [self.load(k) for k in keys], keys)
                packed = _read_packed(folder, keys)
        return packed


PACKED_DIR = ".packed"


@dataclass(frozen=True)
class Packed:
    """Cache entries in one table: entry ``keys[i]`` holds rows ``starts[i]:starts[i + 1]``."""

    keys: tuple[str, ...]
    starts: np.ndarray  # (entries + 1,) int64
    feat: np.ndarray  # (rows, dim) float32, memory-mapped
    time: np.ndarray  # (rows,) float64
    flag: np.ndarray  # (rows,) bool

    def entry(self, key: str) -> int:
        i = int(np.searchsorted(np.asarray(self.keys), key))
        if i >= len(self.keys) or self.keys[i] != key:
            raise KeyError(key)
        return i


def _write_packed(folder: Path, entries: list[Features], keys: list[str]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sizes = np.array([e.feat.shape[0] for e in entries], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    dims = {e.feat.shape[1] for e in entries}
    if len(dims) > 1:
        raise HarnessError(f"{folder.parent.parent}: entries have different feature sizes "
                           f"{sorted(dims)}; clear the cache folder")
    tmp = folder / "feat.npy.tmp"
    table = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32,
                                      shape=(int(starts[-1]), dims.pop() if dims else 0))
    for e, a, b in zip(entries, starts[:-1], starts[1:]):
        table[a:b] = e.feat
    table.flush()
    del table
    os.replace(tmp, folder / "feat.npy")
    save_npy(folder / "time.npy", _cat([e.time for e in entries], np.float64))
    save_npy(folder / "flag.npy", _cat([e.flag for e in entries], bool))
    save_npy(folder / "starts.npy", starts)
    write_json(folder / "done.json", {"keys": keys})


def _read_packed(folder: Path, keys: list[str]) -> Packed | None:
    marker = folder / "done.json"
    if not marker.is_file() or json.loads(marker.read_text()).get("keys") != keys:
        return None
    try:
        packed = Packed(tuple(keys), np.load(folder / "starts.npy"),
                        np.load(folder / "feat.npy", mmap_mode="r"), np.load(folder / "time.npy"),
                        np.load(folder / "flag.npy"))
    except (OSError, ValueError):  # damaged: rebuilt from the entries, which are the truth
        return None
    rows = int(packed.starts[-1])
    if packed.feat.shape[0] != rows or packed.time.size != rows or packed.flag.size != rows:
        return None
    return packed


def _cat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)
