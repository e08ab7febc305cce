"""Synthetic speech-like audio whose prosody carries the expression.

Voiced segments ("syllables") are harmonic tones with per-sample pitch jitter, an optional
tremolo and breath/roughness noise, scheduled at a class-dependent rate (see ``cues.VOICE_CUES``).
A speaker has a base pitch, a loudness and a talkativeness of their own, and the room adds a noise
floor and random non-speech events, so voice alone does not identify the class either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data.synth.cues import VOICE_CUES

SAMPLE_RATE = 16_000
N_HARMONICS = 6


@dataclass(frozen=True)
class Voice:
    """A speaker: base pitch (Hz), loudness, talkativeness, spectral tilt."""

    f0: float
    loudness: float
    talk: float
    tilt: float


def random_voice(rng: np.random.Generator) -> Voice:
    """Low or high voice, some people louder or chattier than others."""
    f0 = rng.uniform(95, 140) if rng.random() < 0.5 else rng.uniform(175, 240)
    return Voice(f0=f0, loudness=rng.uniform(0.7, 1.3), talk=rng.uniform(0.7, 1.3),
                 tilt=rng.uniform(0.8, 1.6))


def syllables(rng: np.random.Generator, state: np.ndarray, fps: float, voice: Voice,
              seconds: float) -> list[tuple[float, float, int]]:
    """(start s, length s, class) of every voiced segment, following the person's state."""
    out: list[tuple[float, float, int]] = []
    t = float(rng.uniform(0, 0.5))
    while t < seconds:
        cls = int(state[min(int(t * fps), len(state) - 1)])
        cue = VOICE_CUES[cls]
        length = cue.length * rng.uniform(0.6, 1.4)
        if t + length < seconds:
            out.append((t, length, cls))
        t += length + rng.exponential(1.0 / (cue.rate * voice.talk))
    return out


def render_voice(rng: np.random.Generator, state: np.ndarray, fps: float, voice: Voice,
                 n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The voiced track of one person (float32, no room noise)."""
    f0 = np.full(n_samples, voice.f0, dtype=np.float64)
    env = np.zeros(n_samples, dtype=np.float64)
    rough = np.zeros(n_samples, dtype=np.float64)
    for start, length, cls in syllables(rng, state, fps, voice, n_samples / sr):
        cue = VOICE_CUES[cls]
        a, b = int(start * sr), int((start + length) * sr)
        u = np.linspace(0, 1, b - a)
        t = np.arange(b - a) / sr
        pitch = voice.f0 * cue.pitch * rng.uniform(0.92, 1.08) * (1 + cue.slope * (u - 0.5))
        f0[a:b] = pitch * (1 + cue.tremolo * np.sin(2 * np.pi * 7.0 * t + rng.uniform(0, 6.3)))
        env[a:b] = cue.loud * voice.loudness * rng.uniform(0.7, 1.3) * np.sin(np.pi * u) ** 0.6
        rough[a:b] = cue.rough
    f0 *= 1 + rng.normal(0, 0.01, n_samples)  # jitter
    phase = 2 * np.pi * np.cumsum(f0) / sr
    k = np.arange(1, N_HARMONICS + 1)
    weights = k ** -voice.tilt
    tone = np.zeros(n_samples)
    for h, w in zip(k, weights, strict=True):
        tone += w * np.sin(h * phase)
    tone /= weights.sum()
    noisy = (1 - rough) * tone + rough * rng.normal(0, 0.6, n_samples)
    return (0.3 * env * noisy).astype(np.float32)


def room_noise(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Noise floor (level varies per video) plus a few door-slam/click-like events."""
    level = rng.uniform(0.002, 0.02)
    noise = rng.normal(0, level, n_samples)
    noise = np.convolve(noise, np.ones(4) / 4, mode="same")  # a bit darker than white
    for _ in range(int(rng.poisson(n_samples / sr / 10))):
        a = int(rng.integers(0, max(1, n_samples - sr // 5)))
        burst = rng.normal(0, rng.uniform(0.02, 0.15), sr // 5) * np.exp(-np.arange(sr // 5) / 600)
        noise[a:a + len(burst)] += burst[: n_samples - a]
    return noise.astype(np.float32)


def mix(tracks: list[np.ndarray], noise: np.ndarray) -> np.ndarray:
    """Sum voices and room noise, keep the peak below clipping."""
    out = noise + sum(tracks)
    peak = float(np.abs(out).max()) or 1.0
    return (out / max(1.0, peak / 0.9)).astype(np.float32)
