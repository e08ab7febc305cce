"""Rendering 112x112 aligned face crops whose geometry shows the expression.

A face is drawn from an ``Identity`` (shape, skin, feature placement, resting-face bias) and a
per-frame AU vector (see ``cues.AU_NAMES``). Nuisance that a real face model must learn to ignore
is added on top: head pose, lighting, blur, occlusion and sensor noise. Identity biases (a person
whose resting brows sit high, whose mouth corners droop) keep single-frame face classification
from being trivial.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from harness.data.synth.script import runs_mask

SIZE = 112
_LINE = cv2.LINE_AA
#: Resting-face offsets per AU (sd): small next to a full expression (1.0), so a person's
#: neutral face does not read as another class.
BIAS_SD = np.array([0.10, 0.08, 0.08, 0.10, 0.06, 0.04, 0.10, 0.0, 0.05], dtype=np.float32)
N_BIAS = len(BIAS_SD)
#: Head motion and alignment jitter of the crops (sd of a random signal through knots every
#: 0.25 s): angle (deg), shift (px), scale. Fast enough that it does not stay constant over an
#: expression segment (slow drift would let a face model tell segments apart, i.e. memorise
#: them: measured, it widened the train/validation gap), like real alignment jitter.
JITTER_SD = (5.0, 2.0, 0.04)
JITTER_KNOT_S = 0.25
#: Lighting drift (sd over ~1 s): gain, horizontal tilt.
LIGHT_SD = (0.03, 0.025)
SENSOR_NOISE = 4.0  # sd of the per-pixel noise, in 0..255 grey levels


@dataclass(frozen=True)
class Identity:
    """Everything about a face that does not change with the expression."""

    skin: tuple[int, int, int]  # BGR
    hair: tuple[int, int, int]
    background: tuple[int, int, int]
    face_w: float
    face_h: float
    eye_dx: float
    eye_y: float
    mouth_y: float
    brow_thick: int
    au_bias: np.ndarray  # (N_AU,) resting-face offsets added to every frame


def random_identity(rng: np.random.Generator) -> Identity:
    """A new person: skin tone from dark to light, hair, proportions, resting-face bias."""
    tone = rng.uniform(0.25, 1.0)
    skin = (int(60 + 130 * tone), int(80 + 120 * tone), int(110 + 120 * tone))
    hair_level = rng.uniform(10, 120)
    hair = (int(hair_level * 0.6), int(hair_level * 0.8), int(hair_level))
    bias = (rng.normal(0, 1, N_BIAS) * BIAS_SD).astype(np.float32)
    return Identity(
        skin=skin, hair=hair, background=tuple(int(v) for v in rng.integers(40, 220, 3)),
        face_w=rng.uniform(0.9, 1.08), face_h=rng.uniform(0.92, 1.06),
        eye_dx=rng.uniform(16.5, 21.0), eye_y=rng.uniform(-2.5, 2.5),
        mouth_y=rng.uniform(-2.5, 2.5),
        brow_thick=int(rng.integers(3, 5)), au_bias=bias,
    )


def _pts(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """cv2 polyline points with 4 fractional bits, so anti-aliased curves move smoothly."""
    return (np.stack([xs, ys], axis=1) * 16).round().astype(np.int32).reshape(-1, 1, 2)


def _draw_eyes(img: np.ndarray, ident: Identity, cx: float, ey: float, au: np.ndarray) -> None:
    half_h = float(np.clip(4.0 * (1 + 0.8 * au[3]), 0.6, 9.5))
    for side in (-1, 1):
        ex = cx + side * ident.eye_dx
        cv2.ellipse(img, (round(ex * 16), round(ey * 16)), (9 * 16, round(half_h * 16)),
                    0, 0, 360, (235, 235, 240), -1, _LINE, 4)
        cv2.circle(img, (round(ex * 16), round(ey * 16)), round(min(4.2, half_h + 0.4) * 16),
                   (40, 50, 70), -1, _LINE, 4)
        cv2.ellipse(img, (round(ex * 16), round(ey * 16)), (9 * 16, round(half_h * 16)),
                    0, 180, 360, (40, 40, 50), 2, _LINE, 4)


def _draw_brows(img: np.ndarray, ident: Identity, cx: float, ey: float, au: np.ndarray) -> None:
    raise_, lower, inner = float(au[0]), float(au[1]), float(au[2])
    base = ey - 12 - 7.5 * raise_ + 5 * lower
    brow = tuple(int(c * 0.45) for c in ident.hair)  # darker than the hair: always visible
    for side in (-1, 1):
        xs = cx + side * np.array([ident.eye_dx - 8, ident.eye_dx + 1, ident.eye_dx + 10])
        ys = np.array([base - 6.5 * inner + 4 * lower, base - 2.5 - raise_,
                       base + 1 + 1.0 * inner])
        cv2.polylines(img, [_pts(xs, ys)], False, brow, ident.brow_thick, _LINE, 4)


def _draw_nose(img: np.ndarray, ident: Identity, cx: float, ey: float, au: np.ndarray) -> None:
    shade = tuple(int(c * 0.75) for c in ident.skin)
    xs = np.array([cx, cx - 4, cx + 2.5])
    ys = np.array([ey + 3, ey + 21, ey + 23])
    cv2.polylines(img, [_pts(xs, ys)], False, shade, 2, _LINE, 4)
    wrinkle = float(au[7])
    if wrinkle > 0.15:
        dark = tuple(int(c * (1 - 0.4 * min(wrinkle, 1.2))) for c in ident.skin)
        for dy in (4.0, 8.0):
            xs = np.array([cx - 6, cx + 6])
            ys = np.array([ey + dy, ey + dy])
            cv2.polylines(img, [_pts(xs, ys)], False, dark, 2, _LINE, 4)
    flare = 2.5 + 2 * max(wrinkle, 0)
    for side in (-1, 1):
        cv2.ellipse(img, (round((cx + side * 5) * 16), round((ey + 22) * 16)),
                    (round(flare * 16), 24), 0, 0, 360, shade, -1, _LINE, 4)


def _draw_mouth(img: np.ndarray, ident: Identity, cx: float, my: float, au: np.ndarray) -> None:
    smile, open_, down, nose = float(au[4]), float(au[5]), float(au[6]), float(au[7])
    smirk = float(au[8])
    half_w = 14 + 5 * smile - 2 * down + 2 * max(open_, 0)
    corner = -8 * smile + 6.5 * down  # + = corners down
    u = np.linspace(-1, 1, 13)
    upper = my + corner * u**2 - 3 * max(nose, 0) * (1 - u**2) - 9 * smirk * np.clip(u, 0, 1) ** 2
    height = 16 * max(open_, 0)
    lower = upper + (height + 1) * (1 - u**2)
    xs = cx + half_w * u
    lip = (70, 70, 160)
    if height > 1:
        poly = np.concatenate([_pts(xs, upper), _pts(xs[::-1], lower[::-1])])
        cv2.fillPoly(img, [poly], (40, 30, 90), _LINE, 4)
        cv2.polylines(img, [_pts(xs, lower)], False, lip, 3, _LINE, 4)
    cv2.polylines(img, [_pts(xs, upper)], False, lip, 3, _LINE, 4)


def draw_face(ident: Identity, au: np.ndarray) -> np.ndarray:
    """The frontal, clean face of ``ident`` showing ``au`` (plus the identity's resting bias)."""
    au = au + ident.au_bias
    img = np.empty((SIZE, SIZE, 3), dtype=np.uint8)
    img[:] = ident.background
    cx, cy = SIZE / 2, 60.0
    ax, ay = 42 * ident.face_w, 52 * ident.face_h
    cv2.ellipse(img, (round(cx * 16), round((cy - 14) * 16)), (round((ax + 5) * 16),
                round((ay - 5) * 16)), 0, 0, 360, ident.hair, -1, _LINE, 4)
    cv2.ellipse(img, (round(cx * 16), round(cy * 16)), (round(ax * 16), round(ay * 16)),
                0, 0, 360, ident.skin, -1, _LINE, 4)
    ey = cy - 12 + ident.eye_y
    _draw_eyes(img, ident, cx, ey, au)
    _draw_brows(img, ident, cx, ey, au)
    _draw_nose(img, ident, cx, ey, au)
    _draw_mouth(img, ident, cx, cy + 30 + ident.mouth_y, au)
    return img


@dataclass(frozen=True)
class Nuisance:
    """Per-frame capture conditions of one person's crops (arrays of length n)."""

    angle: np.ndarray  # degrees
    shift: np.ndarray  # (n, 2) px
    scale: np.ndarray
    gain: np.ndarray
    tilt: np.ndarray  # horizontal lighting gradient strength
    blur: np.ndarray  # Gaussian sigma, 0 = sharp
    occlusion: np.ndarray  # int8: 0 none, 1 hand (ellipse), 2 bar


def _smooth_walk(rng: np.random.Generator, n: int, fps: float, sd: float,
                 knot_s: float = 1.0) -> np.ndarray:
    """A random signal (head motion, lighting drift) through random knots ``knot_s`` apart."""
    steps = max(2, int(n / fps / knot_s) + 2)
    knots = rng.normal(0, sd, steps)
    return np.interp(np.arange(n) / fps / knot_s, np.arange(steps), knots).astype(np.float32)


def random_nuisance(rng: np.random.Generator, n: int, fps: float) -> Nuisance:
    """Head pose, lighting, blur runs and occlusion runs for ``n`` frames."""
    blur = np.where(runs_mask(rng, n, fps, rng.uniform(0, 0.1), (0.2, 1.5)),
                    rng.uniform(0.8, 2.0), 0.0).astype(np.float32)
    occl = runs_mask(rng, n, fps, rng.uniform(0, 0.06), (0.2, 1.2)).astype(np.int8)
    occl *= np.int8(rng.integers(1, 3))
    return Nuisance(
        angle=_smooth_walk(rng, n, fps, JITTER_SD[0], JITTER_KNOT_S),
        shift=np.stack([_smooth_walk(rng, n, fps, JITTER_SD[1], JITTER_KNOT_S),
                        _smooth_walk(rng, n, fps, JITTER_SD[1], JITTER_KNOT_S)], 1),
        scale=1 + _smooth_walk(rng, n, fps, JITTER_SD[2], JITTER_KNOT_S),
        gain=rng.uniform(0.7, 1.25) + _smooth_walk(rng, n, fps, LIGHT_SD[0]),
        tilt=rng.uniform(-0.3, 0.3) + _smooth_walk(rng, n, fps, LIGHT_SD[1]),
        blur=blur,
        occlusion=occl,
    )


class NoiseBank:
    """A few pre-drawn sensor-noise images reused at random: per-frame noise without the cost."""

    def __init__(self, rng: np.random.Generator, size: int = SIZE, count: int = 16):
        self.images = (SENSOR_NOISE * rng.normal(0, 1, (count, size, size, 3))).astype(np.float32)
        self.ramp = np.linspace(-1, 1, size, dtype=np.float32)[None, :, None]
        self._rng = rng

    def pick(self) -> np.ndarray:
        return self.images[int(self._rng.integers(len(self.images)))]


def finish(face: np.ndarray, nz: Nuisance, k: int, noise: NoiseBank, skin: tuple) -> np.ndarray:
    """Apply frame ``k``'s (0-based) pose, lighting, blur, occlusion and noise to a clean face."""
    m = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), float(nz.angle[k]), float(nz.scale[k]))
    m[:, 2] += nz.shift[k]
    img = cv2.warpAffine(face, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
    if nz.occlusion[k] == 1:
        cv2.ellipse(img, (70 * 16, 92 * 16), (26 * 16, 16 * 16), -25, 0, 360,
                    tuple(int(c * 0.9) for c in skin), -1, _LINE, 4)
    elif nz.occlusion[k] == 2:
        cv2.rectangle(img, (0, 70), (SIZE, 100), (30, 30, 30), -1)
    if nz.blur[k] > 0:
        img = cv2.GaussianBlur(img, (0, 0), float(nz.blur[k]))
    light = nz.gain[k] * (1 + nz.tilt[k] * noise.ramp)
    out = img * light
    out += noise.pick()
    return np.clip(out, 0, 255, out=out).astype(np.uint8)
