"""The leaderboard's picture: macro F1 of the table's rows with their bootstrap intervals.

A run's own plots (confusion matrix, per-class F1) are part of its run folder
(``harness.records.figures``); this draws across runs, with the same Agg-only, atomic writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from harness.errors import HarnessError
from harness.records.figures import save_png


def plot_macro_f1(entries: Sequence[tuple[str, float, float, float]], path: str | Path,
                  title: str = "Macro F1 with 95% bootstrap CI", *, label: str = "Avg(F1)",
                  scale: float = 100.0) -> Path:
    """Bars of macro F1 (in %) per entry ``(label, macro_f1, low, high)`` with CI error bars;
    another task's figure with its ``label`` and ``scale`` (VA: P_VA as a CCC, scale 1)."""
    if not entries:
        raise HarnessError("nothing to plot: no entries")
    labels = [e[0] for e in entries]
    mid, low, high = (scale * np.array([e[k] for e in entries], dtype=np.float64)
                      for k in (1, 2, 3))
    err = np.vstack([np.maximum(mid - low, 0), np.maximum(high - mid, 0)])
    fig = Figure(figsize=(max(4.0, 1.2 * len(entries) + 2), 4.0))
    ax = fig.add_subplot()
    ax.bar(labels, mid, yerr=err, capsize=6, color="tab:blue")
    ax.set_ylabel(f"{label} (%)" if scale == 100.0 else label)
    if scale == 100.0:
        ax.set_ylim(0, max(100.0, float(high.max()) + 5))
    else:  # a CCC may be below 0
        top = float(np.nanmax(high)) if np.isfinite(high).any() else float(mid.max())
        ax.set_ylim(min(0.0, float(mid.min()) - 0.05), max(1.0, top + 0.05))
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=20)
    return save_png(fig, path)
