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
        return sum(p.stat().st_size for p in self.dir.rglob("*.npy"))
