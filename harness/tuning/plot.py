"""The search at a glance: the objective of every trial and the best so far, then the objective
against each searched parameter (plain matplotlib: no plotly, works headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_search(study, path: Path, title: str) -> Path:
    from matplotlib.figure import Figure
    from optuna.trial import TrialState

    from harness.postprocess.smoothing_plots import save_figure

    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED and t.intermediate_values]
    keys = sorted({k for t in done + pruned for k in t.params})
    panels = 1 + len(keys)
    cols = min(panels, 4)  # wrapped: one row of four panels at most
    rows = -(-panels // cols)
    fig = Figure(figsize=(4 * cols, 3.4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[panels:]:
        ax.set_visible(False)
    ax = axes[0]
    ax.scatter([t.number for t in done], [t.value for t in done], label="complete", zorder=3)
    ax.scatter([t.number for t in pruned], [_last(t) for t in pruned], marker="x",
               color="grey", label="pruned (pooled so far)")
    order = sorted(done, key=lambda t: t.number)
    ax.step([t.number for t in order], np.maximum.accumulate([t.value for t in order]),
            where="post", color="C3", label="best so far")
    ax.set(xlabel="trial", ylabel="pooled OOF macro F1", title=title)
    ax.legend(fontsize=7)
    for ax, key in zip(axes[1:], keys):
        shown = [t for t in done if key in t.params]
        x = [t.params[key] for t in shown]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x):
            ax.scatter(x, [t.value for t in shown])
            low = min(x, default=1)
            if key.endswith(("lr", "weight_decay")) and low > 0:
                ax.set_xscale("log")
        else:  # categorical: one column per choice
            names = sorted({str(v) for v in x})
            ax.scatter([names.index(str(v)) for v in x], [t.value for t in shown])
            ax.set_xticks(range(len(names)), names)
        ax.set(xlabel=key, title=key)
    return save_figure(fig, Path(path))


def _last(trial) -> float:
    return trial.intermediate_values[max(trial.intermediate_values)]
