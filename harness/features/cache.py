"""The feature cache: computed once per (name, extractor, config hash), memory-mapped on read.

Layout: ``<root>/<extractor>-<hash>/config.json`` and, per name,
``<name>/{feat,time,flag}.npy`` plus ``<name>/done.json`` written last. A name counts as
cached only when its marker exists and its arrays load with the recorded shapes, so a run killed
mid-write (or a file truncated by a crash) is detected and rebuilt, never read half-written.
Only an entry proven damaged (a file shorter than its own header says, an unreadable header, a
shape that disagrees with the marker) is removed: a read error that may pass (an I/O error on
shared storage while another process reads the same entry) is raised and the entry is kept.
Shards of a cluster job array write disjoint names and never touch a shared manifest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock

from harness.atomic import save_npy, write_json
from harness.errors import HarnessError
from harness.paths import safe_child


@dataclass(frozen=True)
class Features:
    feat: np.ndarray  # (rows, dim) float32
    time: np.ndarray  # (rows,) seconds
    flag: np.ndarray  # (rows,) bool: imputed (no face / no audio / no person)


def config_hash(config: dict) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


class DamagedEntry(HarnessError):
    """A cache entry proven truncated or corrupt; it was removed and will be rebuilt."""


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
        """Whether a complete entry exists; a read error that may be transient is raised."""
        try:
            self.load(name)
        except (FileNotFoundError, DamagedEntry):
            return False
        return True

    def missing(self, names: list[str]) -> list[str]:
        return [n for n in names if not self.has(n)]

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
        return sum(p.stat().st_size for p in self.dir.rglob("*.npy"))


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
