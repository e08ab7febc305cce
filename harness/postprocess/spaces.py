"""What a task's per-frame outputs are, for the filters and ensembles that combine frames or runs.

A run keeps one array of outputs per part (``harness.records.FrameOutputs``) whose meaning is
the task's: EXPR 8 class logits (one softmax), AU 12 independent logits (one sigmoid each), VA
two values already in [-1, 1]. Averaging must happen where averaging means something:

- ``expr``: class probabilities (softmax), back to log-probabilities; labels exist (``mode``
  filter, ``vote`` ensemble);
- ``au``: each AU's probability (sigmoid), back to logits, so a 0.5 threshold still reads
  ``logit >= 0``; no single label per frame, so no vote or mode;
- ``va``: the values themselves (a mean of values in [-1, 1] stays in it); nothing to vote on;
- ``mtl``: each head in its own space (VA values, EXPR class probabilities, AU probabilities:
  ``harness.tasks.mtl.head_slices``); no single label per frame.

The median filter works on the outputs as they are for every task (a median commutes with the
monotone sigmoid, so AU's median logit is the logit of the median probability). Spaces are
registered by task name, like the submission formats (``submissions.SUBMISSION_FORMATS``), so
nothing else tests a task's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.errors import HarnessError
from harness.registry import Registry

_EPS = 1e-6  # floor under probabilities before the log (EXPR), and around AU's probabilities


def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z.astype(np.float64))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(scores: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(scores, np.float64)))  # no overflow


def _log_eps(p: np.ndarray) -> np.ndarray:
    return np.log(p + _EPS)


def _logit_eps(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return np.log(p) - np.log1p(-p)


def _same(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float64)


@dataclass(frozen=True)
class OutputSpace:
    """How one task's outputs are averaged over frames and runs."""

    task: str
    what: str  # the outputs in words, for messages
    averaged: str  # what an averaging filter or ensemble averages, in words
    to_average: Callable[[np.ndarray], np.ndarray]
    from_average: Callable[[np.ndarray], np.ndarray]
    has_labels: bool  # one label per frame: the mode filter and the vote ensemble apply
    combinations: tuple[str, ...]  # ensemble --combine values, the default first
    #: Why filters over labels do not apply (for the refusal); "" where they do.
    no_labels: str = ""
    scale: float = 100.0  # a figure as shown in the before/after tables (100: in %)
    decimals: int = 1

    def shown(self, x: float) -> str:
        return f"{self.scale * x:.{self.decimals}f}"

    @property
    def default_combination(self) -> str:
        return self.combinations[0]

    def check_combination(self, how: str) -> None:
        if how not in self.combinations:
            why = f" ({self.no_labels})" if how == "vote" and self.no_labels else ""
            raise HarnessError(f"--combine {how} does not apply to {self.task.upper()} "
                               f"{self.what}{why}; choose one of {', '.join(self.combinations)}")


OUTPUT_SPACES: Registry[OutputSpace] = Registry("output space")
OUTPUT_SPACES.add("expr", OutputSpace(
    "expr", "class logits", "class probabilities", softmax, _log_eps, True,
    ("logits", "probs", "vote")), owner=__name__)
OUTPUT_SPACES.add("va", OutputSpace(
    "va", "valence and arousal values", "values", _same, _same, False, ("mean",),
    "VA values are continuous: there is no label to take the most frequent of", 1.0, 3),
    owner=__name__)
OUTPUT_SPACES.add("au", OutputSpace(
    "au", "logits", "each AU's probability", sigmoid, _logit_eps, False,
    ("probs", "logits"),
    "the 12 AUs are separate yes/no decisions, not one label per frame"), owner=__name__)


def _heads(va, expr, au) -> Callable[[np.ndarray], np.ndarray]:
    """One map per MTL head, applied to its columns of the 22 outputs."""
    def apply(x: np.ndarray) -> np.ndarray:
        from harness.tasks.mtl import head_slices

        at = head_slices()
        x = np.asarray(x, np.float64)
        return np.concatenate([va(x[:, at["va"]]), expr(x[:, at["expr"]]), au(x[:, at["au"]])],
                              axis=1)
    return apply


OUTPUT_SPACES.add("mtl", OutputSpace(
    "mtl", "VA values, expression logits and AU logits",
    "VA values, class probabilities and each AU's probability",
    _heads(_same, softmax, sigmoid), _heads(_same, _log_eps, _logit_eps), False,
    ("probs", "logits"), "its expression is one head of three; vote on EXPR runs", 1.0, 3),
    owner=__name__)


def output_space(task) -> OutputSpace:
    """The space of a ``harness.tasks.Task`` (or a task name)."""
    return OUTPUT_SPACES.get(getattr(task, "name", task))
