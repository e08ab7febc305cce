"""The feature cache: computed once per (name, extractor, config hash), memory-mapped on read.

Layout: ``<root>/<extractor>-<hash>/config.json`` and, per name,
``<name>/{feat,time,flag}.npy`` plus ``<name>/done.json`` written last. A name counts as
cached only when its marker exists and its arrays load with the recorded shapes, so a run killed
mid-write (or a file truncated by a crash) is detected and rebuilt, never read half-written.
Only an entry proven damaged (a file shorter than its own header says, an unreadable header, a
shape that disagrees with the marker) is removed: a read error that may pass (an I/O error on
shared storage while another process reads the same entry) is raised and the entry is kept.
Shards of a cluster job array write disjoint names and never touch a shared manifest.

Inputs: the folder key holds the configuration; what one name's entry was computed from (its
face images, its video, its OpenPose files: an ``Inputs`` given by the extractor) is recorded in
its ``done.json``. An entry whose recorded inputs differ from the current ones is stale: it is
removed and recomputed, with one warning naming the names and what changed. A packed table
records the stamp of every entry it holds, so a recomputed entry is never read from an old table.

Provenance: each ``done.json`` also records the digest of the entry's arrays and who made it
(``harness.provenance``: version, torch, CPU capability, threads, device, seed), beside the key,
never in it; ``set_provenance`` sums them up for the names a run read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock

from harness.atomic import ensure_free_space, save_npy, write_json
from harness.errors import HarnessError
from harness.features.inputs import Inputs
from harness.paths import harness_home, safe_child
from harness.provenance import digest_arrays, digest_of, producer

if TYPE_CHECKING:
    from harness.data.release import Release


@dataclass(frozen=True)
class Features:
    feat: np.ndarray  # (rows, dim) float32
    time: np.ndarray  # (rows,) seconds
    flag: np.ndarray  # (rows,) bool: imputed (no face / no audio / no person)


def _few(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def cache_root(release: Release) -> Path:
    """Every cache of one release (data set and fingerprint) lives below this folder."""
    return harness_home() / "cache" / f"{release.dataset}-{release.fingerprint}"


def config_hash(config: dict) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


class DamagedEntry(HarnessError):
    """A cache entry proven truncated or corrupt; it was removed and will be rebuilt."""


class FeatureCache:
    """One extractor's cache folder; ``config`` identifies everything the features depend on."""

    def __init__(self, root: Path, extractor: str, config: dict,
                 inputs: Callable[[str], Inputs] | None = None):
        self.extractor = extractor
        self.config = config
        self.inputs = inputs  # None: the entries depend on the configuration alone
        self._current: dict[str, Inputs] = {}
        self.key = f"{extractor}-{config_hash(config)}"
        self.dir = Path(root) / self.key
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "config.json").exists():
            write_json(self.dir / "config.json", {"extractor": extractor, "config": config})

    def _folder(self, name: str) -> Path:
        return safe_child(self.dir, name)

    def has(self, name: str) -> bool:
        """Whether a complete, current entry exists; a stale one is removed (see ``stale``)."""
        return self._check(name) is None

    def _check(self, name: str) -> str | None:
        """None for a complete, current entry; else why not (a stale entry is removed)."""
        try:
            self.load(name)
        except (FileNotFoundError, DamagedEntry):
            return "missing"
        if self.inputs is None:
            return None
        why = self._inputs_of(name).changes(self._marker(name).get("inputs"))
        if why is not None:
            self.invalidate(name)
        return why

    def missing(self, names: list[str]) -> list[str]:
        """Names without a current entry; warns once naming those whose inputs changed."""
        out, stale = [], {}
        for name in names:
            why = self._check(name)
            if why is not None:
                out.append(name)
                if why != "missing":
                    stale.setdefault(why, []).append(name)
        if stale:
            count = sum(map(len, stale.values()))
            reasons = "; ".join(f"{_few(group)}: {why}" for why, group in stale.items())
            warnings.warn(f"{self.extractor}: the inputs of {count} cached name(s) changed "
                          f"since they were computed; recomputing them. {reasons}", stacklevel=2)
        return out

    def _inputs_of(self, name: str) -> Inputs:
        if name not in self._current:
            self._current[name] = self.inputs(name)
        return self._current[name]

    def _marker(self, name: str) -> dict:
        try:
            meta = json.loads((self._folder(name) / "done.json").read_text())
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def stamp(self, name: str) -> str:
        """A token that changes each time the entry of ``name`` is written (packed tables)."""
        return str(self._marker(name).get("stamp", ""))

    def load(self, name: str) -> Features:
        """The entry of ``name``, memory-mapped.

        Raises ``FileNotFoundError`` (not cached), ``DamagedEntry`` (proven damaged: removed)
        or ``HarnessError`` (a read error that may pass: the entry is left as it is).
        """
        folder = self._folder(name)
        try:
            meta = json.loads((folder / "done.json").read_text())
            shape = tuple(meta["feat_shape"])
        except FileNotFoundError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            self._remove_damaged(name, f"unreadable marker ({exc})")
        except OSError as exc:
            raise self._read_error(folder, exc) from None
        try:
            arrays = {k: np.load(folder / f"{k}.npy", mmap_mode="r", allow_pickle=False)
                      for k in ("feat", "time", "flag")}
        except FileNotFoundError:
            self._remove_damaged(name, "a file of the entry is missing")
        except (OSError, ValueError) as exc:
            damage = _damage(folder)
            if damage is None:  # every file is whole: the error is not the entry's
                raise self._read_error(folder, exc) from None
            self._remove_damaged(name, damage)
        if arrays["feat"].shape != shape:
            self._remove_damaged(name, "the features do not match the marker's shape")
        return Features(**arrays)

    def _remove_damaged(self, name: str, why: str):
        self.invalidate(name)
        raise DamagedEntry(f"{self._folder(name)}: damaged cache entry removed ({why})")

    @staticmethod
    def _read_error(folder: Path, exc: OSError | ValueError) -> HarnessError:
        return HarnessError(f"{folder}: could not read the cache entry ({exc}); it was left in "
                            "place (the files are whole). Retry once the storage answers")

    def save(self, name: str, feat: np.ndarray, time: np.ndarray, flag: np.ndarray) -> None:
        feat = np.asarray(feat, dtype=np.float32)
        if feat.ndim != 2 or feat.shape[0] != len(time) or len(time) != len(flag):
            raise ValueError(f"{name}: feat {feat.shape}, time {len(time)}, flag {len(flag)}")
        bad = ~np.isfinite(feat)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise HarnessError(f"{self.extractor} features of {name}: NaN or inf at row {row} "
                               f"(t = {float(time[row]):.2f} s); refusing to cache them")
        time, flag = np.asarray(time, dtype=np.float64), np.asarray(flag, dtype=bool)
        folder = self._folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        # Concurrent runs may compute the same entry: the first to finish wins and a valid
        # entry is never rewritten, so readers never see one change under them.
        with FileLock(str(folder) + ".lock"):
            if self.has(name):
                return
            (folder / "done.json").unlink(missing_ok=True)
            save_npy(folder / "feat.npy", feat)
            save_npy(folder / "time.npy", time)
            save_npy(folder / "flag.npy", flag)
            meta = {"feat_shape": list(feat.shape), "stamp": uuid.uuid4().hex,
                    "digest": digest_arrays(feat, time, flag), "made_by": producer()}
            if self.inputs is not None:
                meta["inputs"] = self._inputs_of(name).record()
            write_json(folder / "done.json", meta)

    def entry_provenance(self, name: str) -> dict:
        """The digest of the entry of ``name`` and who made it (None for an entry cached
        before provenance was recorded: its digest is then computed from its arrays)."""
        meta = self._marker(name)
        digest = meta.get("digest")
        if not isinstance(digest, str):
            e = self.load(name)
            digest = digest_arrays(e.feat, e.time, e.flag)
        made_by = meta.get("made_by")
        return {"digest": digest, "made_by": made_by if isinstance(made_by, dict) else None}

    def invalidate(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self._folder(name))

    def size_bytes(self) -> int:
        """Bytes of the cached entries (packed tables not counted)."""
        return sum(p.stat().st_size for p in self.dir.glob("*/*.npy"))

    def pack(self, keys: list[str]) -> Packed:
        """The entries ``keys`` as one memory-mapped table (see ``pack_entries``)."""
        return pack_entries(self, keys)


