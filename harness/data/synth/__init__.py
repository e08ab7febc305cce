"""The embedded corpus: a small synthetic Aff-Wild2 EXPR release, generated on the user's machine.

It is laid out exactly like the real ABAW5 release (annotations, aligned faces, videos with audio,
OpenPose files, test list and template) so every part of the harness runs end to end without the
licensed data, and its signals are designed so that fusing face, voice and body beats any single
modality (see ``cues``).
"""

from __future__ import annotations

from harness.data.synth.generate import (
    DEFAULT_SECONDS,
    DEFAULT_VIDEOS,
    SynthSummary,
    synthesize,
)
from harness.data.synth.scale import synthesize_annotations_only
from harness.data.synth.staging import is_finished_corpus

__all__ = [
    "DEFAULT_SECONDS",
    "DEFAULT_VIDEOS",
    "SynthSummary",
    "is_finished_corpus",
    "synthesize",
    "synthesize_annotations_only",
]
