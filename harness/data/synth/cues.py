"""The signal design of the embedded corpus: how each class shows in face, voice and body.

All three modalities read their per-class cues from here, so the *balance* between them (what
each one can and cannot tell apart) is visible and tunable in one place. The design goal: every
modality is informative but incomplete, so fusion beats any single one.

- Face: Fear and Surprise are nearly the same face (raised brows, wide eyes, open mouth), Anger
  and Disgust are close (lowered brows, narrowed eyes; Disgust adds a slight nose wrinkle), and
  Other is a mild, mixed face close to Neutral (a weak blend of another class and a faint
  one-sided smirk).
- Voice: separates exactly those pairs: Fear = high trembling pitch vs Surprise = short rare
  bursts; Anger = loud, low, rough vs Disgust = quiet, low; Other = lots of mid-pitch talking vs
  Neutral = little speech.
- Body: arousal (agitated arms and head for Anger/Fear/Surprise/Happiness, still for Neutral,
  Sadness) and valence through posture (slumped for Sadness, a little for Disgust).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data.labels import NUM_CLASSES

# Facial "action units" the renderer understands (units: 1 = a full-strength expression).
AU_NAMES: tuple[str, ...] = (
    "brow_raise", "brow_lower", "inner_brow", "eye_open",
    "smile", "mouth_open", "corner_down", "nose_wrinkle", "smirk",
)
N_AU = len(AU_NAMES)
OTHER = 7

#: Class -> AU prototype. Row order is the ABAW class order (N, A, D, F, H, Sa, Su, O).
#: Other (row 7) is all zero here: it is drawn per segment as a weak blend of other faces.
FACE_PROTOTYPES = np.array(
    [
        # raise lower inner  eye  smile open  down  nose  smirk
        [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00],  # Neutral
        [0.00, 1.00, 0.00, -0.30, 0.00, 0.10, 0.35, 0.25, 0.00],  # Anger
        [0.00, 0.80, 0.00, -0.35, 0.00, 0.15, 0.45, 0.55, 0.00],  # Disgust (close to Anger)
        [0.85, 0.00, 0.35, 1.00, 0.00, 0.65, 0.10, 0.00, 0.00],  # Fear (close to Surprise)
        [0.05, 0.00, 0.00, -0.25, 1.00, 0.35, 0.00, 0.00, 0.00],  # Happiness
        [0.00, 0.20, 1.00, -0.35, 0.00, 0.00, 0.85, 0.00, 0.00],  # Sadness
        [1.00, 0.00, 0.15, 1.00, 0.00, 0.80, 0.00, 0.00, 0.00],  # Surprise
        [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00],  # Other (see OTHER_BLEND)
    ],
    dtype=np.float32,
)
#: Other = this fraction of a random other class's face, plus AU noise of this scale, plus a
#: one-sided smirk of this strength: a mixed, weak face that is only partly readable as Other.
OTHER_BLEND = (0.25, 0.45)
OTHER_AU_NOISE = 0.12
OTHER_SMIRK = (0.3, 0.8)

#: Real-set-like class imbalance for the synthetic timelines, softened so that the rare classes
#: get about 9 segments in each held-out split (about 5 at the real set's shares): a class's F1
#: from a handful of segments swings by tens of points with the split's draw, and macro F1 with it.
CLASS_WEIGHTS = np.array([0.20, 0.09, 0.08, 0.08, 0.15, 0.12, 0.10, 0.18])


@dataclass(frozen=True)
class VoiceCue:
    """How a class sounds: syllable rate and length, pitch, loudness, voice quality."""

    rate: float  # voiced syllables per second (before the speaker's talkativeness)
    length: float  # mean syllable length, s
    pitch: float  # f0 multiplier of the speaker's base pitch
    loud: float  # amplitude (linear)
    rough: float  # breath/roughness noise mixed into the voiced sound (0..1)
    tremolo: float  # depth of a ~7 Hz pitch tremble
    slope: float  # pitch change across a syllable (rising > 0)


VOICE_CUES: tuple[VoiceCue, ...] = (
    VoiceCue(rate=0.35, length=0.22, pitch=1.00, loud=0.30, rough=0.05, tremolo=0.0, slope=0.0),
    VoiceCue(rate=3.00, length=0.22, pitch=0.88, loud=1.00, rough=0.55, tremolo=0.0, slope=-0.1),
    VoiceCue(rate=1.20, length=0.28, pitch=0.85, loud=0.22, rough=0.15, tremolo=0.0, slope=-0.1),
    VoiceCue(rate=2.40, length=0.20, pitch=1.60, loud=0.50, rough=0.10, tremolo=0.09, slope=0.1),
    VoiceCue(rate=2.40, length=0.18, pitch=1.25, loud=0.70, rough=0.08, tremolo=0.0, slope=0.3),
    VoiceCue(rate=0.90, length=0.38, pitch=0.82, loud=0.22, rough=0.08, tremolo=0.0, slope=-0.3),
    VoiceCue(rate=0.70, length=0.11, pitch=1.40, loud=0.85, rough=0.10, tremolo=0.0, slope=0.5),
    VoiceCue(rate=3.40, length=0.17, pitch=1.05, loud=0.50, rough=0.08, tremolo=0.0, slope=0.0),
)

#: Chance that a person speaks at all during a segment of this class (times their
#: talkativeness): Neutral people mostly stay quiet, Other is mostly talking. Silent segments
#: carry no vocal cue, so the voice is informative on only part of the frames.
TALK = np.array([0.35, 0.95, 0.90, 0.95, 0.70, 0.60, 0.95, 1.00], dtype=np.float32)

#: Body arousal (amplitude/speed of arm and head motion) and slump (sunken posture) per class.
AROUSAL = np.array([0.05, 1.00, 0.35, 0.85, 0.70, 0.05, 0.80, 0.35], dtype=np.float32)
SLUMP = np.array([0.00, 0.00, 0.30, 0.10, 0.00, 1.00, 0.00, 0.00], dtype=np.float32)

assert FACE_PROTOTYPES.shape == (NUM_CLASSES, N_AU)
assert len(VOICE_CUES) == NUM_CLASSES == len(CLASS_WEIGHTS)
