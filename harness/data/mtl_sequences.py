"""The MTL release (s-Aff-Wild2) as per-video sequences: what training, prediction and
``harness submit --task mtl`` read.

s-Aff-Wild2 gives sparse images of videos (rows ``<video>/<NNNNN>.jpg``, ``harness.data.mtl``).
Here each video folder becomes one name of a ``Release``, so that stage 1, the feature caches,
windows, chunks, the one training loop and the run folders serve MTL as they serve the
per-video tasks:

- a name's frames are 1..N, N its last listed image's frame number; its labels are the MTL
  task's 15 values per frame (``[valence, arousal, expression, AU1..AU26]``) at the frames of
  its rows and the "no label" row (``-5, -5, -1, -1 x 12``) at every other frame, so a frame
  between two images is never trained on or scored;
- its faces are the images the release lists for it, and no others: a real s-Aff-Wild2
  folder holds only those, and the embedded corpus (whose MTL rows point into the shared face
  folder of every frame) must not give MTL features the frames in between. A frame without an
  image takes the nearest listed image's feature, as everywhere in the harness;
- the test names are the test list's video folders, each N frames long (its last test image);
  a submission takes the predictions at the listed images only (``MtlTemplate``).

Temporal context therefore covers only the sparse images of the same video in frame order
(what CPRL and HSE smoothed over, ``aff-wild2-tasks.md`` section 6). There is no video: frame
times are frame numbers at ``NOMINAL_FPS`` (Aff-Wild2's usual 30 fps; the real rate of each
video is not part of s-Aff-Wild2), so a window of a baseline spans the same number of frames
as on a 30 fps video.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.face_index import FaceIndex
from harness.data.layout import ReleaseLayout
from harness.data.mtl import (
    MtlLabels,
    MtlRelease,
    MtlTestList,
    image_parts,
    load_mtl_release,
)
from harness.data.release import Release
from harness.data.testset import Template
from harness.errors import HarnessError
from harness.tasks import Task

#: Frame times of an s-Aff-Wild2 image: its frame number at this rate (no video is released).
NOMINAL_FPS = 30.0


@dataclass(frozen=True)
class MtlTemplate(Template):
    """The test list as a template: per test video, frames 1..N (its last test image), and
    the list itself (``test``), which a submission follows row by row."""

    test: MtlTestList | None = field(default=None, repr=False)

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(video, 1-based frame) of each test-list image, in list order."""
        return image_parts(self.test.images)


class ListedFaces(FaceIndex):
    """A ``FaceIndex`` that knows only the images a release lists (no folder listing): per
    name, the frames of its rows and which root holds them."""

    def __init__(self, image_roots: tuple[Path, ...], listed: dict[str, tuple[np.ndarray, int]]):
        super().__init__(image_roots)
        self._listed = listed

    def _scan(self, name: str) -> None:
        frames, root = self._listed.get(name, (np.zeros(0, np.int64), 0))
        self._frames[name] = frames
        self._roots[name] = np.full(frames.size, root, dtype=np.int16)


@dataclass
class MtlSequences(Release):
    """A ``Release`` whose names are s-Aff-Wild2 video folders (see the module docstring)."""

    source: MtlRelease | None = field(default=None, repr=False)
    test_template: MtlTemplate | None = field(default=None, repr=False)

    @property
    def template(self) -> MtlTemplate:
        if self.test_template is None:
            raise HarnessError(f"no MTL test list found under {self.root}")
        return self.test_template

    @cached_property
    def test_names(self) -> list[str]:
        return list(self.template.names) if self.test_template is not None else []

    def fps(self, name: str) -> float:
        return NOMINAL_FPS

    def video_info(self, name: str):
        raise HarnessError(f"{name}: s-Aff-Wild2 (the MTL release) has images, not videos; "
                           "MTL runs read face features only")


def dense_labels(labels: MtlLabels, task: Task) -> dict[str, np.ndarray]:
    """Per video: frames 1..N of the task's rows, "no label" where no row is."""
    rows = labels.rows()
    out: dict[str, np.ndarray] = {}
    order = np.lexsort((labels.frames, labels.videos.astype(str)))
    videos, frames, rows = labels.videos[order], labels.frames[order].astype(np.int64), rows[order]
    cuts = np.flatnonzero(videos[1:] != videos[:-1]) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(videos)]):
        f = frames[lo:hi]
        arr = task.unknown(int(f.max()))
        arr[f - 1] = rows[lo:hi]
        out[str(videos[lo])] = arr
    return out


