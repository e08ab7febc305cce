"""Results store (file-locked JSONL), the paper's Tables 1 and 2, bootstrap CIs and plots.

Plots are imported lazily (``leaderboard.plots``) so reading a table never loads matplotlib.
"""

from leaderboard.bootstrap import (
    bootstrap_ci,
    bootstrap_macro_f1,
    load_per_video_confusion,
    paired_bootstrap,
    per_video_confusions,
    save_per_video_confusion,
)
from leaderboard.store import (
    STORE_NAME,
    Result,
    append_result,
    append_results,
    read_results,
    result_from_scores,
    store_path,
)
from leaderboard.tables import FORMATS, Table, render_table, rich_table, table1, table2

__all__ = [
    "FORMATS",
    "STORE_NAME",
    "Result",
    "Table",
    "append_result",
    "append_results",
    "bootstrap_ci",
    "bootstrap_macro_f1",
    "load_per_video_confusion",
    "paired_bootstrap",
    "per_video_confusions",
    "read_results",
    "render_table",
    "result_from_scores",
    "rich_table",
    "save_per_video_confusion",
    "store_path",
    "table1",
    "table2",
]
