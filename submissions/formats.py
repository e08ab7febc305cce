"""The one-file submission of each challenge, by task name: write, validate, read, score.

``SUBMISSION_FORMATS.get(task)`` is what ``harness submit/validate --task expr|va|au|mtl`` call;
each entry answers the same five questions, so nothing above this module tests a task's name.

>>> SUBMISSION_FORMATS.get("au").header.split(",")[:3]
['image_location', 'AU1', 'AU2']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.data.labels import TEMPLATE_HEADER
from harness.data.testset import Template
from harness.metrics import scores_from_confusion
from harness.registry import Registry
from submissions.abaw import write_submission
from submissions.mtl import MtlSubmission
from submissions.scoring import (
    score_submission,
    score_submission_per_video,
    score_values_submission,
)
from submissions.validate import Problem, read_submission, validate_submission
from submissions.validate_values import read_values_submission, validate_values_submission
from submissions.values import AU_FORMAT, VA_FORMAT, ValuesFormat, write_values_submission


@dataclass(frozen=True)
class ExprSubmission:
    """EXPR: one label 0..7 per row under the template's header (``submissions.abaw``)."""

    task: str = "expr"
    header: str = TEMPLATE_HEADER

    def write(self, template: Template, predictions: Mapping[str, np.ndarray],
              out: str | Path, *, zip: bool = False) -> Path:
        return write_submission(template, predictions, out, zip=zip)

    def validate(self, path: str | Path, template: Template) -> list[Problem]:
        return validate_submission(path, template)

    def read(self, path: str | Path, template: Template) -> dict[str, np.ndarray]:
        return read_submission(path, template)

    def score(self, path: str | Path, truth: str | Path | Mapping[str, np.ndarray],
              template: Template | None = None) -> Any:
        """``harness.metrics.Scores``; ``truth``: a folder of label files or labels by name."""
        if isinstance(truth, Mapping):
            return scores_from_confusion(
                score_submission_per_video(path, truth, template)[1].sum(axis=0))
        return score_submission(path, truth, template)


@dataclass(frozen=True)
class ValuesSubmission:
    """VA or AU: several values per row under the format's header (``submissions.values``)."""

    fmt: ValuesFormat

    @property
    def task(self) -> str:
        return self.fmt.task

    @property
    def header(self) -> str:
        return self.fmt.header

    def write(self, template: Template, predictions: Mapping[str, np.ndarray],
              out: str | Path, *, zip: bool = False) -> Path:
        return write_values_submission(template, predictions, out, self.fmt, zip=zip)

    def validate(self, path: str | Path, template: Template) -> list[Problem]:
        return validate_values_submission(path, template, self.fmt)

    def read(self, path: str | Path, template: Template) -> dict[str, np.ndarray]:
        return read_values_submission(path, template, self.fmt)

    def score(self, path: str | Path, truth: Mapping[str, np.ndarray],
              template: Template | None = None) -> Any:
        """``VAScores`` or ``AUScores``; ``truth``: arrays by name (-5 / -1 invalid)."""
        return score_values_submission(path, truth, self.fmt, template)


SUBMISSION_FORMATS: Registry[ExprSubmission | ValuesSubmission | MtlSubmission] = Registry(
    "submission format")
SUBMISSION_FORMATS.add("expr", ExprSubmission(), owner=__name__)
SUBMISSION_FORMATS.add("va", ValuesSubmission(VA_FORMAT), owner=__name__)
SUBMISSION_FORMATS.add("au", ValuesSubmission(AU_FORMAT), owner=__name__)
SUBMISSION_FORMATS.add("mtl", MtlSubmission(), owner="submissions.mtl")
