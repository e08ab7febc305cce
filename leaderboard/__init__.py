"""Queries over the results store, the paper's Tables 1 and 2 in five formats, bootstrap CIs and
plots; ``leaderboard.output`` is what ``harness leaderboard`` prints.

Data flows in one way: runs finish through ``harness.records``, which writes their rows
(``Result``) and keeps their run folders; the leaderboard reads both only through it, and
imports nothing of the harness's runs, publishing or CLI. Plots are imported lazily
(``leaderboard.plots``) so reading a table never loads matplotlib.
"""

from harness.records.store import (
    STORE_NAME,
    Result,
    append_result,
    append_results,
    read_results,
    result_from_scores,
    store_path,
)
from leaderboard.bootstrap import bootstrap_ci, bootstrap_macro_f1, paired_bootstrap
from leaderboard.queries import (
    FEATURE_KEYS,
    Comparison,
    best_run,
    compare,
    interval,
    one_data,
    results,
    with_features,
)
from leaderboard.render import FORMATS, frame, render_table, rich_table
from leaderboard.tables import Table, table1, table2

__all__ = [
    "FEATURE_KEYS",
    "FORMATS",
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
    "one_data",
    "paired_bootstrap",
    "read_results",
    "render_table",
    "result_from_scores",
    "results",
    "rich_table",
    "store_path",
    "table1",
    "table2",
    "with_features",
]
