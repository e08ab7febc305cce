"""``harness.leaderboard``: the paper's Table 2 (or Table 1) from the results store, per task.

Reading the store imports neither torch nor scikit-learn; a plot loads matplotlib only when
asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Leaderboard:
    """What ``harness leaderboard`` prints, in order: the table (a rich table for
    ``fmt="rich"``, else text), then intervals, a comparison, a plot note."""

    parts: list[Any]


def leaderboard(workdir: Path = Path("harness-out"), *, by: str = "baseline",
                split: str = "official", baseline: str | None = None,
                dataset: str | None = None, fingerprint: str | None = None,
                features: Sequence[str] | Mapping[str, str] | None = None, fmt: str = "rich",
                compare: tuple[str, str] | None = None, plot: Path | None = None,
                ci: bool = True, over_seeds: bool = False, task: str | None = None,
                detail: bool = False) -> Leaderboard:
    """Rows of one task (``expr`` by default, ``va``, ``au``), data set and fingerprint (given,
    else the newest result's) whose features include ``features`` (``["face=emonet"]`` or
    ``{"face": "emonet"}``); ``detail`` adds the stage-1 model's digest column and what made
    each row's stage-1 model and feature sets."""
    from leaderboard.output import leaderboard_output
    from leaderboard.queries import parse_features

    if plot is not None:  # never over a run folder or the results store
        from harness.api.common import protected_inputs
        from harness.paths import check_output_file

        check_output_file(plot, "--plot", protected_inputs(workdir=workdir))
    wanted = dict(features) if isinstance(features, Mapping) else parse_features(features)
    return Leaderboard(leaderboard_output(
        workdir, by=by, split=split, baseline=baseline, dataset=dataset,
        fingerprint=fingerprint, features=wanted, fmt=fmt,
        compare=tuple(compare) if compare else None, plot=plot, ci=ci, over_seeds=over_seeds,
        task=task, detail=detail))
