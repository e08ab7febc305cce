"""ABAW file formats: per-video prediction files and the one-file submissions (EXPR, VA, AU).

``SUBMISSION_FORMATS.get(task)`` gives a task's writer, validator, reader and scorer.

>>> from submissions import write_submission, validate_submission  # doctest: +SKIP
"""

from submissions.abaw import image_location, write_submission, zip_path
from submissions.formats import SUBMISSION_FORMATS, ExprSubmission, ValuesSubmission
from submissions.per_video import (
    read_per_video,
    read_prediction_folder,
    write_per_video,
    write_prediction_folder,
)
from submissions.reading import MAX_SUBMISSION_BYTES, read_submission_bytes
from submissions.scoring import (
    score_submission,
    score_submission_per_video,
    score_values_submission,
    score_values_submission_per_video,
)
from submissions.validate import (
    MAX_PROBLEMS,
    Problem,
    read_submission,
    validate_submission,
    validate_submission_or_raise,
)
from submissions.validate_values import (
    read_values_submission,
    validate_values_submission,
    validate_values_submission_or_raise,
)
from submissions.values import AU_FORMAT, VA_FORMAT, ValuesFormat, write_values_submission

__all__ = [
    "AU_FORMAT",
    "MAX_PROBLEMS",
    "MAX_SUBMISSION_BYTES",
    "SUBMISSION_FORMATS",
    "VA_FORMAT",
    "ExprSubmission",
    "Problem",
    "ValuesFormat",
    "ValuesSubmission",
    "image_location",
    "read_per_video",
    "read_prediction_folder",
    "read_submission",
    "read_submission_bytes",
    "read_values_submission",
    "score_submission",
    "score_submission_per_video",
    "score_values_submission",
    "score_values_submission_per_video",
    "validate_submission",
    "validate_submission_or_raise",
    "validate_values_submission",
    "validate_values_submission_or_raise",
    "write_per_video",
    "write_prediction_folder",
    "write_submission",
    "write_values_submission",
    "zip_path",
]
