"""Results store (file-locked JSONL), queries over it, the paper's Tables 1 and 2 in five
formats, bootstrap CIs and plots; ``leaderboard.output`` is what ``harness leaderboard`` prints.

Data flows in one way: runs append ``Result`` rows; nothing here imports the harness's runs,
publishing or CLI. Plots are imported lazily (``leaderboard.plots``) so reading a table never
loads matplotlib.
"""

from leaderboard.bootstrap import (
    bootstrap_ci,
    bootstrap_macro_f1,
    load_per_video_confusion,
    paired_bootstrap,
    per_video_confusions,
    save_per_video_confusion,
)
from leaderboard.queries import (
    PER_VIDEO_FILE,
    Comparison,
    best_run,
    compare,
    interval,
    one_data,
    results,
    with_features,
)
from leaderboard.render import FORMATS, frame, render_table, rich_table
from leaderboard.store import (
    FEATURE_KEYS,
    STORE_NAME,
    Result,
    append_result,
    append_results,
    read_results,
    result_from_scores,
    store_path,
)
from leaderboard.tables import Table, table1, table2

__all__ = [
    "FEATURE_KEYS",
    "FORMATS",
    "PER_VIDEO_FILE",
    "STORE_NAME",
    "Comparison",
    "Result",
    "Table",
    "append_result",
    "append_results",
    "best_run",
    "bootstrap_ci",
    "bootstrap_macro_f1",
    "compare",
    "frame",
    "interval",
    "load_per_video_confusion",
    "one_data",
    "paired_bootstrap",
    "per_video_confusions",
    "read_results",
    "render_table",
    "result_from_scores",
    "results",
    "rich_table",
    "save_per_video_confusion",
    "store_path",
    "table1",
    "table2",
    "with_features",
]
