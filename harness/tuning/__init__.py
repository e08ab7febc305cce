"""Hyperparameter search on folds (``harness tune``), with Optuna (the ``optuna`` extra).

``tune`` runs trials, each a normal run per fold that lands in the results store; ``space``
holds the default search per baseline family and the TOML space-file format; ``heartbeat``
finds killed trials; ``plot`` draws the search.
"""

from harness.tuning.space import Param, default_space, load_space
from harness.tuning.study import FOLDS, TuneResult, load_best, study_dir, tune

__all__ = ["FOLDS", "Param", "TuneResult", "default_space", "load_best", "load_space",
           "study_dir", "tune"]
