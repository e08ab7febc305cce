"""What every experiment tracker does, and the guard that keeps a failing one from failing a run.

A tracker is told four things, in order: ``start`` (the run folder and the run's config),
``log_epoch`` (one row of ``epochs.csv`` as it is written: loss, lr, validation macro F1),
``log_final`` (final metrics, per class too, and the run's files worth keeping: plots and
``config.json``) and ``end``. It only ever reads what the run has computed, so tracking cannot
change a result; the run folder stays the record. A tracker that fails mid-run (a full disk,
a tracking server gone) warns once and is switched off, and the run goes on.
"""

from __future__ import annotations

import importlib.util
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.data.labels import CLASSES
from harness.errors import HarnessError
from harness.metrics import Scores
from harness.records.folder import (
    CONFIG,
    CONFUSION_PLOT,
    PER_CLASS_PLOT,
    SWEEP_PLOT,
    SWEEP_TABLE,
)
from harness.registry import Registry

#: The files of a run folder sent to a tracker as artifacts, where the run has them.
ARTIFACTS = (CONFIG, CONFUSION_PLOT, PER_CLASS_PLOT, SWEEP_PLOT, SWEEP_TABLE)
#: Columns of a training-history row (``harness.train.fit``) that a tracker logs per epoch.
EPOCH_KEYS = ("train_loss", "lr", "val_macro_f1")
#: Any task's validation column (``val_P_VA``...: ``harness.train.selection_names``).
_VALIDATION = "val_"


class TrackingWarning(UserWarning):
    """A tracker failed and was switched off; the run went on."""


class Tracker(ABC):
    """One experiment tracker's side of a run; see the module docstring for the order."""

    @abstractmethod
    def start(self, run_dir: Path, params: Mapping) -> None: ...

    @abstractmethod
    def log_epoch(self, epoch: int, values: Mapping[str, float]) -> None: ...

    @abstractmethod
    def log_final(self, metrics: Mapping[str, float], artifacts: Sequence[Path]) -> None: ...

    @abstractmethod
    def end(self, status: str = "FINISHED") -> None: ...


@dataclass(frozen=True)
class TrackerSpec:
    """A registered tracker: how to make one for a workdir, and what it needs installed."""

    name: str
    make: Callable[[Path], Tracker]
    requires: str  # the module that must be importable
    extra: str  # the pip extra that installs it

    def check(self) -> None:
        """Refuse before any work when the tracker's library is not installed."""
        if importlib.util.find_spec(self.requires) is None:
            raise HarnessError(f"--track {self.name} needs {self.requires}, which is not "
                               f'installed: pip install "abaw-harness[{self.extra}]"')


TRACKERS: Registry[TrackerSpec] = Registry("tracker")


def register_tracker(name: str, *, requires: str, extra: str
                     ) -> Callable[[Callable[[Path], Tracker]], Callable[[Path], Tracker]]:
    """Decorator on a ``workdir -> Tracker`` factory: registers it as ``--track name``."""
    def deco(make: Callable[[Path], Tracker]) -> Callable[[Path], Tracker]:
        TRACKERS.add(name, TrackerSpec(name, make, requires, extra), owner=make.__module__)
        return make
    return deco


def check_tracker(name: str | None) -> None:
    """Refuse an unknown tracker, or one whose extra is missing, before any work (exit 2)."""
    if name is not None:
        TRACKERS.get(name).check()


def final_metrics(scores: Scores) -> dict[str, float]:
    """Macro F1, accuracy and F1 per class (by the ABAW class name) of a finished run; for
    another task, its scores' figures (``p_va``, ``ccc_valence``..., ``f1_AU1``...)."""
    if not isinstance(scores, Scores):
        from harness.metrics import AU_NAMES

        d = scores.to_dict()
        out = {k: float(v) for k, v in d.items()
               if isinstance(v, int | float) and not isinstance(v, bool)}
        return out | {f"f1_{a}": float(v) for a, v in zip(AU_NAMES, d.get("per_au_f1", ()))}
    out = {"macro_f1": float(scores.macro_f1), "accuracy": float(scores.accuracy)}
    out |= {f"f1_{c}": float(v) for c, v in zip(CLASSES, scores.per_class_f1)}
    return out


def flatten(params: Mapping, prefix: str = "") -> dict[str, str]:
    """Nested config -> ``{"train.lr": "0.001", ...}`` (trackers take flat string params)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out |= flatten(value, name + ".")
        else:
            out[name] = str(value)
    return out


class RunTracker:
    """A run's tracker behind a guard: the first failure warns once and switches it off.

    ``None`` as the name gives a tracker that does nothing, so callers need no ``if``.
    """

    def __init__(self, name: str | None, workdir: Path):
        self.name = name
        self._tracker: Tracker | None = None
        self._logged = 0  # epochs already sent (a resumed run's history holds earlier ones)
        if name is not None:
            spec = TRACKERS.get(name)
            spec.check()
            self._tracker = self._guard(lambda: spec.make(Path(workdir)))

    @property
    def active(self) -> bool:
        return self._tracker is not None

    def start(self, run_dir: Path, params: Mapping) -> None:
        self._call(lambda t: t.start(Path(run_dir), params))

    def epochs(self, history: list[dict]) -> None:
        """``harness.train.fit``'s ``on_epoch``: sends the rows not sent yet."""
        for row in history[self._logged:]:
            self._call(lambda t, row=row: t.log_epoch(
                int(row["epoch"]), {k: float(row[k]) for k in row
                                    if k in EPOCH_KEYS or k.startswith(_VALIDATION)}))
        self._logged = len(history)

    def finish(self, scores: Scores, run_dir: Path) -> None:
        """Final metrics and the run folder's artifacts, then end the tracked run."""
        files = [Path(run_dir) / name for name in ARTIFACTS if (Path(run_dir) / name).is_file()]
        self._call(lambda t: t.log_final(final_metrics(scores), files))
        self.end()

    def end(self, status: str = "FINISHED") -> None:
        self._call(lambda t: t.end(status))
        self._tracker = None

    def _call(self, fn: Callable[[Tracker], None]) -> None:
        if self._tracker is not None:
            tracker = self._tracker
            self._guard(lambda: fn(tracker))

    def _guard(self, fn: Callable):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - any failure of a tracker must not stop a run
            if self.name is not None:  # once: the name is cleared below
                warnings.warn(f"--track {self.name} failed ({type(exc).__name__}: {exc}); "
                              "tracking is off for the rest of this run, which goes on (its "
                              "run folder is the record)", TrackingWarning, stacklevel=3)
            self._tracker, self.name = None, None
            return None
