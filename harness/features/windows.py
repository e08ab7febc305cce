"""Windows over cached features: for each predicted frame, the steps of every modality.

A ``WindowSet`` stores three numbers per window (name, frame, label); the rows each step reads
are computed per batch, and features are gathered from each source's packed, memory-mapped table
(``FeatureCache.pack``). Memory therefore stays bounded whatever the feature sizes, the window
length or the number of frames (1.56 M labelled + 1.02 M test frames in the real release): no
per-split copy of the features and no (frames x steps) index array is ever built. The face
model is never run here; the trainer reads only cached features.

A batch (the contract every baseline reads) is a dict of tensors: per modality ``m`` its
features ``m (B, T, d)`` and ``m_mask (B, T)`` (the step is inside the video and its ``m`` was
observed: a face image of its own, audio from the stream, a detected person), and ``mask
(B, T)`` (the step is inside the video). Steps outside the video repeat the edge; unobserved
steps repeat the nearest observation (faces) or describe silence / no body; the masks say which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from harness.data.release import Release
from harness.errors import HarnessError
from harness.features.cache import Packed
from harness.features.sources import FeatureSource
from harness.features.timeline import PAPER_WINDOW, WindowSpec
from harness.tasks import Task, get_task

#: Added to each entry's times so that one sorted search finds rows within every entry at once
#: (seconds; far above any video's length, a power of two so the sums stay exact enough).
_ENTRY_SPAN_S = float(2**20)
#: Bytes of gathered inputs (float32 rows and bool masks) one prediction batch may hold. At the
#: real feature sizes (1,316 per frame) 2,048 windows of 75 steps were 808 MB of inputs and a
#: 2.2 GB peak (docs/sequence-models.md); smaller batches are no slower on the CPU.
EVAL_BATCH_BYTES = 256 * 2**20


def eval_batch_items(limit: int, steps: int, dims: Mapping[str, int],
                     budget: int | None = None) -> int:
    """How many windows (or chunks) of ``steps`` steps a prediction batch takes: at most
    ``limit``, and no more than fit in ``budget`` bytes (default ``EVAL_BATCH_BYTES``) of
    gathered inputs (at least one)."""
    per_item = steps * (4 * sum(dims.values()) + len(dims) + 1)
    budget = EVAL_BATCH_BYTES if budget is None else budget
    return max(1, min(int(limit), budget // per_item))


@dataclass(frozen=True)
class SourceTable:
    """One modality's packed features, and the entry each name of a window set reads."""

    packed: Packed
    entry: np.ndarray  # (n_names,) index into packed.keys
    per_frame: bool
    search_times: np.ndarray | None  # rows' times + entry offset (timed sources only)

    @property
    def dim(self) -> int:
        return int(self.packed.feat.shape[1])

    def rows(self, entry: np.ndarray, raw: np.ndarray, times: np.ndarray | None,
             n: np.ndarray) -> np.ndarray:
        """(B, T) table rows of the steps; ``raw`` 1-based frames, ``times`` seconds."""
        start, end = self.packed.starts[entry][:, None], self.packed.starts[entry + 1][:, None]
        if self.per_frame:
            return start + np.clip(raw, 1, n[:, None]) - 1
        right = np.searchsorted(self.search_times, times + entry[:, None] * _ENTRY_SPAN_S)
        right = np.clip(right, start, end - 1)
        left = np.clip(right - 1, start, end - 1)
        row_times = self.packed.time
        take_left = np.abs(times - row_times[left]) <= np.abs(row_times[right] - times)
        return np.where(take_left, left, right)


@dataclass
class WindowSet:
    names: list[str]
    name_idx: np.ndarray  # (N,) which name each window belongs to
    frames: np.ndarray  # (N,) 1-based frame of the window's current step
    #: The task's truth per window (``targets``): EXPR (N,) int64, -1 where invalid or unknown
    #: (test); VA (N, 2) float32 and AU (N, 12) int8 with the task's invalid marker there.
    labels: np.ndarray
    fps: np.ndarray  # (n_names,) each name's video fps
    n_frames: np.ndarray  # (n_names,) frames of each name
    tables: dict[str, SourceTable]
    spec: WindowSpec = PAPER_WINDOW
    task: Task = field(default_factory=get_task)

    @property
    def valid(self) -> np.ndarray:
        """(N,) whether each window's frame has a label (the loss and the metric use those)."""
        return self.task.valid(self.labels)

    def __len__(self) -> int:
        return int(self.frames.size)

    @property
    def dims(self) -> dict[str, int]:
        return {m: t.dim for m, t in self.tables.items()}

    def batch(self, idx: np.ndarray, device: torch.device | str = "cpu"
              ) -> dict[str, torch.Tensor]:
        """The batch dict of windows ``idx`` (see the module docstring)."""
        ni = self.name_idx[idx]
        frames, fps, n = self.frames[idx], self.fps[ni], self.n_frames[ni]
        raw = self.spec.step_frames(frames, fps)
        inside = (raw >= 1) & (raw <= n[:, None])
        timed = any(not t.per_frame for t in self.tables.values())
        times = self.spec.step_times(frames, fps) if timed else None
        return gather_batch(self.tables, ni, raw, times, n, inside, device)

    def eval_batch(self, limit: int) -> int:
        """Windows per prediction batch: ``limit`` within ``EVAL_BATCH_BYTES``."""
        return eval_batch_items(limit, self.spec.steps, self.dims)

    def observed(self, modality: str) -> np.ndarray:
        """(N,) whether each window's current frame has its own ``modality`` observation."""
        table = self.tables[modality]
        out = np.empty(len(self), bool)
        current = self.spec.current
        for start in range(0, len(self), 65536):
            idx = np.arange(start, min(start + 65536, len(self)))
            ni = self.name_idx[idx]
            raw = self.spec.step_frames(self.frames[idx], self.fps[ni])[:, current:current + 1]
            times = self.spec.step_times(self.frames[idx], self.fps[ni])[:, current:current + 1]
            rows = table.rows(table.entry[ni], raw, times, self.n_frames[ni])
            out[idx] = ~table.packed.flag[rows[:, 0]]
        return out

    def subset(self, keep: np.ndarray) -> WindowSet:
        return WindowSet(self.names, self.name_idx[keep], self.frames[keep], self.labels[keep],
                         self.fps, self.n_frames, self.tables, self.spec, self.task)


