"""Pictures of post-processing: the sweep (macro F1 against window, one line per filter) and
per-video timelines (truth, raw and post-processed labels over time, frames without a face
shaded) — what people look at to see why smoothing helps or hurts.

Figures are built with ``matplotlib.figure.Figure`` on the Agg canvas (no pyplot, no global
backend) and written atomically, like every file of a run folder.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from harness.atomic import atomic_open
from harness.data.labels import CLASSES, NUM_CLASSES
from harness.postprocess.sweep import SweepResult

_CLASS_COLOURS = ("#d9d9d9", "#d62728", "#8c564b", "#9467bd", "#ffbf00", "#1f77b4",
                  "#17becf", "#2ca02c")
_INVALID_COLOUR = "#ffffff"


def save_figure(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    return Path(path)


def plot_sweep(sweep: SweepResult, chosen: tuple[str | None, float], path: Path,
               title: str) -> Path:
    """Macro F1 (%) against window (s, log scale), one line per filter, raw as a dashed line
    (VA: P_VA as a CCC; AU: P_AU in %)."""
    raw, grid = sweep.scores()
    k = sweep.scale
    digits = 1 if k == 100.0 else 3
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    for i, method in enumerate(sweep.methods):
        ax.plot(sweep.windows, k * grid[i], marker="o", label=method)
    ax.axhline(k * raw, color="black", linestyle="--", label=f"no filter {k * raw:.{digits}f}")
    method, window = chosen
    if method is not None:
        i, j = sweep.methods.index(method), sweep.windows.index(window)
        ax.plot([window], [k * grid[i, j]], marker="*", markersize=16, color="black",
                linestyle="none", label=f"chosen: {method} {window:g} s")
    ax.set_xscale("log")
    ax.set_xticks(sweep.windows, [f"{w:g}" for w in sweep.windows])
    ax.set_xlabel("window (s)")
    metric = "macro F1" if sweep.task is None else sweep.metric
    ax.set_ylabel(f"{metric} (%)" if k == 100.0 else metric)
    ax.set_title("\n".join(textwrap.wrap(title, 70)), fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return save_figure(fig, path)


def plot_timeline(path: Path, name: str, fps: float, rows: list[tuple[str, np.ndarray]],
                  no_face: np.ndarray) -> Path:
    """One strip per (label, per-frame classes) row over time, then a "no face" strip; -1 is
    blank and frames without a face are also shaded across every strip."""
    n = no_face.size
    cmap = ListedColormap([_INVALID_COLOUR, *_CLASS_COLOURS])
    fig = Figure(figsize=(12.0, 0.9 + 0.5 * (len(rows) + 1)))
    ax = fig.add_subplot()
    image = np.stack([np.pad(np.asarray(r[:n], np.int64), (0, max(0, n - r.size)),
                             constant_values=-1) + 1 for _, r in rows])
    extent = (0.0, n / fps, len(rows) + 0.5, -0.5)
    ax.imshow(image, aspect="auto", interpolation="nearest", cmap=cmap, vmin=0,
              vmax=NUM_CLASSES, extent=(0.0, n / fps, len(rows) - 0.5, -0.5))
    face_row = np.zeros((1, n, 4))
    face_row[0, no_face] = (0.0, 0.0, 0.0, 1.0)
    ax.imshow(face_row, aspect="auto", interpolation="nearest",
              extent=(0.0, n / fps, len(rows) + 0.5, len(rows) - 0.5))
    shade = np.zeros((1, n, 4))
    shade[0, no_face] = (0.0, 0.0, 0.0, 0.3)
    ax.imshow(shade, aspect="auto", interpolation="nearest", extent=extent)
    ax.set_ylim(len(rows) + 0.5, -0.5)
    ax.set_yticks(range(len(rows) + 1), [label for label, _ in rows] + ["no face"])
    ax.set_xlabel("time (s)")
    ax.set_title(f"{name} ({fps:g} fps, {n:,} frames; {int(no_face.sum()):,} without a face, "
                 "shaded: their face was copied from a neighbour)", fontsize=9)
    handles = [Patch(color=c, label=k) for c, k in zip(_CLASS_COLOURS, CLASSES)]
    handles.append(Patch(facecolor=_INVALID_COLOUR, edgecolor="black", label="-1 (no label)"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0),
              frameon=False)
    return save_figure(fig, path)
