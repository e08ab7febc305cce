"""Videos: the ``_left``/``_right`` naming rule, finding files, and container metadata.

The fps in a real file name (``122-60-1920x1080``) is not the file's fps; it is always read
from the container. Frame counts for labels come from annotations and templates, never from the
decoder (label files are often one line longer than the decoded video).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.data.layout import VIDEO_SUFFIXES
from harness.errors import ReleaseFormatError

SIDES = ("_left", "_right")
#: A segment number after the resolution: ``28-30-1280x720-2`` is segment 2 of ``28-30-1280x720``.
_SEGMENT = re.compile(r"^(?P<recording>.*\d+x\d+)-\d+$")


def video_of(name: str) -> str:
    """The underlying video of an annotation name (``x_left`` and ``x_right`` share ``x``)."""
    for suffix in SIDES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def side_of(name: str) -> str | None:
    for suffix in SIDES:
        if name.endswith(suffix):
            return suffix[1:]
    return None


def recording_of(name: str) -> str:
    """The recording a name comes from: no ``_left``/``_right``, no trailing segment number.

    Real releases cut one recording into segments (``28-30-1280x720-1`` .. ``-4``; the official
    split puts ``-2`` in validation and the others in train): the same person, so folds that
    keep people apart must keep a recording's segments together.

    >>> recording_of("28-30-1280x720-2"), recording_of("24-30-1920x1080-1_left")
    ('28-30-1280x720', '24-30-1920x1080')
    >>> recording_of("video2_left"), recording_of("134"), recording_of("10-60-1280x720")
    ('video2', '134', '10-60-1280x720')
    """
    video = video_of(name)
    match = _SEGMENT.match(video)
    return match["recording"] if match else video


def annotated_side(name: str, names: Iterable[str]) -> str | None:
    """Where the annotated person of ``name`` stands: ``left``, ``right`` or None (unknown).

    ``x_left``/``x_right`` say it. A plain ``x`` whose video also has an ``x_right`` name
    (real: ``10-60-1280x720`` with ``10-60-1280x720_right``) annotates the other person, on
    the left; with an ``x_left`` sibling, the right. With both siblings or none: unknown.

    >>> annotated_side("video2", ["video2", "video2_left"])
    'right'
    """
    side = side_of(name)
    if side is not None:
        return side
    siblings = {side_of(n) for n in names if n != name and video_of(n) == name}
    if siblings == {"right"}:
        return "left"
    if siblings == {"left"}:
        return "right"
    return None


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    fps: float
    n_frames: int
    duration: float
    has_audio: bool
    width: int
    height: int


def find_videos(video_dirs: tuple[Path, ...]) -> dict[str, Path]:
    """Video files by stem; the first folder wins when a stem appears twice (``.mp4`` first)."""
    found: dict[str, Path] = {}
    for d in video_dirs:
        with os.scandir(d) as it:
            entries = sorted((e for e in it if e.name.lower().endswith(VIDEO_SUFFIXES)),
                             key=lambda e: (not e.name.lower().endswith(".mp4"), e.name))
        for e in entries:
            found.setdefault(Path(e.name).stem, Path(e.path))
    return found


def probe_video(path: str | Path) -> VideoInfo:
    """Read fps, frame count, duration and whether there is audio, from the container only."""
    import av  # imported here: PyAV is only needed once videos are touched

    path = Path(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ReleaseFormatError(path, "the file has no video stream")
            vs = container.streams.video[0]
            rate = vs.average_rate or vs.guessed_rate or vs.base_rate
            if not rate:
                raise ReleaseFormatError(path, "the container gives no frame rate")
            fps = float(rate)
            duration = _duration(container, vs)
            n_frames = int(vs.frames) if vs.frames else int(round(duration * fps))
            return VideoInfo(
                path=path, fps=fps, n_frames=n_frames, duration=duration,
                has_audio=bool(container.streams.audio),
                width=int(vs.codec_context.width), height=int(vs.codec_context.height),
            )
    except ReleaseFormatError:
        raise
    except (av.error.FFmpegError, OSError) as exc:
        raise ReleaseFormatError(path, f"cannot read the video container ({exc})") from None


def _duration(container, vs) -> float:
    if vs.duration is not None and vs.time_base is not None:
        return float(vs.duration * vs.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0
