"""A Hugging Face speech model as an audio extractor (``--audio hf:PATH``).

wav2vec2, HuBERT, WavLM and data2vec-audio read 16 kHz mono samples through a stack of strided
convolutions; hidden states come out at the rate the strides give (320 samples, 20 ms, for the
published models, but always computed here from ``conv_stride``/``conv_kernel``). Frame ``j``
reads samples ``[j hop, j hop + rf)`` of the track; its time is the centre of that span on the
video's clock (sample 0 is the first video frame, as for every audio feature), so the rows are
timed features (the cache's ``time.npy``) that the windows align by time. ``rows="windows"``
instead pools them per 1 s window every 0.5 s, like the harness's other audio extractors.

Long tracks run in chunks of ``chunk_s`` seconds with ``context_s`` seconds of audio on each
side that is read but not kept, so memory is bounded by the chunk, not the video; chunks start
on the frame grid, so a chunk's frames are the one-pass frames (equal wherever the model's
receptive field fits inside the context: the convolutions and the positional convolution; the
attention layers see the whole chunk). Waveform normalisation (``do_normalize``) uses the whole
track's mean and variance, the track being the utterance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from harness.device import autocast, resolve_device
from harness.errors import HarnessError
from harness.features.audio.windows import (
    SAMPLE_RATE,
    WINDOW_S,
    AudioTrack,
    window_centres,
    window_flags,
)
from harness.features.huggingface.layers import parse_layers, select
from harness.features.huggingface.loading import load_model, read_config_json

ROWS = ("frames", "windows")


@dataclass
class HfAudioConfig:
    layers: str = "last"  # last | lastN | K, as for faces
    rows: str = "frames"  # frames: every hidden state, timed; windows: mean per 1 s window
    chunk_s: float = 30.0  # audio per forward pass (memory is bounded by this)
    context_s: float = 3.0  # audio read on each side of a chunk and dropped
    batch_size: int = 4  # chunks of equal length per forward pass

    def check(self, where: str):
        if self.rows not in ROWS:
            raise HarnessError(f"{where}: audio rows take {' or '.join(ROWS)}, not {self.rows!r}")
        if self.chunk_s <= 0 or self.context_s < 0 or self.batch_size < 1:
            raise HarnessError(f"{where}: chunk_s must be > 0, context_s >= 0, batch_size >= 1")
        return parse_layers(self.layers, where)


@dataclass(frozen=True)
class FrameGeometry:
    """Where each hidden state sits in the samples: hop (stride product) and receptive field."""

    kernels: tuple[int, ...]
    strides: tuple[int, ...]

    @property
    def hop(self) -> int:
        return math.prod(self.strides)

    @property
    def field(self) -> int:
        rf, step = 1, 1
        for k, s in zip(self.kernels, self.strides):
            rf += (k - 1) * step
            step *= s
        return rf

    def frames(self, n_samples: int) -> int:
        """Hidden states the convolutions give for ``n_samples`` (as the model computes it)."""
        n = n_samples
        for k, s in zip(self.kernels, self.strides):
            n = (n - k) // s + 1 if n >= k else 0
        return max(n, 0)

    def times(self, n_frames: int, sr: int) -> np.ndarray:
        """Centre (s) of each frame's receptive field."""
        return (np.arange(n_frames) * self.hop + self.field / 2) / sr


def geometry(config, folder) -> FrameGeometry:
    kernels, strides = getattr(config, "conv_kernel", None), getattr(config, "conv_stride", None)
    if not kernels or not strides or len(kernels) != len(strides):
        raise HarnessError(f"{folder}: config.json has no conv_kernel/conv_stride of equal "
                           "length; not a wav2vec2-style speech model")
    return FrameGeometry(tuple(int(k) for k in kernels), tuple(int(s) for s in strides))


