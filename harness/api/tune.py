"""``harness.tune``: an Optuna search over a baseline's hyperparameters on the folds.

Every ``harness run`` option given here (``epochs=1``, ``batch_size=32``...) is held fixed under
its RunConfig key (``RUN_KEYS``) and left out of the search; ``data``, ``workdir``, ``quiet`` and
``threads`` say where and how the trials run, never what they compute. ``folds`` names the
tuning folds (a run's ``folds`` membership file is not an option here).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.api.common import load_user_modules, names
from harness.api.extract import feature_options
from harness.api.run import RUN_KEYS
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.data.release import Release
    from harness.tuning import TuneResult

#: Run options that mean nothing for a search: each trial runs on the tuning folds, anew.
_NOT_TUNE = ("split", "config", "resume", "folds")


def fixed_keys(options: dict[str, Any]) -> dict[str, Any]:
    """Run options (Python names) given -> the dotted RunConfig keys a tune holds fixed."""
    wrong = sorted(set(options) & set(_NOT_TUNE) | set(options) - set(RUN_KEYS))
    if wrong:
        raise HarnessError(f"tune() takes no option(s) {', '.join(wrong)}: trials run on the "
                           "tuning folds (folds=...), each a fresh run")
    return {RUN_KEYS[k]: v for k, v in feature_options(options).items() if v is not None}


def tune(baseline: str, trials: int, *, space: Path | None = None, study: str | None = None,
         folds: str | Sequence[str] | None = None, prune_after: int = 2,
         sampler_seed: int | None = 0, data: Path | None = None, workdir: Path | None = None,
         quiet: bool | None = None, threads: int | None = None,
         baseline_module: Sequence[str] | None = None, release: Release | None = None,
         **options: Any) -> TuneResult:
    """Search ``baseline``'s hyperparameters until the study holds ``trials`` finished trials
    (objective: pooled out-of-fold macro F1 over ``folds``, default the five), then write
    ``<workdir>/tune/<study>/best.toml`` and ``search.png``. Started again (or in several
    processes at once) it resumes the same study from its journal file.

    ``options``: ``harness run`` options by their Python names, held fixed.

    >>> harness.tune("only_video", 20, epochs=3)   # doctest: +SKIP
    """
    from harness.tuning import FOLDS
    from harness.tuning import tune as run_study

    load_user_modules(baseline_module)
    fixed = fixed_keys(options)
    return run_study(baseline, trials, space=space, fixed=fixed,
                     workdir=Path(workdir or "harness-out"), data=data, study=study,
                     folds=names(folds) or FOLDS, prune_after=prune_after, seed=sampler_seed,
                     quiet=bool(quiet), threads=threads, release=release)
