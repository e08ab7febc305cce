"""Expression timelines: what a person feels, what the annotator wrote, what the face shows.

A person's video is a sequence of expression *segments* lasting seconds, with onset and offset
ramps, like the real annotation. Three views of it are kept apart on purpose:

- ``state``: the expression actually felt (drives voice and body, also under ``-1`` labels);
- ``labels``: the annotation, i.e. ``state`` with runs of ``-1`` (invalid frames);
- ``au``: what the face displays per frame, which adds noise that only temporal context removes
  (per-frame intensity jitter and "flicker" frames showing a random other expression).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.data.labels import INVALID, NUM_CLASSES
from harness.data.synth.cues import (
    AU_NAMES,
    CLASS_WEIGHTS,
    FACE_PROTOTYPES,
    N_AU,
    OTHER,
    OTHER_AU_NOISE,
    OTHER_BLEND,
    OTHER_SMIRK,
)

SMIRK = AU_NAMES.index("smirk")
SEGMENT_SECONDS = (1.0, 4.0)
RAMP_SECONDS = (0.1, 0.35)
INTENSITY_JITTER = 0.12  # sd of the per-frame intensity noise (intensity 1 = full expression)
FLICKER_RATE = 0.06  # fraction of frames where the face shows a random other class
LEVEL_STEPS = 24
STRENGTH = (0.75, 1.0)  # peak intensity of a segment's expression  # displayed intensity resolution
INVALID_FRACTION = (0.0, 0.20)
INVALID_RUN_SECONDS = (0.5, 4.0)
NO_FACE_FRACTION = (0.0, 0.06)
NO_FACE_RUN_SECONDS = (0.1, 1.5)


@dataclass(frozen=True)
class Timeline:
    """Per-frame expression script of one person (index k-1 = frame k)."""

    state: np.ndarray  # int8 (n,), 0..7
    labels: np.ndarray  # int8 (n,), -1..7
    strength: np.ndarray  # float32 (n,), clean expression intensity 0..1 (ramps)
    au: np.ndarray  # float32 (n, N_AU), displayed face (noisy, no identity bias)
    has_face: np.ndarray  # bool (n,), an aligned jpg exists for this frame


def segment_bounds(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
    """Frame boundaries ``[0, b1, ..., n]`` of segments lasting SEGMENT_SECONDS each."""
    lo, hi = SEGMENT_SECONDS
    lengths = rng.uniform(lo, hi, size=int(n / (lo * fps)) + 2) * fps
    bounds = np.concatenate([[0.0], np.cumsum(lengths)])
    bounds = bounds[bounds < n].astype(np.int64)
    return np.append(bounds, n)


def even_bounds(n: int, segments: int) -> np.ndarray:
    """``segments`` equal segments of ``n`` frames (a short video that must hold many classes)."""
    return np.linspace(0, n, segments + 1).astype(np.int64)


def class_counts(total: int, minimum: int) -> np.ndarray:
    """Segments per class for a split of ``total`` segments: ``minimum`` of each class, the rest
    shared by CLASS_WEIGHTS (largest remainder), so every split has the same class mix."""
    rest = total - minimum * NUM_CLASSES
    if rest < 0:
        raise ValueError(f"{total} segments cannot hold {minimum} of each of {NUM_CLASSES} classes")
    raw = CLASS_WEIGHTS / CLASS_WEIGHTS.sum() * rest
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(raw - counts)[::-1][: rest - int(counts.sum())]] += 1
    return counts + minimum


def split_classes(rng: np.random.Generator, segments: Sequence[int], minimum: int,
                  lengths: Sequence[float] | None = None) -> list[np.ndarray]:
    """Classes of every segment of a split's persons (``segments`` per person): the split's
    class counts (``class_counts``) over the persons, never the same class twice in a row
    within a person.

    With ``lengths`` (every segment's duration, persons in order) each class gets its segments
    spread over the range of lengths, from the longest to the shortest, so that it also gets
    about the same share of *frames* in every split: drawn at random, one class could take
    the long segments of validation and the short ones of test (measured: a 7-point difference
    in a class's frame share between the two), and validation would not predict test.
    """
    counts = class_counts(int(sum(segments)), minimum)
    pool = np.repeat(np.arange(NUM_CLASSES), counts)
    if lengths is None:
        pool = pool[rng.permutation(pool.size)]
        length = np.zeros(pool.size)
    else:
        length = np.asarray(lengths, dtype=np.float64)
        # class c's j-th segment goes to rank (j + u) / k_c of the segments sorted by length
        rank = np.concatenate([(np.arange(k) + rng.random(k)) / k for k in counts])
        by_length = np.argsort(-length, kind="stable")
        pool[by_length] = pool[np.argsort(rank, kind="stable")]
    starts = np.cumsum([0, *segments])
    for i in range(pool.size):
        if i in starts or pool[i] != pool[i - 1]:
            continue
        later = np.flatnonzero(pool[i + 1:] != pool[i - 1]) + i + 1
        if later.size:  # swap in a different class from later, of the most similar length
            gap = np.abs(length[later] - length[i])
            j = int(rng.choice(later[gap <= gap.min() + 0.25]))
            pool[i], pool[j] = pool[j], pool[i]
    return [pool[a:b].copy() for a, b in zip(starts[:-1], starts[1:], strict=True)]


def ramp_envelope(rng: np.random.Generator, length: int, fps: float) -> np.ndarray:
    """0 -> 1 -> 0 intensity over one segment with smooth onset and offset ramps."""
    ramp = max(1, int(rng.uniform(*RAMP_SECONDS) * fps))
    t = np.arange(length, dtype=np.float32)
    up = np.clip((t + 1) / ramp, 0, 1)
    down = np.clip((length - t) / ramp, 0, 1)
    env = np.minimum(up, down)
    return env * env * (3 - 2 * env)  # smoothstep


def runs_mask(rng: np.random.Generator, n: int, fps: float, fraction: float,
              run_seconds: tuple[float, float]) -> np.ndarray:
    """Boolean mask covering about ``fraction`` of ``n`` frames in runs (not single frames).

    The last run is cut to what is still missing (down to the shortest run length), so a short
    video gets its fraction rather than one long run that covers far more of it.
    """
    mask = np.zeros(n, dtype=bool)
    target = int(fraction * n)
    shortest = max(1, int(run_seconds[0] * fps))
    while (covered := int(mask.sum())) < target:
        length = max(1, int(rng.uniform(*run_seconds) * fps))
        length = max(shortest, min(length, target - covered))
        start = int(rng.integers(0, max(1, n - length)))
        mask[start:start + length] = True
    return mask


def displayed_face(rng: np.random.Generator, state: np.ndarray, strength: np.ndarray,
                   other_mix: np.ndarray) -> np.ndarray:
    """Per-frame AU vectors: prototype x jittered intensity, with flicker frames.

    ``other_mix`` (n, N_AU) is the weak mixed face shown during Other segments.
    """
    n = len(state)
    shown = state.copy()
    flicker = rng.random(n) < FLICKER_RATE
    shown[flicker] = rng.integers(0, NUM_CLASSES, size=int(flicker.sum()))
    level = strength.copy()
    level[flicker] = rng.uniform(0.5, 1.0, size=int(flicker.sum()))
    level = np.clip(level + rng.normal(0, INTENSITY_JITTER, n), 0.0, 1.3)
    # Quantised so the renderer can reuse faces it already drew (same class, same level).
    level = (np.round(level * LEVEL_STEPS) / LEVEL_STEPS).astype(np.float32)
    au = FACE_PROTOTYPES[shown] * level[:, None]
    is_other = shown == OTHER
    au[is_other] = other_mix[is_other] * level[is_other, None]
    return au.astype(np.float32)


def make_timeline(rng: np.random.Generator, n: int, fps: float, bounds: np.ndarray,
                  classes: np.ndarray) -> Timeline:
    """The whole script of one person from its segments (``bounds``, one class each): ramps,
    -1 runs, face noise, missing faces."""
    state = np.repeat(classes, np.diff(bounds)).astype(np.int8)
    strength = np.zeros(n, dtype=np.float32)
    other_mix = np.zeros((n, N_AU), dtype=np.float32)
    for cls, a, b in zip(classes, bounds[:-1], bounds[1:], strict=True):
        strength[a:b] = rng.uniform(*STRENGTH) * ramp_envelope(rng, int(b - a), fps)
        if cls == OTHER:
            other = int(rng.choice([c for c in range(NUM_CLASSES) if c != OTHER]))
            mix = FACE_PROTOTYPES[other] * rng.uniform(*OTHER_BLEND)
            other_mix[a:b] = mix + rng.normal(0, OTHER_AU_NOISE, N_AU)
            other_mix[a:b, SMIRK] = rng.uniform(*OTHER_SMIRK)
    labels = state.copy()
    invalid = runs_mask(rng, n, fps, rng.uniform(*INVALID_FRACTION), INVALID_RUN_SECONDS)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if invalid[a:b].all():  # keep every planned segment (and its class) partly visible
            invalid[a + (b - a) // 4: b - (b - a) // 4] = False
    labels[invalid] = INVALID
    au = displayed_face(rng, state, strength, other_mix)
    no_face = runs_mask(rng, n, fps, rng.uniform(*NO_FACE_FRACTION), NO_FACE_RUN_SECONDS)
    return Timeline(state=state, labels=labels, strength=strength, au=au, has_face=~no_face)
