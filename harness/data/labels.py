"""The EXPR label set and the exact header strings of the release files."""

from __future__ import annotations

CLASSES: tuple[str, ...] = (
    "Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other",
)
SHORT: tuple[str, ...] = ("N", "A", "D", "F", "H", "Sa", "Su", "O")
NUM_CLASSES = len(CLASSES)
INVALID = -1

#: Line 1 of every annotation file (and of per-video prediction files).
ANNOTATION_HEADER = ",".join(CLASSES)
#: Line 1 of the test frame template and of a submission (ABAW5/6/10).
TEMPLATE_HEADER = "image_location," + ANNOTATION_HEADER
