"""A loaded release: labels of both splits, faces, videos, poses and the test set, in one place.

A release is read for one task (``harness.tasks``: ``expr`` by default, ``va``, ``au``): its
labels are that task's per-frame arrays, its test list and template that task's.
``load_release()`` with no root uses the embedded corpus. Names present in both Train_Set and
Validation_Set (the real ABAW5/6 EXPR releases have one) are reported and kept in validation
only, for every task.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from harness.data.annotations import read_annotation_dir
from harness.data.embedded import ensure_default_corpus
from harness.data.face_index import FaceIndex
from harness.data.layout import (
    DEFAULT_IMAGE_SET,
    IMAGE_SETS,
    SEARCH_DEPTH,
    ReleaseLayout,
    find_release,
)
from harness.data.testset import Template, read_template, read_test_list
from harness.data.valuefiles import quoted
from harness.data.videos import VideoInfo, find_videos, probe_video, video_of
from harness.errors import HarnessError, ReleaseFormatError
from harness.tasks import Task, get_task


@dataclass
class Release:
    layout: ReleaseLayout
    train: dict[str, np.ndarray]
    val: dict[str, np.ndarray]
    duplicates: tuple[str, ...]
    faces: FaceIndex = field(repr=False)
    videos: dict[str, Path] = field(repr=False)
    _video_info: dict[str, VideoInfo] = field(default_factory=dict, repr=False)
    task: Task = field(default_factory=get_task)

    @property
    def root(self) -> Path:
        return self.layout.root

    @cached_property
    def dataset(self) -> str:
        """Short data set name for tables: ``synth-seed<k>`` or ``affwild2``."""
        meta = self.layout.root / "synth.json"
        if meta.is_file():
            return f"synth-seed{json.loads(meta.read_text()).get('seed', 0)}"
        return "affwild2"

    @cached_property
    def test_names(self) -> list[str]:
        """Names of the test set; every one must have rows in the template."""
        if self.layout.test_list is None:
            return list(self.template.names) if self.layout.template else []
        names = read_test_list(self.layout.test_list)
        if self.layout.template is not None:
            rows = self.template.n_frames
            for line, name in enumerate(names, start=1):
                if name not in rows:
                    raise ReleaseFormatError(
                        self.layout.test_list, f"test name {quoted(name)} has no rows in the "
                        f"template {self.layout.template}", line=line)
        return names

    @cached_property
    def template(self) -> Template:
        if self.layout.template is None:
            raise HarnessError(f"no {self.task.name.upper()} test template found under "
                               f"{self.layout.root}")
        return read_template(self.layout.template, self.task.template_header)

    def labels(self, name: str) -> np.ndarray:
        """The task's per-frame array of an annotated name (validation copy wins for
        duplicates): EXPR int8 (N,), VA float32 (N, 2), AU int8 (N, 12)."""
        if name in self.val:
            return self.val[name]
        if name in self.train:
            return self.train[name]
        raise KeyError(f"{name} is not an annotated name of this release")

    def video_path(self, name: str) -> Path | None:
        return self.videos.get(video_of(name))

    def n_frames(self, name: str) -> int:
        """Frames of a name: from its label file, or from the test template (never the decoder)."""
        if name in self.val or name in self.train:
            return int(len(self.labels(name)))
        if name in self.template.n_frames:
            return self.template.n_frames[name]
        raise KeyError(f"{name} is neither annotated nor in the test template")

    def video_info(self, name: str) -> VideoInfo:
        """Container metadata of the name's video (probed once, then remembered)."""
        video = video_of(name)
        if video not in self._video_info:
            path = self.videos.get(video)
            if path is None:
                raise HarnessError(
                    f"no video file for {name!r} (looked for {video}.mp4/.avi in "
                    f"{', '.join(map(str, self.layout.video_dirs)) or 'no video folder'}); "
                    "its fps is needed to align time windows"
                )
            self._video_info[video] = probe_video(path)
        return self._video_info[video]

    def fps(self, name: str) -> float:
        return self.video_info(name).fps

    def with_image_set(self, image_set: str) -> Release:
        """This release reading its faces from ``image_set`` (``cropped_aligned`` or ``cropped``).

        Labels, videos and everything cached on the release are shared; only the face index
        differs. A set the release does not have is an error naming where it was looked for.
        """
        if image_set not in IMAGE_SETS:
            raise HarnessError(f"unknown image set {image_set!r}; choose one of "
                               f"{', '.join(IMAGE_SETS)}")
        if image_set == DEFAULT_IMAGE_SET:
            return self
        roots = self.layout.cropped_roots
        if not roots:
            found = ", ".join(map(str, self.layout.image_roots)) or "none"
            raise HarnessError(
                f"--image-set {image_set}: no {image_set}/ (or {image_set}_*/) folder of face "
                f"images under {self.root} (searched {SEARCH_DEPTH} levels down; "
                f"cropped_aligned roots found: {found})")
        other = copy.copy(self)
        other.faces = FaceIndex(roots)
        return other

    @cached_property
    def fingerprint(self) -> str:
        """Hash of every label and of the test template's name list: changes with the data."""
        h = hashlib.sha256()
        for split, labels in (("train", self.train), ("val", self.val)):
            for name in sorted(labels):
                h.update(f"{split}/{name}/{len(labels[name])}\n".encode())
                h.update(labels[name].tobytes())
        if self.layout.template is not None:
            h.update(self.layout.template.read_bytes())
        return h.hexdigest()[:16]


