"""The challenge metrics, computed as the organisers compute them (numpy only).

- EXPR (``expr``): P_EXPR, the unweighted mean of the 8 per-class F1 scores.
- VA (``va``): CCC of valence and of arousal (population variances), P_VA their mean.
- AU (``au``): binary F1 of each of the 12 AUs, P_AU their mean.

Every metric is computed from per-video statistics that add up (a confusion matrix, CCC sums,
tp/fp/fn counts), so a bootstrap over videos is one weighted sum per replicate. The EXPR names
are re-exported here under their historical names (``from harness.metrics import scores``).
"""

from harness.metrics.au import (
    AU_INVALID,
    AU_NAMES,
    AUScores,
    AUStats,
    au_f1_from_counts,
    au_scores,
    au_stats,
)
from harness.metrics.expr import (
    ExprStats,
    Scores,
    confusion_matrix,
    expr_stats,
    f1_from_confusion,
    macro_f1_from_confusion,
    scores,
    scores_from_confusion,
)
from harness.metrics.va import (
    VA_DIMENSIONS,
    VA_INVALID,
    VAScores,
    VAStats,
    ccc_from_sums,
    va_scores,
    va_stats,
)

__all__ = [
    "ExprStats",
    "expr_stats",
    "AU_INVALID",
    "AU_NAMES",
    "AUScores",
    "AUStats",
    "Scores",
    "VAScores",
    "VAStats",
    "VA_DIMENSIONS",
    "VA_INVALID",
    "au_f1_from_counts",
    "au_scores",
    "au_stats",
    "ccc_from_sums",
    "confusion_matrix",
    "f1_from_confusion",
    "macro_f1_from_confusion",
    "scores",
    "scores_from_confusion",
    "va_scores",
    "va_stats",
]
