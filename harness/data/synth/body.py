"""Upper-body skeletons in OpenPose COCO-18 order, moving with the expression's arousal.

Arousal (``cues.AROUSAL``) sets the amplitude of arm and head motion, posture carries some valence
(``cues.SLUMP``: sunken head and shoulders for Sadness). Motion is a sum of a few sinusoids per
joint at person-specific speeds, so any frame time can be evaluated (video drawing needs every
frame, the OpenPose files only 2 per second). Detection noise is added only to the files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data.synth.cues import AROUSAL, SLUMP

N_KEYPOINTS = 18
# COCO-18: 0 nose, 1 neck, 2-4 right arm, 5-7 left arm, 8-10 / 11-13 legs, 14-17 eyes, ears.
#: Rest pose relative to the neck, in units of a 120 px high frame (x right, y down).
REST = np.array(
    [[0, -20], [0, 0], [-17, 3], [-22, 24], [-18, 44], [17, 3], [22, 24], [18, 44],
     [-10, 50], [0, 0], [0, 0], [10, 50], [0, 0], [0, 0], [-4, -24], [4, -24], [-9, -22],
     [9, -22]],
    dtype=np.float32,
)
#: Joints a waist-up framing never shows (knees, ankles): always written as 0,0,0.
HIDDEN = np.array([9, 10, 12, 13])
ARMS = np.array([3, 4, 6, 7])
HEAD = np.array([0, 14, 15, 16, 17])
LIMBS = ((1, 0), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7), (1, 8), (1, 11), (0, 14),
         (0, 15), (14, 16), (15, 17))


@dataclass(frozen=True)
class Body:
    """Where a person stands, how big they are and how they move."""

    neck: tuple[float, float]  # px
    scale: float
    expressive: float  # how strongly arousal shows in this person's motion
    freqs: np.ndarray  # (3,) Hz
    phases: np.ndarray  # (N_KEYPOINTS, 2, 3)


def random_body(rng: np.random.Generator, neck: tuple[float, float], scale: float) -> Body:
    return Body(neck=neck, scale=scale, expressive=rng.uniform(0.7, 1.3),
                freqs=rng.uniform(0.6, 2.2, 3), phases=rng.uniform(0, 2 * np.pi, (18, 2, 3)))


def drive(state: np.ndarray, strength: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (arousal, slump) from the expression script, smoothed over ~0.5 s."""
    level = 0.3 + 0.7 * strength
    width = max(1, int(fps / 2))
    kernel = np.ones(width) / width
    arousal = np.convolve(AROUSAL[state] * level, kernel, mode="same")
    slump = np.convolve(SLUMP[state] * level, kernel, mode="same")
    return arousal.astype(np.float32), slump.astype(np.float32)


def keypoints(body: Body, times: np.ndarray, arousal: np.ndarray,
              slump: np.ndarray) -> np.ndarray:
    """(len(times), 18, 2) clean pixel positions; arousal/slump are given at those times."""
    wave = np.sin(2 * np.pi * body.freqs * times[:, None, None, None] + body.phases)
    wave = wave.sum(-1) / 2.0  # (T, 18, 2)
    amp = (0.08 + arousal * body.expressive)[:, None, None]
    gain = np.zeros((N_KEYPOINTS, 2), dtype=np.float32)
    gain[ARMS] = (12.0, 12.0)
    gain[[3, 6]] *= 0.5
    gain[HEAD] = (3.0, 2.0)
    pts = REST[None] + amp * gain * wave
    pts[:, [4, 7], 1] -= 12 * amp[:, :, 0]  # agitated hands come up
    s = slump[:, None]
    pts[:, HEAD, 1] += 9 * s
    pts[:, HEAD, 0] *= 1 - 0.2 * s  # head turns down: features bunch together
    pts[:, 1, 1] += 4 * s[:, 0]
    pts[:, [2, 5], 1] += 4 * s
    pts[:, [2, 3, 4, 5, 6, 7], 0] *= 1 - 0.12 * s
    pts = pts * body.scale + np.asarray(body.neck, dtype=np.float32)
    pts[:, HIDDEN] = 0
    return pts


def detect(rng: np.random.Generator, pts: np.ndarray, width: int, height: int) -> np.ndarray:
    """What OpenPose would report: jittered points with confidences; misses are 0,0,0."""
    n = pts.shape[0]
    out = np.zeros((n, N_KEYPOINTS, 3), dtype=np.float64)
    out[..., :2] = pts + rng.normal(0, 0.8, pts.shape)
    out[..., 2] = rng.uniform(0.35, 0.95, (n, N_KEYPOINTS))
    inside = (out[..., 0] >= 0) & (out[..., 0] < width) & (out[..., 1] >= 0) & (
        out[..., 1] < height)
    missed = (rng.random((n, N_KEYPOINTS)) < 0.04) | ~inside
    missed[:, HIDDEN] = True
    out[missed] = 0.0
    return out
