"""Writing small H.264 + AAC mp4 files with PyAV (mpeg4 video if libx264 is not built in)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np


def video_codec() -> str:
    """libx264 where the FFmpeg build has it, else the always-present mpeg4 encoder."""
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


class Mp4Writer:
    """Streams BGR frames (and optionally one mono audio track) into an mp4 file.

    Frames are pushed one at a time so a video never has to sit in memory; audio is given whole
    at the end because it is synthesised in one vectorised pass.
    """

    AUDIO_CHUNK = 1024  # AAC frame size

    def __init__(self, path: Path, fps: Fraction, width: int, height: int,
                 sample_rate: int | None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(path), "w")
        codec = video_codec()
        self._video = self._container.add_stream(codec, rate=fps)
        self._video.width, self._video.height = width, height
        self._video.pix_fmt = "yuv420p"
        if codec == "libx264":
            # One thread: the corpus generator already runs one process per core.
            self._video.options = {"preset": "ultrafast", "crf": "26", "threads": "1"}
        self._audio = None
        self._rate = sample_rate
        if sample_rate is not None:
            self._audio = self._container.add_stream("aac", rate=sample_rate)
            self._audio.layout = "mono"
            self._audio.options = {"aac_coder": "fast"}  # half the default coder's time
        self._pts = 0

    def add_frame(self, bgr: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
        frame.pts = self._pts
        self._pts += 1
        self._container.mux(self._video.encode(frame))

    def add_audio(self, samples: np.ndarray) -> None:
        if self._audio is None:
            raise ValueError("this writer was opened without an audio stream")
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        for start in range(0, len(samples), self.AUDIO_CHUNK):
            chunk = samples[start:start + self.AUDIO_CHUNK][None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate = self._rate
            frame.pts = start
            self._container.mux(self._audio.encode(frame))

    def close(self) -> None:
        self._container.mux(self._video.encode(None))
        if self._audio is not None:
            self._container.mux(self._audio.encode(None))
        self._container.close()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self._container.close()
