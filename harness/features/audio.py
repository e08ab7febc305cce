"""Audio: decode the soundtrack of a video, cut it into 1 s windows every 0.5 s, describe each.

Aff-Wild2 ships no separate audio: it is inside the video containers, so it is decoded here with
PyAV and resampled to 16 kHz mono, on the video's clock: sample 0 is the time of the first video
frame (frame 1, t = 0 for the time windows), each decoded chunk is placed at its own timestamp,
so an audio stream that starts late, or has a gap, stays aligned with the frames (silence fills
what has no audio, and windows with no real audio are flagged). Row ``r`` of every audio
feature covers ``[0.5 r, 0.5 r + 1]`` seconds (centre ``0.5 r + 0.5``) and there are
``max(1, ceil(duration / 0.5))`` rows, the last windows zero-padded past the end, so the fusion
stage can take the window centred on any step.

Extractors (``create_audio_extractor``):
- ``logmel``: log-mel statistics plus prosody (energy, pitch, voicing), no weights, fast: the
  offline default.
- ``deepspectrum``: the seed paper's features: each window's mel spectrogram rendered with the
  viridis colour map and passed through an ImageNet DenseNet121 (weights from a local file).
- ``egemaps``: eGeMAPSv02 functionals via the optional ``opensmile`` package (research licence).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import av
import numpy as np

from harness.errors import HarnessError, ReleaseFormatError
from harness.paths import file_digest
from harness.registry import Registry

SAMPLE_RATE = 16000
WINDOW_S = 1.0
HOP_S = 0.5
#: audio this much shorter than the container says is reported (AAC edges differ by ~0.05 s)
SHORT_AUDIO_S = 0.5
#: a chunk whose timestamp is this far from the end of the previous one starts a new span (a
#: gap or an overlap); closer, it is contiguous (timestamp rounding). An AAC frame is ~23 ms.
GAP_S = 0.01
#: bump when decoding changes what samples a video gives (part of every audio cache key)
DECODER_VERSION = 2


@dataclass
class AudioTrack:
    samples: np.ndarray  # (n,) float32 mono
    sr: int
    has_audio: bool
    duration: float  # seconds; the video's length when known (samples are padded to it)
    audio_end: float | None = None  # where the decoded audio stops (None: it covers everything)
    #: (start, end) seconds holding real audio; None: all of [0, audio_end]
    spans: tuple[tuple[float, float], ...] | None = None


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


def _padded(track: AudioTrack) -> tuple[np.ndarray, int]:
    """The samples zero-padded so that the last window is complete; also the row count."""
    rows = n_windows(track.duration)
    hop, win = round(HOP_S * track.sr), round(WINDOW_S * track.sr)
    need = (rows - 1) * hop + win
    y = np.zeros(max(need, len(track.samples)), np.float32)
    y[: len(track.samples)] = track.samples
    return y[:need], rows


def _pool_frames(frames: np.ndarray, frame_len: int, hop_len: int, sr: int, rows: int
                 ) -> np.ndarray:
    """Group frame-level features (n, ...) into the per-window stack (rows, per_window, ...).

    Frames are un-centred (frame i spans samples [i*hop, i*hop+frame_len)); a window takes the
    frames that lie entirely inside it.
    """
    per_window = (round(WINDOW_S * sr) - frame_len) // hop_len + 1
    stride = round(HOP_S * sr) // hop_len
    view = np.lib.stride_tricks.sliding_window_view(frames, per_window, axis=0)[::stride]
    return np.moveaxis(view[:rows], -1, 1)


@runtime_checkable
class AudioExtractor(Protocol):
    name: str
    dim: int

    def config(self) -> dict: ...

    def __call__(self, track: AudioTrack) -> np.ndarray: ...


# --------------------------------------------------------------------------- logmel

N_MELS = 64
N_FFT = 400  # 25 ms at 16 kHz
HOP = 160  # 10 ms
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

        y, rows = _padded(_at_rate(track))
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
        frames = _pool_frames(np.concatenate([spec, short], 1), N_FFT, HOP, SAMPLE_RATE, rows)
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
    both = _pool_frames(np.stack([pitch, voiced], 1), PITCH_FRAME, PITCH_HOP, SAMPLE_RATE, rows)
    p, v = both[..., 0], both[..., 1]
    count = v.sum(1)
    mean = (p * v).sum(1) / np.maximum(count, 1)
    var = (((p - mean[:, None]) ** 2) * v).sum(1) / np.maximum(count, 1)
    return np.stack([mean, np.sqrt(var), count / v.shape[1]], axis=1)


def _at_rate(track: AudioTrack) -> AudioTrack:
    if track.sr == SAMPLE_RATE:
        return track
    import librosa

    y = librosa.resample(track.samples, orig_sr=track.sr, target_sr=SAMPLE_RATE)
    return AudioTrack(y.astype(np.float32), SAMPLE_RATE, track.has_audio, track.duration,
                      track.audio_end, track.spans)


# --------------------------------------------------------------------------- deepspectrum

DS_MELS = 128
DS_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)



class DeepSpectrumExtractor:
    """Mel spectrogram of each window rendered as a viridis image, through ImageNet DenseNet121.

    Rendering is done with matplotlib's colour map applied directly to the array (no figure):
    128 mel bands x 98 frames, dB, min-max normalised per window, low frequencies at the bottom,
    resized to 224x224 and ImageNet-normalised. Output: the 1024-d pooled DenseNet feature.
    """

    name = "deepspectrum"
    dim = 1024

    def __init__(self, weights: str | Path | None, device: str = "cpu", batch_size: int = 64):
        if weights is None:
            raise HarnessError(
                "deepspectrum needs ImageNet DenseNet121 weights from a local file; the harness "
                "never downloads weights. Get torchvision's densenet121-a639ec97.pth and pass it "
                "with --audio-weights PATH (create_audio_extractor('deepspectrum', weights=PATH))."
            )
        from harness.features.densenet import load_densenet121

        self.weights = Path(weights)
        self.device = device
        self.batch_size = batch_size
        self.model = load_densenet121(self.weights).to(device)
        self._digest = file_digest(self.weights)

    def config(self) -> dict:
        return {"name": self.name, "sr": SAMPLE_RATE, "n_mels": DS_MELS, "n_fft": N_FFT,
                "hop": HOP, "cmap": "viridis", "size": DS_SIZE, "window_s": WINDOW_S,
                "hop_s": HOP_S, "weights_sha256_16": self._digest, "version": 1}

    def spectrograms(self, track: AudioTrack) -> np.ndarray:
        """(rows, frames, mels) mel power in dB of every window (frames computed once)."""
        import librosa

        y, rows = _padded(_at_rate(track))
        mel = librosa.feature.melspectrogram(
            y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=DS_MELS, center=False)
        db = (10.0 * np.log10(mel.T + 1e-10)).astype(np.float32)  # (frames, mels)
        return _pool_frames(db, N_FFT, HOP, SAMPLE_RATE, rows)

    def images(self, track: AudioTrack) -> np.ndarray:
        """(rows, 128, 98, 3) float32 RGB in [0, 1]: one spectrogram image per window."""
        return _render(self.spectrograms(track))

    def __call__(self, track: AudioTrack) -> np.ndarray:
        import torch

        spectra = self.spectrograms(track)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        out = []
        with torch.inference_mode():
            for start in range(0, len(spectra), self.batch_size):
                # rendered per batch: a long video's images would not fit in memory at once
                x = torch.from_numpy(_render(spectra[start:start + self.batch_size]))
                x = torch.nn.functional.interpolate(
                    x.permute(0, 3, 1, 2), size=(DS_SIZE, DS_SIZE), mode="bilinear",
                    align_corners=False)
                x = ((x - mean) / std).to(self.device)
                out.append(self.model(x).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32)


def _render(spectra: np.ndarray) -> np.ndarray:
    """(n, frames, mels) dB -> (n, mels, frames, 3) viridis RGB, each window min-max scaled,
    low frequencies at the bottom as in a plotted spectrogram."""
    from matplotlib import colormaps

    lo = spectra.min(axis=(1, 2), keepdims=True)
    hi = spectra.max(axis=(1, 2), keepdims=True)
    norm = (spectra - lo) / np.maximum(hi - lo, 1e-6)
    lut = colormaps["viridis"](np.linspace(0.0, 1.0, 256))[:, :3].astype(np.float32)
    index = np.clip(np.rint(norm * 255), 0, 255).astype(np.intp)
    return np.ascontiguousarray(lut[np.flip(np.swapaxes(index, 1, 2), axis=1)])


# --------------------------------------------------------------------------- egemaps


class EGeMapsExtractor:
    """eGeMAPSv02 functionals (88-d) of each 1 s window, via the optional ``opensmile`` package."""

    name = "egemaps"
    dim = 88

    def __init__(self) -> None:
        try:
            import opensmile
        except ImportError as exc:
            raise HarnessError(
                "the egemaps extractor needs the optional opensmile package (research licence, "
                "see audEERING's terms): pip install abaw-harness[opensmile]"
            ) from exc
        self._version = getattr(opensmile, "__version__", "?")
        self._smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02,
            feature_level=opensmile.FeatureLevel.Functionals,
        )

    def config(self) -> dict:
        return {"name": self.name, "sr": SAMPLE_RATE, "feature_set": "eGeMAPSv02",
                "opensmile": self._version, "window_s": WINDOW_S, "hop_s": HOP_S, "version": 1}

    def __call__(self, track: AudioTrack) -> np.ndarray:
        y, rows = _padded(_at_rate(track))
        hop, win = round(HOP_S * SAMPLE_RATE), round(WINDOW_S * SAMPLE_RATE)
        feats = [self._smile.process_signal(y[r * hop: r * hop + win], SAMPLE_RATE).to_numpy()[0]
                 for r in range(rows)]
        return np.nan_to_num(np.stack(feats)).astype(np.float32)


# --------------------------------------------------------------------------- registry

#: Audio extractors by name: builders ``(weights, device, **kwargs) -> AudioExtractor``.
AUDIO_EXTRACTORS: Registry = Registry("audio extractor")


def _no_weights(name: str, build):
    def builder(weights: str | Path | None, device: str, **kwargs: Any) -> AudioExtractor:
        if weights is not None:
            raise HarnessError(f"audio extractor {name!r} takes no weights (got {weights})")
        return build()
    return builder


AUDIO_EXTRACTORS.add("logmel", _no_weights("logmel", LogMelExtractor), owner=__name__)
AUDIO_EXTRACTORS.add("deepspectrum", DeepSpectrumExtractor, owner=__name__)
AUDIO_EXTRACTORS.add("egemaps", _no_weights("egemaps", EGeMapsExtractor), owner=__name__)


def list_audio_extractors() -> list[str]:
    return AUDIO_EXTRACTORS.names()


def create_audio_extractor(
    name: str, *, weights: str | Path | None = None, device: str = "cpu", **kwargs: Any
) -> AudioExtractor:
    """Build an audio extractor by name; only ``deepspectrum`` takes (and needs) weights."""
    return AUDIO_EXTRACTORS.get(name)(weights, device=device, **kwargs)
