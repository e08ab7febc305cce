"""Run records: what a run leaves behind, and the one way to write and read it.

A run folder (``RunFolder``: the only code that spells its files), the per-frame outputs it
saves (``FrameOutputs``), its provenance (``RunInfo``, the typed ``run.json``), its per-video
evaluation and plots (``evaluate``), and its row in the results store (``Result``). Trained
runs (``harness.runs``) and derived runs (``harness.postprocess``) begin with ``start`` and end
with ``finish``; the leaderboard and submissions read runs only through this package.

Imports point one way: this package uses the foundation, ``harness.data`` labels,
``harness.metrics`` and the ``submissions`` file formats; runs, post-processing and the
leaderboard import it, never the reverse. Nothing here imports torch or scikit-learn at import
time (weights are read and written lazily), nor matplotlib until a plot is drawn.
"""

from harness.records.evaluation import (
    evaluate,
    load_per_video_confusion,
    load_per_video_stats,
    per_video_confusions,
    save_per_video_confusion,
    save_per_video_stats,
)
from harness.records.folder import PARTS, RunFolder
from harness.records.info import DERIVED, TRAINED, RunInfo, SourceRun, shared_provenance, utc_now
from harness.records.lifecycle import finish, start
from harness.records.outputs import FrameOutputs
from harness.records.store import (
    STORE_NAME,
    Result,
    append_result,
    append_results,
    read_results,
    result_from_scores,
    store_path,
    when,
)

__all__ = [
    "DERIVED",
    "PARTS",
    "STORE_NAME",
    "TRAINED",
    "FrameOutputs",
    "Result",
    "RunFolder",
    "RunInfo",
    "shared_provenance",
    "SourceRun",
    "append_result",
    "append_results",
    "evaluate",
    "finish",
    "load_per_video_confusion",
    "load_per_video_stats",
    "per_video_confusions",
    "read_results",
    "result_from_scores",
    "save_per_video_confusion",
    "save_per_video_stats",
    "start",
    "store_path",
    "utc_now",
    "when",
]
