"""Videos: the ``_left``/``_right`` naming rule, finding files, and container metadata.

The fps in a real file name (``122-60-1920x1080``) is not the file's fps; it is always read
from the container. Frame counts for labels come from annotations and templates, never from the
decoder (label files are often one line longer than the decoded video).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.data.layout import VIDEO_SUFFIXES
from harness.errors import ReleaseFormatError

SIDES = ("_left", "_right")


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
