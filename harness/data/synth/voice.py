"""Synthetic speech-like audio whose prosody carries the expression.

Voiced segments ("syllables") are harmonic tones with per-sample pitch jitter, an optional
tremolo and breath/roughness noise, scheduled at a class-dependent rate (see ``cues.VOICE_CUES``).
People do not talk all the time: in each expression segment a person speaks or stays silent
(``cues.TALK`` times their talkativeness), and a silent stretch says nothing about the class.
A speaker has a base pitch (anywhere from a low to a high voice), a loudness, a talkativeness and
an expressiveness (how far their pitch and loudness move with the expression) of their own, and
the room adds a noise floor, background talk and random non-speech events, so voice alone is a
weaker cue than the face (as in Aff-Wild2), strongest on the pairs the face confuses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data.synth.cues import TALK, VOICE_CUES

SAMPLE_RATE = 16_000
N_HARMONICS = 6
BACKGROUND_TALK_RATE = 0.3  # share of videos with someone talking off camera


@dataclass(frozen=True)
class Voice:
    """A speaker: base pitch (Hz), loudness, talkativeness, spectral tilt, expressiveness."""

    f0: float
    loudness: float
    talk: float  # scales the chance of speaking in a segment (cues.TALK)
    tilt: float
    expressive: float  # 1: the class's full pitch/loudness change; 0.5: half of it


def random_voice(rng: np.random.Generator) -> Voice:
    """A low or a high voice, some people louder, chattier or flatter than others."""
    f0 = rng.uniform(95, 140) if rng.random() < 0.5 else rng.uniform(175, 240)
    return Voice(f0=f0, loudness=float(np.exp(rng.normal(0.0, 0.25))), talk=rng.uniform(0.7, 1.0),
                 tilt=rng.uniform(0.8, 1.6), expressive=rng.uniform(0.7, 1.0))


def talking(rng: np.random.Generator, state: np.ndarray, voice: Voice) -> np.ndarray:
    """Per frame: does the person speak? Decided once per run of the same state (a segment)."""
    starts = np.flatnonzero(np.diff(state.astype(np.int64), prepend=-1))
    ends = np.append(starts[1:], len(state))
    out = np.zeros(len(state), dtype=bool)
    for a, b in zip(starts, ends, strict=True):
        out[a:b] = rng.random() < TALK[int(state[a])] * voice.talk
    return out


def syllables(rng: np.random.Generator, state: np.ndarray, fps: float, voice: Voice,
              seconds: float) -> list[tuple[float, float, int]]:
    """(start s, length s, class) of every voiced segment, following the person's state."""
    speaks = talking(rng, state, voice)
    out: list[tuple[float, float, int]] = []
    t = float(rng.uniform(0, 0.5))
    while t < seconds:
        k = min(int(t * fps), len(state) - 1)
        cls = int(state[k])
        cue = VOICE_CUES[cls]
        length = cue.length * rng.uniform(0.6, 1.4)
        if speaks[k] and t + length < seconds:
            out.append((t, length, cls))
        t += length + rng.exponential(1.0 / cue.rate)
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
        shift = cue.pitch ** voice.expressive  # a flat speaker moves their pitch less
        pitch = voice.f0 * shift * rng.uniform(0.9, 1.1) * (1 + cue.slope * (u - 0.5))
        f0[a:b] = pitch * (1 + cue.tremolo * np.sin(2 * np.pi * 7.0 * t + rng.uniform(0, 6.3)))
        loud = cue.loud ** voice.expressive * voice.loudness * rng.uniform(0.7, 1.3)
        env[a:b] = loud * np.sin(np.pi * u) ** 0.6
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
    """Noise floor (level varies per video from quiet to noisy), background talk in some videos
    (voiced syllables of a random pitch and rate, unrelated to anyone's expression) and a few
    door-slam/click-like events."""
    level = float(np.exp(rng.uniform(np.log(0.003), np.log(0.03))))
    noise = rng.normal(0, level, n_samples)
    if rng.random() < BACKGROUND_TALK_RATE:
        noise += background_talk(rng, n_samples, sr)
    noise = np.convolve(noise, np.ones(4) / 4, mode="same")  # a bit darker than white
    for _ in range(int(rng.poisson(n_samples / sr / 10))):
        a = int(rng.integers(0, max(1, n_samples - sr // 5)))
        burst = rng.normal(0, rng.uniform(0.02, 0.15), sr // 5) * np.exp(-np.arange(sr // 5) / 600)
        noise[a:a + len(burst)] += burst[: n_samples - a]
    return noise.astype(np.float32)


def background_talk(rng: np.random.Generator, n_samples: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A distant talker (TV, someone off camera): harmonic syllables at a random pitch."""
    f0 = np.full(n_samples, float(np.exp(rng.uniform(np.log(90.0), np.log(250.0)))))
    env = np.zeros(n_samples)
    t = float(rng.uniform(0, 1))
    rate, gain = rng.uniform(0.8, 3.0), rng.uniform(0.05, 0.25)
    while t < n_samples / sr - 0.5:
        length = rng.uniform(0.1, 0.35)
        a, b = int(t * sr), int((t + length) * sr)
        u = np.linspace(0, 1, b - a)
        f0[a:b] *= rng.uniform(0.8, 1.25)
        env[a:b] = gain * np.sin(np.pi * u) ** 0.6
        t += length + rng.exponential(1.0 / rate)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    return 0.3 * env * (np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(3 * phase)) / 1.75


def mix(tracks: list[np.ndarray], noise: np.ndarray) -> np.ndarray:
    """Sum voices and room noise, keep the peak below clipping."""
    out = noise + sum(tracks)
    peak = float(np.abs(out).max()) or 1.0
    return (out / max(1.0, peak / 0.9)).astype(np.float32)
