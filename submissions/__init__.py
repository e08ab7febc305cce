"""ABAW file formats: per-video prediction files and the one-file EXPR submission.

>>> from submissions import write_submission, validate_submission  # doctest: +SKIP
"""

from submissions.abaw import image_location, write_submission, zip_path
from submissions.per_video import (
    read_per_video,
    read_prediction_folder,
    write_per_video,
    write_prediction_folder,
)
from submissions.scoring import score_submission, score_submission_per_video
from submissions.validate import (
    MAX_PROBLEMS,
    Problem,
    read_submission,
    validate_submission,
    validate_submission_or_raise,
)

__all__ = [
    "MAX_PROBLEMS",
    "Problem",
    "image_location",
    "read_per_video",
    "read_prediction_folder",
    "read_submission",
    "score_submission",
    "score_submission_per_video",
    "validate_submission",
    "validate_submission_or_raise",
    "write_per_video",
    "write_prediction_folder",
    "write_submission",
    "zip_path",
]