class HfAudioExtractor:
    """Hidden states of a speech model per frame (timed rows) or per 1 s window.

    ``report`` (set by the caller, e.g. the extraction's progress bar) is called with the
    seconds of audio done after each forward pass: a long track advances the bar chunk by chunk.
    """

    name = "hf"
    report: Callable[[float], None] | None = None

    def __init__(self, spec: str, device: str = "cpu", cfg: HfAudioConfig | None = None):
        self.spec = spec
        self.cfg = cfg or HfAudioConfig()
        self.choice = self.cfg.check(spec)
        loaded = load_model(spec, "audio")
        self.folder, self.digest = loaded.folder, loaded.digest
        self.model_config = loaded.config
        self.device = resolve_device(device)
        self.model = loaded.model.to(self.device)
        self.geometry = geometry(self.model_config, self.folder)
        pre = read_config_json(self.folder, "preprocessor_config.json", required=False)
        self.normalize = bool(pre.get("do_normalize", True))
        self.sr = int(pre.get("sampling_rate", SAMPLE_RATE))
        if self.sr != SAMPLE_RATE:
            raise HarnessError(f"{self.folder}: the model reads {self.sr} Hz audio; the "
                               f"harness decodes {SAMPLE_RATE} Hz mono")
        self.dim = int(self.model_config.hidden_size)
        layers = int(getattr(self.model_config, "num_hidden_layers", 0))
        probe = parse_layers(self.cfg.layers, spec)
        if probe.kind != "last" and probe.n > layers:
            raise HarnessError(f"{self.folder}: --hf-layers {probe.text}: the model has only "
                               f"{layers} layers")

    @property
    def frame_rate(self) -> float:
        return self.sr / self.geometry.hop

    def config(self) -> dict:
        """What the features depend on (the cache key)."""
        return {"name": self.name, "hf": self.digest,
                "model_type": str(getattr(self.model_config, "model_type", "")),
                "layers": self.choice.text, "rows": self.cfg.rows, "chunk_s": self.cfg.chunk_s,
                "context_s": self.cfg.context_s, "normalize": self.normalize, "sr": self.sr,
                "hop": self.geometry.hop, "field": self.geometry.field, "version": 1}

    def __call__(self, track: AudioTrack) -> np.ndarray:
        return self.timed(track)[0]

    def timed(self, track: AudioTrack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(feat (rows, d) float32, time (rows,) s, flag (rows,) no real audio)``."""
        y = _at_rate(track)
        frames = self.hidden_states(y)
        times = self.geometry.times(len(frames), self.sr)
        if self.cfg.rows == "windows":
            return _per_window(frames, times, track.duration), window_centres(track.duration), \
                window_flags(track)
        return frames, times, _frame_flags(track, times)

    def hidden_states(self, y: np.ndarray) -> np.ndarray:
        """(frames, d) hidden states of the samples ``y`` (16 kHz), chunk by chunk."""
        g = self.geometry
        if len(y) < g.field:  # shorter than one frame: pad with silence to one
            y = np.pad(y, (0, g.field - len(y)))
        y = y.astype(np.float32)
        if self.normalize:
            y = (y - y.mean()) / np.sqrt(y.var() + 1e-7)
        n = g.frames(len(y))
        core = max(1, round(self.cfg.chunk_s * self.sr / g.hop))
        ctx = math.ceil(self.cfg.context_s * self.sr / g.hop)
        plan = []  # (first frame read, frames read, first kept, frames kept)
        for a in range(0, n, core):
            b = min(a + core, n)
            a0, b0 = max(0, a - ctx), min(n, b + ctx)
            plan.append((a0, b0 - a0, a - a0, b - a))
        out = np.empty((n, self.dim), np.float32)
        i = 0
        while i < len(plan):
            j = i + 1
            while j < len(plan) and j - i < self.cfg.batch_size and plan[j][1] == plan[i][1]:
                j += 1
            batch = plan[i:j]
            length = (batch[0][1] - 1) * g.hop + g.field
            x = np.stack([y[a0 * g.hop: a0 * g.hop + length] for a0, *_ in batch])
            h = self._forward(torch.from_numpy(x))
            if h.shape[1] != batch[0][1]:
                raise HarnessError(f"{self.folder}: the model gave {h.shape[1]} frames for "
                                   f"{length} samples, the strides say {batch[0][1]}")
            for (a0, _, keep0, kept), rows in zip(batch, h):
                out[a0 + keep0: a0 + keep0 + kept] = rows[keep0: keep0 + kept]
            if self.report is not None:
                self.report(sum(kept for *_, kept in batch) * g.hop / self.sr)
            i = j
        return out

    @torch.inference_mode()
    def _forward(self, x: torch.Tensor) -> np.ndarray:
        with autocast(self.device):
            out = self.model(input_values=x.to(self.device),
                             output_hidden_states=self.choice.needs_hidden_states,
                             return_dict=True)
        h = select(self.choice, out.last_hidden_state, getattr(out, "hidden_states", None),
                   self.folder)
        return h.float().cpu().numpy()


def _at_rate(track: AudioTrack) -> np.ndarray:
    if track.sr == SAMPLE_RATE:
        return np.asarray(track.samples, np.float32)
    import librosa

    return librosa.resample(np.asarray(track.samples, np.float32), orig_sr=track.sr,
                            target_sr=SAMPLE_RATE).astype(np.float32)


def _frame_flags(track: AudioTrack, times: np.ndarray) -> np.ndarray:
    """True where a frame's centre holds no real audio (no stream, a gap, past the end)."""
    if not track.has_audio:
        return np.ones(times.size, bool)
    spans = track.spans
    if spans is None:
        spans = ((0.0, track.duration if track.audio_end is None else track.audio_end),)
    flags = np.ones(times.size, bool)
    for begin, end in spans:
        flags &= ~((times >= begin) & (times < end))
    return flags


def _per_window(frames: np.ndarray, times: np.ndarray, duration: float) -> np.ndarray:
    """Mean of the frames centred in each 1 s window every 0.5 s (the nearest frame if none)."""
    starts = window_centres(duration) - WINDOW_S / 2
    lo = np.searchsorted(times, starts, side="left")
    hi = np.searchsorted(times, starts + WINDOW_S, side="left")
    csum = np.concatenate([np.zeros((1, frames.shape[1])), np.cumsum(frames, 0, np.float64)])
    count = hi - lo
    out = (csum[hi] - csum[lo]) / np.maximum(count, 1)[:, None]
    empty = count == 0
    if empty.any():
        near = np.clip(np.searchsorted(times, starts[empty] + WINDOW_S / 2), 0, len(times) - 1)
        out[empty] = frames[near]
    return out.astype(np.float32)