def set_provenance(cache, keys: list[str]) -> dict:
    """What a run read of ``cache`` (a ``FeatureCache`` or a view with ``entry_provenance``):
    the cache folder, one digest of the entries ``keys`` and each distinct maker of them
    (None: cached before provenance was recorded)."""
    keys = sorted(set(keys))
    entries = {k: cache.entry_provenance(k) for k in keys}
    makers: list = []
    for e in entries.values():
        if e["made_by"] not in makers:
            makers.append(e["made_by"])
    return {"cache": Path(cache.dir).name, "entries": len(keys),
            "digest": digest_of(f"{k}:{e['digest']}" for k, e in entries.items()),
            "made_by": makers}


def pack_entries(cache, keys: list[str]) -> Packed:
    """The entries ``keys`` of ``cache`` as one memory-mapped table, built once and reused.

    Training gathers rows of many entries per batch; one table on disk makes that a single
    indexing operation without ever holding all features in memory. ``cache`` is anything
    with ``dir``, ``extractor``, ``load`` and ``missing`` (a ``FeatureCache``, or a view that
    serves names from several caches); its ``stamp``, if it has one, makes a table holding a
    rewritten entry be rebuilt.
    """
    keys = sorted(set(keys))
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
    folder = cache.dir / PACKED_DIR / digest
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        stamp = getattr(cache, "stamp", lambda key: "")  # a view without stamps: keys only
        stamps = [stamp(k) for k in keys]
        packed = _read_packed(folder, keys, stamps)
        if packed is None:
            missing = cache.missing(keys)
            if missing:
                raise HarnessError(f"{cache.extractor}: no cached features for "
                                   f"{len(missing)} name(s), e.g. {missing[:3]}; extract "
                                   "them first (harness extract)")
            _write_packed(folder, [cache.load(k) for k in keys], keys, stamps)
            packed = _read_packed(folder, keys, stamps)
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


