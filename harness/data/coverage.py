"""What of a release is really there: face images per name, audio per video, poses per name.

A wrong ``ABAW_IMAGES``, a root nested deeper than the search or a partial download leaves
names without a single face image; before this check such a name quietly got all-zero face
features and constant predictions, and its run still "validated". Now a name with no face at
all is an error naming it and the image roots searched (or, when the user allows it, one warning
per name), names with unusually few faces are listed in a warning, and ``harness data info``
shows every split's coverage before any GPU hour is spent.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.data.release import Release
from harness.data.videos import video_of
from harness.errors import HarnessError

#: A name whose frames have a face image less often than this is listed in a warning (real
#: Aff-Wild2 names have faces on about 98 % of their frames; the rest take the nearest face).
LOW_FACE_COVERAGE = 0.5
_LISTED = 10  # names spelled out in one message; the rest are counted


@dataclass(frozen=True)
class FaceCoverage:
    """Per name: frames 1..N that have their own face image, and N."""

    with_face: dict[str, int]
    frames: dict[str, int]

    def ratio(self, name: str) -> float:
        return self.with_face[name] / max(self.frames[name], 1)

    @property
    def without_face(self) -> list[str]:
        return [n for n, k in self.with_face.items() if k == 0]

    @property
    def low(self) -> list[str]:
        """Names with some faces, but on fewer than ``LOW_FACE_COVERAGE`` of their frames."""
        return [n for n, k in self.with_face.items() if k and self.ratio(n) < LOW_FACE_COVERAGE]


def face_coverage(release: Release, names: list[str] | tuple[str, ...]) -> FaceCoverage:
    """Count each name's frames with a face image (the folders are listed, no image opened)."""
    with_face, frames = {}, {}
    for name in dict.fromkeys(names):
        n = release.n_frames(name)
        have = release.faces.frames(name)
        with_face[name] = int((have <= n).sum())
        frames[name] = n
    return FaceCoverage(with_face, frames)


def check_faces(release: Release, names: list[str] | tuple[str, ...], *,
                allow_missing: bool = False) -> FaceCoverage:
    """Refuse names with no face image at all (unless ``allow_missing``); warn on low coverage.

    With ``allow_missing`` each such name gets one warning: its face features are zeros,
    flagged as imputed, so a model sees no face rather than a made-up one.
    """
    cov = face_coverage(release, names)
    missing = cov.without_face
    roots = ", ".join(map(str, release.faces.image_roots)) or "none found"
    if missing and not allow_missing:
        raise HarnessError(
            f"{len(missing)} name(s) have no face image at all: {_listed(missing)}; looked for "
            f"<image root>/<name>/<NNNNN>.jpg in the image roots: {roots}. Point ABAW_IMAGES at "
            "the cropped_aligned folder(s), or pass --allow-missing-faces to run with zero face "
            "features for them")
    for name in missing:
        warnings.warn(f"{name}: no face image in any image root ({roots}); its face features "
                      "are zeros, flagged as imputed (--allow-missing-faces)", stacklevel=2)
    # sparse images (MTL) cover a fraction of the frames by design: nothing to warn about
    low = [] if release.task.sparse_images else sorted(cov.low, key=cov.ratio)
    if low:
        shown = ", ".join(f"{n} ({100 * cov.ratio(n):.0f} %)" for n in low[:_LISTED])
        more = f" and {len(low) - _LISTED} more" if len(low) > _LISTED else ""
        warnings.warn(f"{len(low)} name(s) have a face image on fewer than "
                      f"{100 * LOW_FACE_COVERAGE:.0f} % of their frames (the others take the "
                      f"nearest face): {shown}{more}", stacklevel=2)
    return cov


def _listed(names: list[str]) -> str:
    more = f" (and {len(names) - _LISTED} more)" if len(names) > _LISTED else ""
    return ", ".join(names[:_LISTED]) + more


@dataclass
class PartCoverage:
    """Coverage of one part of a release (train, validation or test)."""

    part: str
    names: int = 0
    frames: int = 0
    face_frames: int = 0
    without_face: list[str] = field(default_factory=list)
    low_face: list[str] = field(default_factory=list)
    videos: int = 0
    with_audio: int = 0
    without_audio: int = 0
    no_video_file: int = 0
    pose_names: int = 0  # names whose video has an OpenPose folder
    pose_files: int = 0
    pose_seconds: float = 0.0  # duration of the videos of those names (2 files a second due)


def part_coverage(release: Release, part: str, names: list[str],
                  on_name: Callable[[], None] | None = None) -> PartCoverage:
    """Faces, audio and poses of ``names``; probes each video's container once."""
    cov = face_coverage(release, names)
    out = PartCoverage(part, len(names), sum(cov.frames.values()), sum(cov.with_face.values()),
                       cov.without_face, cov.low)
    videos = sorted({video_of(n) for n in names})
    out.videos = len(videos)
    durations = {}
    for video in videos:
        if release.videos.get(video) is None:
            out.no_video_file += 1
            continue
        info = release.video_info(video)
        durations[video] = info.duration
        out.with_audio += info.has_audio
        out.without_audio += not info.has_audio
    pose_dir = release.layout.pose_dir
    for name in names:
        folder = None if pose_dir is None else pose_dir / video_of(name)
        if folder is not None and folder.is_dir():
            out.pose_names += 1
            with os.scandir(folder) as it:
                out.pose_files += sum(e.name.endswith("_keypoints.json") for e in it)
            out.pose_seconds += durations.get(video_of(name), 0.0)
        if on_name is not None:
            on_name()
    return out


def release_parts(release: Release) -> list[tuple[str, list[str]]]:
    """Train_Set, Validation_Set and (with a template) the test set, as (part, names)."""
    parts = [("train", sorted(release.train)), ("validation", sorted(release.val))]
    if release.layout.template is not None:
        parts.append(("test", list(release.test_names)))
    return parts


def release_coverage(release: Release, on_name: Callable[[], None] | None = None
                     ) -> list[PartCoverage]:
    """Coverage of every part of ``release``; ``on_name`` is called after each name."""
    return [part_coverage(release, part, names, on_name)
            for part, names in release_parts(release)]
