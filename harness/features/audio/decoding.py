"""Audio decoding: the soundtrack of a video, 16 kHz mono, on the video's clock.

Aff-Wild2 ships no separate audio: it is inside the video containers, so it is decoded here with
PyAV and resampled to 16 kHz mono, on the video's clock: sample 0 is the time of the first video
frame (frame 1, t = 0 for the time windows), each decoded chunk is placed at its own timestamp,
so an audio stream that starts late, or has a gap, stays aligned with the frames (silence fills
what has no audio, and windows with no real audio are flagged).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import av
import numpy as np

from harness.errors import HarnessError, ReleaseFormatError
from harness.features.audio.windows import SAMPLE_RATE, AudioTrack

#: audio this much shorter than the container says is reported (AAC edges differ by ~0.05 s)
SHORT_AUDIO_S = 0.5
#: a chunk whose timestamp is this far from the end of the previous one starts a new span (a
#: gap or an overlap); closer, it is contiguous (timestamp rounding). An AAC frame is ~23 ms.
GAP_S = 0.01
#: bump when decoding changes what samples a video gives (part of every audio cache key)
DECODER_VERSION = 2

# --------------------------------------------------------------------------- decoding


def load_audio(
    video_path: str | Path, sr: int = SAMPLE_RATE, duration_hint: float | None = None
) -> AudioTrack:
    """Decode the first audio stream of ``video_path`` to mono float32 at ``sr``, on video time.

    Sample 0 is the first video frame's time; each chunk goes where its timestamp says (audio
    before the first frame is dropped; late starts and gaps are silence, outside ``spans``).
    No audio stream: silence of the video's duration (container, else ``duration_hint``),
    ``has_audio=False`` and a warning. A truncated file keeps what decodes (with a warning); a file
    that cannot be opened or decodes to nothing raises ``ReleaseFormatError``.
    """
    path = Path(video_path)
    if not path.is_file():
        raise HarnessError(f"video not found: {path}")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise ReleaseFormatError(path, f"cannot open as a video container ({exc})") from exc
    with container:
        duration = _container_duration(container) or duration_hint or 0.0
        if not container.streams.audio:
            warnings.warn(f"{path}: no audio stream; using {duration:.2f} s of silence",
                          stacklevel=2)
            return AudioTrack(np.zeros(round(duration * sr), np.float32), sr, False, duration)
        samples, spans = _decode(container, path, sr)
    decoded = spans[-1][1] if spans else 0.0
    if duration - decoded > SHORT_AUDIO_S:
        warnings.warn(f"{path}: audio ends at {decoded:.2f} s but the video lasts {duration:.2f} s "
                      "(truncated file?); padded with silence", stacklevel=2)
    duration = max(duration, decoded)
    samples = np.pad(samples, (0, max(0, round(duration * sr) - len(samples))))
    return AudioTrack(samples, sr, True, duration, audio_end=decoded, spans=spans)


def _container_duration(container: av.container.InputContainer) -> float | None:
    if container.duration:
        return container.duration / av.time_base
    for stream in container.streams:
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
    return None


def _decode(container: av.container.InputContainer, path: Path, sr: int
            ) -> tuple[np.ndarray, tuple[tuple[float, float], ...]]:
    """Demux only the audio stream's packets, resample to mono float at ``sr``, and place each
    chunk at its timestamp on the video's clock; returns the samples and the spans of audio."""
    stream = container.streams.audio[0]
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
    timeline = _Timeline(sr, _clock_start(container))
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                timeline.add(resampler.resample(frame))
    except av.error.FFmpegError as exc:
        if timeline.empty:
            raise ReleaseFormatError(path, f"audio stream does not decode ({exc})") from exc
        warnings.warn(f"{path}: audio truncated or corrupt after {timeline.end_s:.2f} s ({exc}); "
                      "keeping what decoded", stacklevel=3)
    timeline.add(resampler.resample(None))
    if timeline.empty:
        raise ReleaseFormatError(path, "audio stream holds no decodable samples")
    return timeline.assemble()


def _clock_start(container: av.container.InputContainer) -> float:
    """Container time of the first video frame (frame 1 is t = 0 for every feature)."""
    for vs in container.streams.video[:1]:
        if vs.start_time is not None and vs.time_base is not None:
            return float(vs.start_time * vs.time_base)
    return container.start_time / av.time_base if container.start_time is not None else 0.0


class _Timeline:
    """Resampled chunks placed by timestamp: a chunk within ``GAP_S`` of the previous one's end
    continues it (timestamp rounding), else it starts where its timestamp says."""

    def __init__(self, sr: int, start_s: float):
        self.sr, self.start_s = sr, start_s
        self.pieces: list[tuple[int, np.ndarray]] = []
        self.cursor = 0
        self.tolerance = round(GAP_S * sr)

    @property
    def empty(self) -> bool:
        return not self.pieces

    @property
    def end_s(self) -> float:
        return self.cursor / self.sr

    def add(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            y = frame.to_ndarray().reshape(-1)
            at = self.cursor
            if frame.pts is not None and frame.time_base is not None:
                stamped = round((float(frame.pts * frame.time_base) - self.start_s) * self.sr)
                if not self.pieces or abs(stamped - self.cursor) > self.tolerance:
                    at = stamped
            self.pieces.append((at, y))
            self.cursor = at + len(y)

    def assemble(self) -> tuple[np.ndarray, tuple[tuple[float, float], ...]]:
        """Samples from the first video frame on (earlier audio dropped), silence between spans."""
        end = max(0, max(at + len(y) for at, y in self.pieces))
        out = np.zeros(end, np.float32)
        spans: list[list[int]] = []
        for at, y in self.pieces:
            if at < 0:
                y, at = y[-at:], 0
            if not len(y):
                continue
            out[at:at + len(y)] = y
            if spans and at <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], at + len(y))
            else:
                spans.append([at, at + len(y)])
        return out, tuple((a / self.sr, b / self.sr) for a, b in spans)


