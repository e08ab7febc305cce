"""Window geometry of every audio feature: 1 s windows every 0.5 s over a decoded track.

Row ``r`` of every audio feature covers ``[0.5 r, 0.5 r + 1]`` seconds (centre ``0.5 r + 0.5``)
and there are ``max(1, ceil(duration / 0.5))`` rows, the last windows zero-padded past the end,
so the fusion stage can take the window centred on any step. Windows with no real audio (no
stream, a late start, a gap, past the end) are flagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
WINDOW_S = 1.0
HOP_S = 0.5
#: short-time frames of the spectral extractors: 25 ms every 10 ms at 16 kHz
N_FFT = 400
HOP = 160

@dataclass
class AudioTrack:
    samples: np.ndarray  # (n,) float32 mono
    sr: int
    has_audio: bool
    duration: float  # seconds; the video's length when known (samples are padded to it)
    audio_end: float | None = None  # where the decoded audio stops (None: it covers everything)
    #: (start, end) seconds holding real audio; None: all of [0, audio_end]
    spans: tuple[tuple[float, float], ...] | None = None


# --------------------------------------------------------------------------- windows


def n_windows(duration: float) -> int:
    # the small tolerance keeps an exact multiple (e.g. 10.0 s) from gaining a row to float error
    return max(1, math.ceil(duration / HOP_S - 1e-6))


def window_centres(duration: float) -> np.ndarray:
    """Centres (s) of the rows: row r covers [0.5 r, 0.5 r + 1], centre 0.5 r + 0.5."""
    return np.arange(n_windows(duration)) * HOP_S + WINDOW_S / 2


def window_flags(track: AudioTrack) -> np.ndarray:
    """Per row: True when the window holds no real audio (no stream, before a late start, in a
    gap, or past where the audio ended)."""
    starts = window_centres(track.duration) - WINDOW_S / 2
    if not track.has_audio:
        return np.ones(len(starts), bool)
    spans = track.spans
    if spans is None:
        spans = ((0.0, track.duration if track.audio_end is None else track.audio_end),)
    flags = np.ones(len(starts), bool)
    for begin, end in spans:
        flags &= ~((starts < end) & (starts + WINDOW_S > begin))
    return flags


def padded(track: AudioTrack) -> tuple[np.ndarray, int]:
    """The samples zero-padded so that the last window is complete; also the row count."""
    rows = n_windows(track.duration)
    hop, win = round(HOP_S * track.sr), round(WINDOW_S * track.sr)
    need = (rows - 1) * hop + win
    y = np.zeros(max(need, len(track.samples)), np.float32)
    y[: len(track.samples)] = track.samples
    return y[:need], rows


def pool_frames(frames: np.ndarray, frame_len: int, hop_len: int, sr: int, rows: int
                 ) -> np.ndarray:
    """Group frame-level features (n, ...) into the per-window stack (rows, per_window, ...).

    Frames are un-centred (frame i spans samples [i*hop, i*hop+frame_len)); a window takes the
    frames that lie entirely inside it.
    """
    per_window = (round(WINDOW_S * sr) - frame_len) // hop_len + 1
    stride = round(HOP_S * sr) // hop_len
    view = np.lib.stride_tricks.sliding_window_view(frames, per_window, axis=0)[::stride]
    return np.moveaxis(view[:rows], -1, 1)


def at_rate(track: AudioTrack) -> AudioTrack:
    if track.sr == SAMPLE_RATE:
        return track
    import librosa

    y = librosa.resample(track.samples, orig_sr=track.sr, target_sr=SAMPLE_RATE)
    return AudioTrack(y.astype(np.float32), SAMPLE_RATE, track.has_audio, track.duration,
                      track.audio_end, track.spans)