def labels_at(per_video: dict[str, np.ndarray], images, path: Path) -> MtlLabels:
    """The rows of ``images`` (``<video>/<NNNNN>.jpg``) read off per-video frames 1..N, as an
    annotation file would hold them (``path`` names where they came from in errors)."""
    videos, frames = image_parts(images)
    rows = np.empty((len(videos), 15), np.float32)
    for video in dict.fromkeys(videos.tolist()):
        if video not in per_video:
            raise HarnessError(f"{path}: no rows for video {video!r}")
        pick = np.flatnonzero(videos == video)
        have = per_video[video]
        if frames[pick].max() > len(have):
            raise HarnessError(f"{path}: video {video!r} has {len(have)} frames, an image is "
                               f"frame {frames[pick].max()}")
        rows[pick] = have[frames[pick] - 1]
    return MtlLabels(path, np.asarray(list(images), dtype=object), videos,
                     frames.astype(np.int32), rows[:, 0:2], rows[:, 2].astype(np.int8),
                     rows[:, 3:].astype(np.int8))


def _listed(videos: np.ndarray, frames: np.ndarray, root: int
            ) -> dict[str, tuple[np.ndarray, int]]:
    """Per video, its listed frames (sorted, once each) and the image root holding them."""
    groups = pd.Series(np.asarray(frames, np.int64)).groupby(np.asarray(videos).astype(str))
    return {v: (np.unique(f.to_numpy()), root) for v, f in groups}


def test_template(test: MtlTestList, task: Task) -> MtlTemplate:
    """The test list as a template: its video folders in order of first image, each with
    frames 1..N up to its last test image."""
    videos, frames = image_parts(test.images)
    names = tuple(pd.unique(videos).tolist())
    last = pd.Series(frames).groupby(videos.astype(str)).max()
    return MtlTemplate(test.path, task.template_header, names, {n: int(last[n]) for n in names},
                       test)


def sequences(mtl: MtlRelease, task: Task) -> MtlSequences:
    """The MTL release ``mtl`` as per-video sequences of ``task`` (the MTL task)."""
    lay = mtl.layout
    train, val = dense_labels(mtl.train, task), dense_labels(mtl.val, task)
    duplicates = tuple(sorted(set(train) & set(val)))
    if duplicates:
        raise HarnessError(f"MTL video folder(s) with rows in both {lay.train.name} and "
                           f"{lay.val.name}: {', '.join(duplicates[:5])}; a video must lie on "
                           "one side of the official split")
    listed = (_listed(mtl.train.videos, mtl.train.frames, 0)
              | _listed(mtl.val.videos, mtl.val.frames, 0))
    roots: tuple[Path, ...] = (lay.images,) if lay.images is not None else (lay.root,)
    template = None
    if mtl.test is not None:
        template = test_template(mtl.test, task)
        clash = sorted(set(template.names) & (set(train) | set(val)))
        if clash:
            raise HarnessError(f"MTL test video folder(s) also annotated: {', '.join(clash[:5])}")
        if lay.test_images is not None:
            roots = (*roots, lay.test_images)
            listed |= _listed(*template.rows(), len(roots) - 1)
        else:
            warnings.warn(f"no MTL test image folder under {lay.root}: test videos have no "
                          "faces", stacklevel=2)
    layout = ReleaseLayout(root=lay.root, edition=lay.edition, train_dir=lay.train,
                           val_dir=lay.val, image_roots=roots, video_dirs=(), pose_dir=None,
                           test_list=lay.test_list, template=lay.test_list)
    return MtlSequences(layout=layout, train=train, val=val, duplicates=(),
                        faces=ListedFaces(roots, listed), videos={}, task=task, source=mtl,
                        test_template=template)


def load_sequences(root: str | Path, task: Task) -> MtlSequences:
    """Read the MTL release at ``root`` (every image checked) as per-video sequences."""
    return sequences(load_mtl_release(root), task)
