"""VA and AU annotation files, test lists and templates at the release's sizes, without media.

Written beside EXPR's by ``synthesize_annotations_only`` (from random streams of their own, so
EXPR's files do not change). Sizes per task (``TaskScale``) come from aff-wild2-tasks.md
(ABAW5: valid frames of Train_Set and Validation_Set, validation and test names, template rows).
Where the reference has no figure, the assumption is stated here:

- training names: not found; INFERRED as validation names x train/validation valid frames
  (VA 334, AU 320; the tasks' ``release_names``);
- lines including invalid frames: not found; ASSUMED ``INVALID_SHARE`` = 5 % of each split's
  lines invalid (``-5,-5`` / all ``-1``), so lines = valid / 0.95;
- file lengths: as EXPR's (73 .. 47,435 lines), not found for VA/AU;
- the VA value distribution: not found; segments with valence ~ N(0.05, 0.40) and arousal
  ~ N(0.20, 0.27), clipped (the embedded corpus's own distribution);
- AU positive rates: the reference's per-AU rates (ABAW5 train+val), per segment.

About 70 % of a task's names per split are EXPR's names of that split, the rest its own, so
the tasks' sets are partly different, as in the release.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.synth import files
from harness.data.synth.plan import random_names
from harness.data.synth.scale import ScalePlan, file_lengths, with_pairs
from harness.tasks import Task

INVALID_SHARE = 0.05
SHARED = 0.7  # share of a task's names per split taken from EXPR's names of that split
MEAN_SEGMENT = 240  # frames per label segment
VA_MEAN, VA_SD = (0.05, 0.20), (0.40, 0.27)
SMALL_DIVISOR = 100  # real_scale=False: 100x fewer lines, 10x fewer names (as EXPR's TINY)


@dataclass(frozen=True)
class TaskScale:
    names: dict[str, int]  # train / val / test names
    valid: dict[str, int]  # valid frames of train / val
    test_rows: int
    min_lines: int = 73
    max_lines: int = 47_435

    def lines(self, split: str) -> int:
        return round(self.valid[split] / (1 - INVALID_SHARE))


def task_scale(task: Task, real_scale: bool = True) -> TaskScale:
    """The task's release sizes (``release_names``, ``release_frames``), or 100x smaller."""
    names = dict(task.release_names)
    frames = task.release_frames
    spec = TaskScale(names, {"train": frames["train"], "val": frames["val"]}, frames["test"])
    if real_scale:
        return spec
    return TaskScale({s: max(2, n // 10) for s, n in names.items()},
                     {s: n // SMALL_DIVISOR for s, n in spec.valid.items()},
                     spec.test_rows // SMALL_DIVISOR, min_lines=20, max_lines=1500)


def scale_names(rng: np.random.Generator, spec: TaskScale, expr: ScalePlan
               ) -> dict[str, list[str]]:
    """Per split: ``SHARED`` of the names from EXPR's same split, the rest new."""
    taken = {n for rows in (expr.train, expr.val, expr.test) for n, _ in rows}
    expr_names = {"train": [n for n, _ in expr.train if n != expr.duplicate],
                  "val": [n for n, _ in expr.val], "test": [n for n, _ in expr.test]}
    fresh = iter(n for n in random_names(rng, sum(spec.names.values()) + len(taken))
                 if n not in taken and not n.endswith(("_left", "_right")))
    out = {}
    for split, count in spec.names.items():
        pool = expr_names[split]
        k = min(len(pool), round(SHARED * count))
        shared = [pool[i] for i in sorted(rng.permutation(len(pool))[:k])]
        own = with_pairs([next(fresh) for _ in range(count - k)])
        out[split] = shared + own
    return out


def _segments(rng: np.random.Generator, n: int) -> np.ndarray:
    """Segment index of each of ``n`` frames (segments of about ``MEAN_SEGMENT`` frames)."""
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(n - 1, n // MEAN_SEGMENT),
                              replace=False)) if n > 1 else np.array([], dtype=np.int64)
    return np.repeat(np.arange(cuts.size + 1), np.diff(np.concatenate([[0], cuts, [n]])))


def va_values(rng: np.random.Generator, n: int) -> np.ndarray:
    """float32 (n, 2): per-segment levels plus frame noise, clipped to [-1, 1]."""
    seg = _segments(rng, n)
    level = rng.normal(VA_MEAN, VA_SD, (seg.max() + 1, 2))
    values = level[seg] + rng.normal(0, 0.03, (n, 2))
    return np.clip(values, -1, 1).astype(np.float32)


def au_values(rng: np.random.Generator, n: int, rates: np.ndarray) -> np.ndarray:
    """int8 (n, 12): per-segment AU states drawn with the release's positive rates."""
    seg = _segments(rng, n)
    return (rng.random((seg.max() + 1, len(rates))) < rates)[seg].astype(np.int8)


def with_invalid(rng: np.random.Generator, values: np.ndarray, n_invalid: int,
                 marker: float) -> np.ndarray:
    """``values`` with ``n_invalid`` rows set to ``marker`` in one or two runs."""
    out = values.copy()
    if n_invalid:
        start = int(rng.integers(0, len(out) - n_invalid + 1))
        out[start:start + n_invalid] = marker
    return out


def write_task(root: Path, rng: np.random.Generator, task: Task, spec: TaskScale,
               names: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """Write the task's folders, hidden truth, test list and template; frames per name."""
    dirs = files.task_split_dirs(task)
    out: dict[str, dict[str, int]] = {}
    for split in ("train", "val", "test"):
        count = len(names[split])
        total = spec.test_rows if split == "test" else spec.lines(split)
        lengths = file_lengths(rng, count, total, spec.min_lines, spec.max_lines)
        invalid = (np.zeros(count, dtype=np.int64) if split == "test" else
                   _apportion_invalid(lengths, total - spec.valid[split]))
        folder = root / (task.hidden_truth if split == "test" else dirs[split])
        folder.mkdir(parents=True, exist_ok=True)
        out[split] = {}
        for name, n, bad in zip(names[split], lengths.tolist(), invalid.tolist(), strict=True):
            values = with_invalid(rng, task.synth_scale_values(rng, n), bad, task.invalid)
            (folder / f"{name}.txt").write_text(task.annotation_text(values), newline="")
            out[split][name] = n
    tests = list(out["test"].items())
    (root / files.task_test_list(task)).parent.mkdir(parents=True, exist_ok=True)
    (root / files.task_test_list(task)).write_text(files.test_list_text(n for n, _ in tests))
    (root / files.task_template(task)).write_text(
        files.template_text(tests, task.template_header))
    return out


def _apportion_invalid(lengths: np.ndarray, total: int) -> np.ndarray:
    """Invalid rows per file summing to ``total``, in proportion to length, never a whole file."""
    raw = lengths / lengths.sum() * total
    out = np.minimum(np.floor(raw).astype(np.int64), lengths - 1)
    short = total - int(out.sum())
    order = np.argsort(-(lengths - 1 - out))
    for i in order:
        if short <= 0:
            break
        take = min(short, int(lengths[i] - 1 - out[i]))
        out[i] += take
        short -= take
    return out
