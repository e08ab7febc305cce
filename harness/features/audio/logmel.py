"""``logmel``: log-mel statistics plus prosody (energy, pitch, voicing) of every window; no
weights, fast: the offline default audio extractor."""

from __future__ import annotations

import numpy as np

from harness.features.audio.extractor import register_audio_extractor, takes_no_weights
from harness.features.audio.windows import (
    HOP,
    HOP_S,
    N_FFT,
    SAMPLE_RATE,
    WINDOW_S,
    AudioTrack,
    at_rate,
    padded,
    pool_frames,
)

N_MELS = 64
PITCH_FRAME = 1024  # 64 ms: long enough for 60 Hz
PITCH_HOP = 320  # 20 ms: YIN dominates the cost; pitch needs no finer step
F0_MIN, F0_MAX = 60.0, 500.0
VOICED_RMS = 10 ** (-45 / 20)  # -45 dBFS
VOICED_ZCR = 0.25
PROSODY = ("log_rms_mean", "log_rms_std", "centroid_khz_mean", "centroid_khz_std",
           "zcr_mean", "zcr_std", "pitch_oct_mean", "pitch_oct_std", "voiced_fraction")
LOGMEL_NAMES = ([f"logmel{i}_mean" for i in range(N_MELS)]
                + [f"logmel{i}_std" for i in range(N_MELS)] + list(PROSODY))


class LogMelExtractor:
    """Per window: mean and std of 64 log-mel bands, and prosody (energy, spectral centroid,
    zero-crossing rate, pitch over voiced frames, voicing rate), the cues that carry vocal
    expression. Frame features are computed once per track and pooled per window with numpy.

    Pitch is ``log2(f0 / 100 Hz)`` (octaves) from YIN; a frame counts as voiced when it is louder
    than -45 dBFS, has a low zero-crossing rate and a pitch strictly inside the search range (YIN
    returns the range's edge on noise). Windows with no voiced frame get pitch 0.
    """

    name = "logmel"
    dim = len(LOGMEL_NAMES)

    def config(self) -> dict:
        return {"name": self.name, "sr": SAMPLE_RATE, "n_mels": N_MELS, "n_fft": N_FFT,
                "hop": HOP, "pitch_frame": PITCH_FRAME, "pitch_hop": PITCH_HOP,
                "f0": [F0_MIN, F0_MAX], "window_s": WINDOW_S, "hop_s": HOP_S, "version": 1}

    def __call__(self, track: AudioTrack) -> np.ndarray:
        import librosa

        y, rows = padded(at_rate(track))
        mel = librosa.feature.melspectrogram(
            y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, center=False)
        spec = np.log(mel.T + 1e-6)  # (frames, mels)
        short = np.stack([
            np.log(librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP,
                                       center=False)[0] + 1e-5),
            librosa.feature.spectral_centroid(y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP,
                                              center=False)[0] / 1000.0,
            librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP,
                                               center=False)[0],
        ], axis=1)
        frames = pool_frames(np.concatenate([spec, short], 1), N_FFT, HOP, SAMPLE_RATE, rows)
        mean, std = frames.mean(1), frames.std(1)
        prosody = np.stack([mean[:, N_MELS:], std[:, N_MELS:]], axis=2).reshape(rows, -1)
        out = np.concatenate(
            [mean[:, :N_MELS], std[:, :N_MELS], prosody, _pitch_stats(y, rows)], axis=1)
        return np.nan_to_num(out).astype(np.float32)


def _pitch_stats(y: np.ndarray, rows: int) -> np.ndarray:
    """(rows, 3): mean and std of pitch (octaves re 100 Hz) over voiced frames, voiced fraction."""
    import librosa

    f0 = librosa.yin(y, fmin=F0_MIN, fmax=F0_MAX, sr=SAMPLE_RATE, frame_length=PITCH_FRAME,
                     hop_length=PITCH_HOP, center=False)
    rms = librosa.feature.rms(y=y, frame_length=PITCH_FRAME, hop_length=PITCH_HOP, center=False)[0]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=PITCH_FRAME, hop_length=PITCH_HOP,
                                             center=False)[0]
    n = min(len(f0), len(rms), len(zcr))
    f0, rms, zcr = f0[:n], rms[:n], zcr[:n]
    voiced = (rms > VOICED_RMS) & (zcr < VOICED_ZCR) & (f0 > F0_MIN * 1.05) & (f0 < F0_MAX * 0.95)
    pitch = np.log2(np.maximum(f0, 1.0) / 100.0)
    both = pool_frames(np.stack([pitch, voiced], 1), PITCH_FRAME, PITCH_HOP, SAMPLE_RATE, rows)
    p, v = both[..., 0], both[..., 1]
    count = v.sum(1)
    mean = (p * v).sum(1) / np.maximum(count, 1)
    var = (((p - mean[:, None]) ** 2) * v).sum(1) / np.maximum(count, 1)
    return np.stack([mean, np.sqrt(var), count / v.shape[1]], axis=1)



register_audio_extractor("logmel", takes_no_weights("logmel", LogMelExtractor), owner=__name__)
