"""Experiment tracking (``--track tensorboard|mlflow``): training curves, final metrics per
class and the run's plots and config, sent to a tracker the team already uses.

Each tracker is one file registering itself in ``TRACKERS`` (``harness.registry.Registry``);
``RunTracker`` is what a run holds. Neither library is imported until a tracker starts.
"""

from harness.tracking import mlflow_tracker, tensorboard_tracker  # noqa: F401 (register)
from harness.tracking.base import (
    TRACKERS,
    RunTracker,
    Tracker,
    TrackerSpec,
    TrackingWarning,
    check_tracker,
    final_metrics,
    register_tracker,
)

__all__ = ["TRACKERS", "RunTracker", "Tracker", "TrackerSpec", "TrackingWarning",
           "check_tracker", "final_metrics", "register_tracker"]