def _write_packed(folder: Path, entries: list[Features], keys: list[str],
                  stamps: list[str]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sizes = np.array([e.feat.shape[0] for e in entries], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    dims = {e.feat.shape[1] for e in entries}
    if len(dims) > 1:
        raise HarnessError(f"{folder.parent.parent}: entries have different feature sizes "
                           f"{sorted(dims)}; clear the cache folder")
    tmp = folder / "feat.npy.tmp"
    ensure_free_space(folder, int(starts[-1]) * (4 * next(iter(dims), 0) + 9), str(tmp))
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
    write_json(folder / "done.json", {"keys": keys, "stamps": stamps})


def _read_packed(folder: Path, keys: list[str], stamps: list[str]) -> Packed | None:
    marker = folder / "done.json"
    try:
        meta = json.loads(marker.read_text())
        if meta.get("keys") != keys or meta.get("stamps") != stamps:  # an entry was rewritten
            return None
    except (OSError, ValueError, AttributeError):  # absent or damaged: rebuilt from the entries
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


_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def _damage(folder: Path) -> str | None:
    """Why the entry's ``.npy`` files are damaged, or None when each is whole.

    Whole: the header parses and the file holds exactly the bytes the header announces. This
    reads only headers, so it tells a truncated file from a storage error that may pass.
    """
    for key in ("feat", "time", "flag"):
        path = folder / f"{key}.npy"
        try:
            with open(path, "rb") as fh:
                read_header = _HEADER_READERS.get(np.lib.format.read_magic(fh))
                if read_header is None:
                    return f"{path.name} has an unknown .npy format version"
                shape, _fortran, dtype = read_header(fh)
                need = fh.tell() + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            size = path.stat().st_size
        except FileNotFoundError:
            return f"{path.name} is missing"
        except OSError:
            return None  # cannot tell: treat as a read error, never as damage
        except ValueError as exc:
            return f"{path.name} has an unreadable header ({exc})"
        if size != need:
            return f"{path.name} holds {size} bytes, its header announces {need}"
    return None
