"""Which frames of a name have a ``cropped_aligned`` face image, without opening any image.

Frames with no detected face have no jpg, also inside a video; the standard practice (and
ours) is to use the nearest frame that has one. Real releases spread faces over several image
roots, so every root is consulted.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np


class FaceIndex:
    """Lazy per-name listing of ``<root>/<name>/<NNNNN>.jpg`` across image roots.

    Kept compact (a frame array and a root index per name, about 10 bytes a face) so that the
    whole real release (2.6 M faces) can be listed at once for coverage checks.
    """

    def __init__(self, image_roots: tuple[Path, ...]):
        self.image_roots = tuple(Path(r) for r in image_roots)
        self._frames: dict[str, np.ndarray] = {}
        self._roots: dict[str, np.ndarray] = {}
        self._sizes: dict[str, np.ndarray] = {}

    def frames(self, name: str) -> np.ndarray:
        """Sorted 1-based frame numbers that have a jpg."""
        if name not in self._frames:
            self._scan(name)
        return self._frames[name]

    def path(self, name: str, frame: int) -> Path:
        have = self.frames(name)
        i = int(np.searchsorted(have, int(frame)))
        if i == have.size or have[i] != int(frame):
            raise KeyError(f"{name}: frame {frame} has no face image")
        return self.image_roots[int(self._roots[name][i])] / name / f"{int(frame):05d}.jpg"

    def nearest(self, name: str, n_frames: int) -> np.ndarray:
        """For frames 1..n, the nearest frame with a face (ties go to the earlier); 0 if none."""
        have = self.frames(name)
        return nearest_frames(have, n_frames)

    def sizes(self, name: str) -> np.ndarray:
        """Byte size of each face image of ``name`` (in ``frames`` order); one stat a file."""
        if name not in self._sizes:
            have, roots = self.frames(name), self._roots[name]
            self._sizes[name] = np.array(
                [_size(self.image_roots[int(r)] / name / f"{int(f):05d}.jpg")
                 for f, r in zip(have.tolist(), roots.tolist())], dtype=np.int64)
        return self._sizes[name]

    def digest(self, name: str) -> str:
        """What features computed from ``name``'s faces depend on, without opening an image:
        which frames have a face and each file's size. Modification times are left out, so a
        copied release (new times, same files) keeps its cached features."""
        blob = self.frames(name).astype("<i8").tobytes() + self.sizes(name).astype("<i8").tobytes()
        return hashlib.sha256(blob).hexdigest()[:16]

    def summary(self, name: str) -> str:
        """``312 face images, 1.2 MB``: what a staleness message shows of the faces."""
        return f"{self.frames(name).size} face images, {self.sizes(name).sum() / 1e6:.1f} MB"

    def _scan(self, name: str) -> None:
        where: dict[int, int] = {}
        for r, root in enumerate(self.image_roots):
            folder = root / name
            if not folder.is_dir():
                continue
            with os.scandir(folder) as it:
                for e in it:
                    stem, dot, ext = e.name.partition(".")
                    if ext.lower() == "jpg" and stem.isdigit():
                        where.setdefault(int(stem), r)
        frames = np.array(sorted(where), dtype=np.int64)
        self._frames[name] = frames
        self._roots[name] = np.array([where[f] for f in frames.tolist()], dtype=np.int16)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # removed since the listing: as if empty (the reader finds no face)
        return -1


def nearest_frames(have: np.ndarray, n_frames: int) -> np.ndarray:
    """Vectorised nearest-neighbour lookup of frames 1..n_frames among sorted ``have``."""
    t = np.arange(1, n_frames + 1)
    if have.size == 0:
        return np.zeros(n_frames, dtype=np.int64)
    right = np.clip(np.searchsorted(have, t), 0, have.size - 1)
    left = np.clip(right - 1, 0, have.size - 1)
    pick_left = np.abs(t - have[left]) <= np.abs(have[right] - t)
    return np.where(pick_left, have[left], have[right])