#: Environment variables that override one piece of the layout each (lists: os.pathsep).
ENV_OVERRIDES = {
    "annotations": "ABAW_ANNOTATIONS", "image_roots": "ABAW_IMAGES",
    "video_dirs": "ABAW_VIDEOS", "pose_dir": "ABAW_POSES", "test_list": "ABAW_TEST_LIST",
    "template": "ABAW_TEMPLATE",
}


def _sparse_release(root, task: Task, overrides: dict) -> Release:
    """``task``'s release of sparse images (MTL) as per-video sequences
    (``harness.data.mtl_sequences``); the per-video layout's overrides do not apply to it."""
    from harness.data.mtl_sequences import load_sequences

    given = sorted(set(overrides) | set(env_overrides()))
    if given:
        names = ", ".join(ENV_OVERRIDES.get(k, k) for k in given)
        raise HarnessError(f"--task {task.name}: its release is found by its own file names "
                           f"(docs/mtl.md); {names} do not apply to it")
    return load_sequences(ensure_default_corpus() if root is None else root, task)


def env_overrides() -> dict:
    """Layout overrides from the environment, so every command honours them."""
    out: dict = {}
    for key, var in ENV_OVERRIDES.items():
        value = os.environ.get(var)
        if value:
            is_list = key in ("image_roots", "video_dirs")
            out[key] = tuple(value.split(os.pathsep)) if is_list else value
    return out


def load_release(root: str | Path | None = None, *, task: str | Task | None = None,
                 **overrides) -> Release:
    """Read ``task``'s part of a release (``root``), or of the embedded corpus when ``root`` is
    None; ``task`` is a ``harness.tasks`` name (default ``expr``).

    >>> release = load_release()                     # doctest: +SKIP
    >>> len(release.train), len(release.val)         # doctest: +SKIP
    """
    task = get_task(task)
    if task.sparse_images:  # s-Aff-Wild2: files of sparse images, read as per-video sequences
        return _sparse_release(root, task, overrides)
    if root is None:
        root = ensure_default_corpus()
    layout = find_release(root, task=task, **(env_overrides() | overrides))
    train = read_annotation_dir(layout.train_dir, task)
    val = read_annotation_dir(layout.val_dir, task)
    duplicates = tuple(sorted(set(train) & set(val)))
    if duplicates:
        warnings.warn(
            f"{len(duplicates)} name(s) in both Train_Set and Validation_Set, kept in validation "
            f"only: {', '.join(duplicates)}", stacklevel=2,
        )
        train = {k: v for k, v in train.items() if k not in duplicates}
    return Release(
        layout=layout, train=train, val=val, duplicates=duplicates,
        faces=FaceIndex(layout.image_roots), videos=find_videos(layout.video_dirs), task=task,
    )
