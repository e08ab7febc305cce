"""Chunks over cached features: L consecutive frames of one video, for sequence models.

The window contract (``windows.WindowSet``) gives a baseline the steps around ONE frame and asks
for that frame's logits, so predicting a video of N frames reads each frame T times. The chunk
contract gives a sequence baseline ``L`` consecutive frames of one video, ``(B, L, d)`` per
modality with the same masks as a window batch (``mask``: inside the video; ``m_mask``: inside
and observed), and asks for logits of every frame, ``(B, L, C)``.

Geometry (``ChunkSpec``):

- Training: each epoch every training video is cut into chunks of ``L`` frames laid edge to
  edge from a random offset drawn per video from the stage's seeded generator, so the chunk
  boundaries fall elsewhere every epoch and every labelled frame is in exactly one chunk.
  Chunks without a labelled frame are dropped.
- Evaluation (validation, prediction, test): overlapping chunks every ``stride`` frames. With
  ``overlap="centre"`` (the default) chunk ``k`` of a video starts at ``k * stride - margin``
  (``margin = (L - stride) // 2``) and only its centre ``stride`` frames are kept, so every frame
  is predicted exactly once, from a chunk where it has at least ``margin`` frames of context on
  each side (or the video's edge). With ``overlap="mean"`` chunks start every ``stride`` frames
  from ``stride - L`` and every frame's logits are the mean over the ``L / stride`` chunks that
  hold it. Either way the output has one row of logits per frame, in (name, frame) order, like
  a ``WindowSet`` of every frame: every downstream piece takes it unchanged. The default and the
  measurement that chose it are in docs/sequence-models.md.

Memory stays bounded as for windows: a ``ChunkSet`` stores per video its length, fps and labels
(one int8 per frame); the rows of each batch are computed per batch and gathered from the packed,
memory-mapped tables (``windows.SourceTable``). Frames outside the video repeat the edge row and
are flagged ``False`` in the masks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch

from harness.data.release import Release
from harness.errors import HarnessError
from harness.features.sources import FeatureSource
from harness.features.timeline import frame_times
from harness.features.windows import (
    SourceTable,
    _labels_or_unknown,
    _table,
    eval_batch_items,
    gather_batch,
    target_dtype,
)
from harness.tasks import Task, get_task

#: How overlapping evaluation chunks combine.
OVERLAPS: tuple[str, ...] = ("centre", "mean")
#: CtyunAI's window (ABAW6): 300 frames, 10 s at 30 fps.
CHUNK_FRAMES = 300


@dataclass(frozen=True)
class ChunkSpec:
    """Chunks of ``frames`` consecutive frames; evaluation chunks every ``stride`` frames
    (default ``frames // 2``) combined by ``overlap`` (see the module docstring)."""

    frames: int = CHUNK_FRAMES
    stride: int | None = None
    overlap: str = "centre"

    def __post_init__(self) -> None:
        if not isinstance(self.frames, int) or self.frames < 2:
            raise ValueError(f"a chunk needs 2 frames or more, got {self.frames!r}")
        if self.overlap not in OVERLAPS:
            raise ValueError(f"overlap must be one of {OVERLAPS}, got {self.overlap!r}")
        s = self.eval_stride
        if not 1 <= s <= self.frames:
            raise ValueError(f"chunk stride must be 1..{self.frames}, got {s}")
        if self.overlap == "mean" and self.frames % s:
            raise ValueError(f"overlap 'mean' needs a stride dividing {self.frames}, got {s}")
        if self.overlap == "centre" and (self.frames - s) % 2:
            raise ValueError(f"overlap 'centre' needs frames - stride even (a margin each side), "
                             f"got {self.frames} - {s}")

    @property
    def eval_stride(self) -> int:
        """Evaluation chunks start every this many frames (default: about half a chunk, with
        an even ``frames - stride`` so that the centre rule crops the same margin each side)."""
        if self.stride is not None:
            return self.stride
        half = self.frames // 2
        return half + 1 if (self.frames - half) % 2 else half

    @property
    def margin(self) -> int:
        """Frames cropped at each end of an evaluation chunk (``overlap="centre"``)."""
        return (self.frames - self.eval_stride) // 2 if self.overlap == "centre" else 0

    @property
    def label(self) -> str:
        return (f"chunks of {self.frames} frames, stride {self.eval_stride}, "
                f"{self.overlap} overlap")

    def resized(self, frames: int) -> ChunkSpec:
        """The same rule for chunks of ``frames`` frames (the default stride scales with it)."""
        return ChunkSpec(frames, None, self.overlap)

    def eval_starts(self, n: np.ndarray, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(owner, start): 0-based first frame of every evaluation chunk of videos of ``n``
        frames, in (video, start) order. ``shift`` moves the whole grid (tests: the output must
        not depend on it beyond the overlap rule)."""
        s = self.eval_stride
        if self.overlap == "centre":
            first = -self.margin - (shift % s)
            last = n - self.margin  # a chunk whose kept part starts before the end
        else:
            first = s - self.frames - (shift % s)
            last = n  # every chunk holding a frame of the video
        counts = -(-(last - first) // s)  # ceil
        owner = np.repeat(np.arange(n.size), counts)
        k = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
        return owner, first + k * s


def chunk(frames: int = CHUNK_FRAMES, *, stride: int | None = None, overlap: str = "centre"
          ) -> ChunkSpec:
    """What a sequence baseline declares: ``register_baseline(..., sequence=chunk(300))``."""
    return ChunkSpec(frames, stride, overlap)


@dataclass
class ChunkSet:
    """The frames of some names, read in chunks. ``len`` and the per-frame attributes
    (``name_idx``, ``frames``, ``labels``) list every frame of every name in order, as a
    ``WindowSet`` built with ``labelled_only=False`` does."""

    names: list[str]
    n_frames: np.ndarray  # (n_names,)
    fps: np.ndarray  # (n_names,)
    #: The task's truth per frame: EXPR (sum n_frames,) int8, -1 invalid or unknown (test);
    #: VA (sum n_frames, 2) float32, AU (sum n_frames, 12) int8, the task's marker there.
    frame_labels: np.ndarray
    tables: dict[str, SourceTable]
    spec: ChunkSpec
    task: Task = field(default_factory=get_task)

    def __len__(self) -> int:
        return int(self.n_frames.sum())

    @property
    def dims(self) -> dict[str, int]:
        return {m: t.dim for m, t in self.tables.items()}

    @cached_property
    def offsets(self) -> np.ndarray:
        """Where each name's frames start in the per-frame order."""
        return np.concatenate(([0], np.cumsum(self.n_frames))).astype(np.int64)

    @property
    def name_idx(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.names)), self.n_frames)

    @property
    def frames(self) -> np.ndarray:
        return np.arange(len(self)) - np.repeat(self.offsets[:-1], self.n_frames) + 1

    @property
    def labels(self) -> np.ndarray:
        return self.frame_labels.astype(target_dtype(self.task))

    @cached_property
    def frame_valid(self) -> np.ndarray:
        """(sum n_frames,) whether each frame has a label."""
        return self.task.valid(self.frame_labels)

    def train_chunks(self, gen: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(owner, start) of one epoch's training chunks: each video tiled edge to edge from a
        random offset (one draw per video from ``gen``), chunks without a label dropped."""
        length = self.spec.frames
        shift = torch.randint(length, (len(self.names),), generator=gen).numpy()
        counts = -(-(self.n_frames + shift) // length)
        owner = np.repeat(np.arange(len(self.names)), counts)
        k = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
        start = k * length - shift[owner]
        labelled = np.concatenate(([0], np.cumsum(self.frame_valid)))
        base = self.offsets[owner]
        lo = base + np.clip(start, 0, self.n_frames[owner])
        hi = base + np.clip(start + length, 0, self.n_frames[owner])
        keep = labelled[hi] > labelled[lo]
        return owner[keep], start[keep]

    def eval_chunks(self, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
        return self.spec.eval_starts(self.n_frames, shift)

    def eval_order(self, owner: np.ndarray, start: np.ndarray) -> np.ndarray:
        """The order to predict chunks in: those wholly inside their video first (grid order),
        then those over a video's edge. A batch without a padded step attends with no key mask,
        which takes the faster attention kernels (dense_sequence's prediction about 4x faster
        on the CPU, docs/sequence-models.md); in eval mode a chunk's logits do not depend on
        the other chunks of its batch, and ``combine`` puts each frame back in its place."""
        edge = (start < 0) | (start + self.spec.frames > self.n_frames[owner])
        return np.argsort(edge, kind="stable")

    def eval_batch(self, limit: int) -> int:
        """Chunks per prediction batch: ``limit`` within ``windows.EVAL_BATCH_BYTES``."""
        return eval_batch_items(limit, self.spec.frames, self.dims)

    def positions(self, owner: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, L) 0-based frames of the chunks and whether each lies inside its video."""
        pos = start[:, None] + np.arange(self.spec.frames)[None, :]
        return pos, (pos >= 0) & (pos < self.n_frames[owner][:, None])

    def targets(self, owner: np.ndarray, start: np.ndarray) -> np.ndarray:
        """(B, L) labels of the chunks' frames (EXPR int64; VA (B, L, 2), AU (B, L, 12)), the
        task's invalid marker outside the video or where invalid."""
        pos, inside = self.positions(owner, start)
        flat = self.offsets[owner][:, None] + np.clip(pos, 0, self.n_frames[owner][:, None] - 1)
        labels = self.frame_labels[flat]
        inside = inside.reshape(inside.shape + (1,) * (labels.ndim - 2))
        none = self.task.unknown(1)[0]  # "no label" (per column where a task has several)
        return np.where(inside, labels, none).astype(target_dtype(self.task))

    def target_mask(self, targets: np.ndarray) -> np.ndarray:
        """(B, L) whether each frame of ``targets`` has a label."""
        flat = targets.reshape(-1, *targets.shape[2:])
        return self.task.valid(flat).reshape(targets.shape[:2])

    def batch(self, owner: np.ndarray, start: np.ndarray, device: torch.device | str = "cpu"
              ) -> dict[str, torch.Tensor]:
        """The batch dict of chunks (``owner``, ``start``): the window contract's keys, with
        ``L`` steps of consecutive frames."""
        pos, inside = self.positions(owner, start)
        raw = pos + 1
        n = self.n_frames[owner]
        timed = any(not t.per_frame for t in self.tables.values())
        times = frame_times(np.clip(raw, 1, n[:, None]), self.fps[owner][:, None]) \
            if timed else None
        return gather_batch(self.tables, owner, raw, times, n, inside, device)

    def observed(self, modality: str) -> np.ndarray:
        """(N,) whether each frame has its own ``modality`` observation (per-frame order)."""
        table = self.tables[modality]
        out = np.empty(len(self), bool)
        for i in range(len(self.names)):
            n = int(self.n_frames[i])
            raw = np.arange(1, n + 1)[None, :]
            times = frame_times(raw, self.fps[i]) if not table.per_frame else None
            rows = table.rows(table.entry[i:i + 1], raw, times, self.n_frames[i:i + 1])
            out[self.offsets[i]:self.offsets[i + 1]] = ~table.packed.flag[rows[0]]
        return out

    def combine(self, owner: np.ndarray, start: np.ndarray, logits: torch.Tensor,
                total: torch.Tensor, count: torch.Tensor) -> int:
        """Add chunks' logits ``(B, L, C)`` into per-frame ``total`` and ``count`` by the
        overlap rule (centre: only the kept frames; mean: every frame inside the video);
        returns how many frame rows were added."""
        pos, keep = self.positions(owner, start)
        if self.spec.overlap == "centre":
            rel = np.arange(self.spec.frames)
            m = self.spec.margin
            keep &= (rel >= m)[None, :] & (rel < m + self.spec.eval_stride)[None, :]
        flat = torch.from_numpy((self.offsets[owner][:, None] + pos)[keep])
        total.index_add_(0, flat, logits[torch.from_numpy(keep)].float())
        count.index_add_(0, flat, torch.ones(flat.numel(), dtype=count.dtype))
        return int(flat.numel())


def build_chunks(release: Release, names: list[str] | tuple[str, ...],
                 sources: Mapping[str, FeatureSource], spec: ChunkSpec) -> ChunkSet:
    """Chunks over every frame of ``names`` (labels -1 where invalid or unknown)."""
    names = list(names)
    if not names:
        raise HarnessError("no names to cut into chunks")
    n_frames = np.array([release.n_frames(n) for n in names], dtype=np.int64)
    task = release.task
    labels = [_labels_or_unknown(release, n, int(k)).astype(np.int8 if task.classification
                                                             else task.dtype)
              for n, k in zip(names, n_frames)]
    return ChunkSet(
        names=names,
        n_frames=n_frames,
        fps=np.array([release.fps(n) for n in names], dtype=np.float64),
        frame_labels=np.concatenate(labels),
        tables={m: _table(src, names, n_frames) for m, src in sources.items()},
        spec=spec,
        task=task,
    )