def build_windows(release: Release, names: list[str] | tuple[str, ...],
                  sources: Mapping[str, FeatureSource], *, labelled_only: bool,
                  spec: WindowSpec = PAPER_WINDOW) -> WindowSet:
    """Windows for the frames of ``names``: valid-labelled ones only, or every frame 1..N.
    Labels are the release's task's (``release.task``): frames without one keep its invalid
    marker, never a value."""
    names = list(names)
    task = release.task
    n_frames = np.array([release.n_frames(n) for n in names], dtype=np.int64)
    name_idx, frames, labels = [], [], []
    for i, name in enumerate(names):
        lab = _labels_or_unknown(release, name, int(n_frames[i]))
        fr = (np.flatnonzero(task.valid(lab)) + 1 if labelled_only
              else np.arange(1, n_frames[i] + 1))
        name_idx.append(np.full(fr.size, i))
        frames.append(fr)
        labels.append(lab[fr - 1])
    return WindowSet(
        names=names,
        name_idx=_cat(name_idx, np.int64),
        frames=_cat(frames, np.int64),
        labels=_targets(labels, task),
        fps=np.array([release.fps(n) for n in names], dtype=np.float64),
        n_frames=n_frames,
        tables={m: _table(src, names, n_frames) for m, src in sources.items()},
        spec=spec,
        task=task,
    )


def target_dtype(task: Task) -> np.dtype:
    """How a task's truth is held for training: class indices as int64 (EXPR, as always),
    values and binary labels in the task's own dtype (VA float32, AU int8)."""
    return np.dtype(np.int64) if task.classification else task.dtype


def _targets(labels: list[np.ndarray], task: Task) -> np.ndarray:
    """Concatenated per-name labels in the task's training layout (empty: 0 rows)."""
    if not labels:
        return task.unknown(0).astype(target_dtype(task))
    return np.concatenate(labels).astype(target_dtype(task))


def _table(source: FeatureSource, names: list[str], n_frames: np.ndarray) -> SourceTable:
    keys = [source.key(n) for n in names]
    packed = source.cache.pack(keys)
    entry = np.array([packed.entry(k) for k in keys], dtype=np.int64)
    sizes = np.diff(packed.starts)
    if source.per_frame:
        bad = np.flatnonzero(sizes[entry] != n_frames)
        if bad.size:
            i = int(bad[0])
            raise HarnessError(f"{source.name} features of {names[i]} have "
                               f"{sizes[entry[i]]} rows for {n_frames[i]} frames; clear the "
                               f"cache at {source.cache.dir}")
        return SourceTable(packed, entry, True, None)
    empty = np.flatnonzero(sizes[entry] == 0)
    if empty.size:
        raise HarnessError(f"{source.name} features of {names[int(empty[0])]} have no rows")
    owner = np.repeat(np.arange(len(packed.keys)), sizes)
    search = packed.time + owner * _ENTRY_SPAN_S
    if np.any(np.diff(search) < 0) or (packed.time.size and packed.time.min() < -60):
        raise HarnessError(f"{source.name} features: row times must increase within each "
                           f"name and start near 0 s; clear the cache at {source.cache.dir}")
    return SourceTable(packed, entry, False, search)


def _labels_or_unknown(release: Release, name: str, n: int) -> np.ndarray:
    """The name's labels, or ``n`` frames of the task's invalid marker (a test name)."""
    try:
        return release.labels(name)
    except KeyError:
        return release.task.unknown(n)


def _cat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)


def gather_batch(tables: dict, owner: np.ndarray, raw: np.ndarray, times: np.ndarray | None,
                 n: np.ndarray, inside: np.ndarray, device) -> dict:
    """The batch dict of the window contract from the packed tables: ``mask`` (inside the
    video) and, per modality, its rows and ``<m>_mask`` (inside and observed). Windows and
    chunks both gather through it, so the two contracts read features the same way."""
    out = {"mask": torch.from_numpy(inside).to(device)}
    for m, table in tables.items():
        rows = table.rows(table.entry[owner], raw, times, n)
        out[m] = torch.from_numpy(np.asarray(table.packed.feat[rows])).to(device)
        out[f"{m}_mask"] = torch.from_numpy(inside & ~table.packed.flag[rows]).to(device)
    return out
