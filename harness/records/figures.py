"""A run's pictures: an EXPR run's confusion matrix and its per-class F1 (``confusion.png``,
``per_class_f1.png``), a VA/AU run's figures (``scores.png``).

Figures are made with ``matplotlib.figure.Figure`` directly (the Agg canvas), never pyplot: no
global backend switch, no window, safe in worker processes. Every PNG goes to a temp file beside
the target and is renamed, like every other file the harness writes. Importing this module
loads matplotlib, so the records layer imports it only when it draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.atomic import atomic_open
from harness.data.labels import CLASSES, NUM_CLASSES
from harness.errors import HarnessError


def save_png(fig: Figure, path: str | Path) -> Path:
    """Lay out ``fig`` and write it as a PNG (120 dpi), atomically."""
    FigureCanvasAgg(fig)
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120)
    return Path(path)


def plot_confusion(cm: np.ndarray, path: str | Path, title: str = "Confusion (row-normalised)"
                   ) -> Path:
    """Rows = truth, normalised to 1 (recall per class); cells annotated in %."""
    cm = np.asarray(cm, dtype=np.float64)
    if cm.shape != (NUM_CLASSES, NUM_CLASSES):
        raise HarnessError(f"confusion matrix must be 8x8, got {cm.shape}")
    totals = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    fig = Figure(figsize=(6.4, 5.6))
    ax = fig.add_subplot()
    im = ax.imshow(norm, vmin=0.0, vmax=1.0, cmap="Blues")
    ax.set_xticks(range(NUM_CLASSES), CLASSES, rotation=45, ha="right")
    ax.set_yticks(range(NUM_CLASSES), CLASSES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth")
    ax.set_title(title)
    for i in range(NUM_CLASSES):
        for j in range(NUM_CLASSES):
            ax.text(j, i, f"{100 * norm[i, j]:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return save_png(fig, path)


def plot_per_class_f1(per_class_f1: Sequence[float], path: str | Path,
                      title: str = "Per-class F1") -> Path:
    """One bar per class (in %), with the macro F1 (their mean) as a dashed line."""
    f1 = 100.0 * np.asarray(per_class_f1, dtype=np.float64)
    if f1.shape != (NUM_CLASSES,):
        raise HarnessError(f"per_class_f1 must hold 8 values, got {f1.shape}")
    fig = Figure(figsize=(7.0, 3.8))
    ax = fig.add_subplot()
    ax.bar(CLASSES, f1, color="tab:blue")
    ax.axhline(f1.mean(), color="tab:red", linestyle="--", label=f"Avg(F1) {f1.mean():.1f}")
    for x, v in enumerate(f1):
        ax.text(x, v + 1, f"{v:.1f}", ha="center", fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("F1 (%)")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    ax.legend(loc="upper right")
    return save_png(fig, path)


def plot_figures(figures: dict[str, float], mean: str, path: str | Path,
                 title: str = "Scores") -> Path:
    """A VA/AU run's figures: one bar per item (CCC per dimension, F1 per AU), in %, with
    their mean (``figures[mean]``: P_VA, P_AU) as a dashed line. CCC may be negative."""
    items = [k for k in figures if k != mean]
    values = 100.0 * np.array([figures[k] for k in items], dtype=np.float64)
    if not items or mean not in figures:
        raise HarnessError(f"figures must hold items and their mean {mean!r}, got "
                           f"{sorted(figures)}")
    fig = Figure(figsize=(max(4.0, 0.6 * len(items) + 2.0), 3.8))
    ax = fig.add_subplot()
    ax.bar(items, values, color="tab:blue")
    ax.axhline(100.0 * figures[mean], color="tab:red", linestyle="--",
               label=f"{mean} {100.0 * figures[mean]:.1f}")
    for x, v in enumerate(values):
        ax.text(x, v + 1, f"{v:.1f}", ha="center", fontsize=8)
    ax.set_ylim(min(0.0, float(values.min()) - 5.0), 100)
    ax.set_ylabel("%")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    ax.legend(loc="upper right")
    return save_png(fig, path)
