"""After the network: temporal filters, bias tuning, fold and seed ensembles, derived runs.

Everything works from the per-frame logits every run keeps (``logits/{val,test}.npz``), so
nothing is retrained. The result of ``smooth`` or ``ensemble`` is a derived run folder with its
own metrics, predictions, logits, plots, timelines and leaderboard row; ``harness submit``
takes it like any run.

Modules, along the flow: ``filters`` (registered temporal filters, window in seconds per
video's fps) -> ``sweep`` (grid on validation) and ``bias`` (per-class offsets) ->
``recipe`` (what is chosen where: on validation, or out of fold) ; ``sources`` (runs, one
split or a fold set) -> ``ensemble`` (combining runs) -> ``derived`` (the run folder, plots in
``plots``) ; ``pipeline`` (the API) and ``report`` (before/after tables).
"""

from harness.postprocess.derived import Derived, TimelineConfig, Where
from harness.postprocess.filters import FILTERS, filter_video, register_filter, smooth_outputs
from harness.postprocess.pipeline import ensemble, smooth
from harness.postprocess.recipe import Choice, PostConfig
from harness.postprocess.source_runs import OOF_SPLIT

__all__ = [
    "FILTERS",
    "OOF_SPLIT",
    "Choice",
    "Derived",
    "PostConfig",
    "TimelineConfig",
    "Where",
    "ensemble",
    "filter_video",
    "register_filter",
    "smooth",
    "smooth_outputs",
]
