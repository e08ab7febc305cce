"""The MTL release at the real sizes, annotations only (``harness data synth --real-scale
--annotations-only``): ABAW4/7's 142,333 training rows, 26,876 validation rows and 51,159
test images, with exactly the reference's per-task valid counts (train VA / EXPR / AU
103,917 / 90,645 / 103,316; validation 26,876 / 15,440 / 26,876) and EXPR class counts
(``aff-wild2-tasks.md`` section 4). Without ``real_scale``, every figure is 100x smaller.

Where the reference has no figure, the assumption is stated here:

- video folders: the test list's 82 (HSE, ABAW7); training and validation not found, ASSUMED
  at the test's rows per folder (about 624): 228 and 43, taken from the EXPR plan's names of
  the same split so a person keeps its side;
- which rows lack which task: not found; ASSUMED VA and AU missing together on the same rows
  (their counts are close and both complete in validation), EXPR missing on other rows, so a
  row lacks one or two tasks and never all three; rows shuffled within the split;
- VA and AU values as the VA/AU annotation-only files (``scale_tasks``); test truth takes the
  validation's rates and class mix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.data.synth.mtl import TEST_LIST, TRAIN, VAL, test_list_text
from harness.data.synth.scale import ScalePlan, apportion, file_lengths, label_stream
from harness.data.synth.scale_tasks import au_values, va_values
from harness.data.valuefiles import AU_INVALID, VA_INVALID
from harness.tasks import get_task
from harness.tasks.au import AU_RATES

#: EXPR images per class (N, A, D, F, H, Sa, Su, O), ABAW4 (HSE abaw4 cell 35).
CLASS_COUNTS = {"train": (23_976, 4_555, 3_168, 3_122, 18_135, 7_609, 5_228, 24_852),
                "val": (1_886, 487, 565, 1_254, 3_751, 1_893, 1_003, 4_601)}
VIDEOS = {"train": 228, "val": 43, "test": 82}
SMALL_DIVISOR = 100
MAX_GAP = 9


def _sizes(split: str, real_scale: bool) -> tuple[int, dict[str, int], np.ndarray]:
    """Rows, per-task valid counts and EXPR class counts of a split (test: validation's mix)."""
    task = get_task("mtl")
    rows = task.release_frames[split]
    part = "val" if split == "test" else split
    share = {t: task.release_valid[part][t] / task.release_frames[part] for t in task.components}
    if not real_scale:
        rows //= SMALL_DIVISOR
    valid = {t: round(share[t] * rows) for t in task.components}
    classes = apportion(np.array(CLASS_COUNTS[part], dtype=np.float64), valid["expr"])
    return rows, valid, classes


def missing_layout(rng: np.random.Generator, rows: int, valid: dict[str, int]) -> np.ndarray:
    """(rows, 3) bool VA/EXPR/AU valid with exactly ``valid`` per task, shuffled."""
    m = {t: rows - k for t, k in valid.items()}
    ok = np.ones((rows, 3), dtype=bool)
    ok[:m["va"], 0] = False
    ok[:m["au"], 2] = False
    start = max(m["va"], m["au"])
    if start + m["expr"] > rows:
        raise ValueError("EXPR's missing rows do not fit beside VA/AU's")
    ok[start:start + m["expr"], 1] = False
    return ok[rng.permutation(rows)]


def _names(plan: ScalePlan, split: str, count: int) -> list[str]:
    pool = [n for n, _ in getattr(plan, split) if n != plan.duplicate]
    return pool[:count]


def write_mtl_scale(root: Path, seed: int, plan: ScalePlan, real_scale: bool) -> dict:
    """Write both annotation files, the test list and the hidden test truth; the manifest
    entry (rows and per-task valid counts per split)."""
    from harness.data.synth.mtl import mtl_text

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(42,)))
    out: dict = {"rows": {}, "valid": {}}
    for split, target in (("train", TRAIN), ("val", VAL),
                          ("test", get_task("mtl").hidden_truth)):
        rows, valid, classes = _sizes(split, real_scale)
        n_videos = VIDEOS[split] if real_scale else max(3, VIDEOS[split] // 10)
        names = _names(plan, split, n_videos)[:max(3, rows // 8)]
        lengths = _lengths(rng, len(names), rows)
        images = _images(rng, names, lengths)
        ok = missing_layout(rng, rows, valid)
        va = va_values(rng, rows)
        va[~ok[:, 0]] = VA_INVALID
        expr = np.full(rows, -1, dtype=np.int8)
        expr[ok[:, 1]] = label_stream(rng, classes)
        au = au_values(rng, rows, np.array(AU_RATES))
        au[~ok[:, 2]] = AU_INVALID
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(mtl_text(images, va, expr, au), newline="")
        if split == "test":
            (root / TEST_LIST).parent.mkdir(parents=True, exist_ok=True)
            (root / TEST_LIST).write_text(test_list_text(images.tolist()), newline="")
        out["rows"][split] = rows
        out["valid"][split] = {t: int(ok[:, j].sum()) for j, t in
                               enumerate(get_task("mtl").components)}
    return out


def _lengths(rng: np.random.Generator, n: int, rows: int) -> np.ndarray:
    """Rows per video folder: skewed lengths summing to ``rows``, between a twentieth and
    three times the mean, every one at least 2 (``file_lengths`` needs ``lo + hi`` and the
    ``n - 2`` others to fit inside ``rows``)."""
    if n < 3:
        raise ValueError(f"{n} video folder(s) for {rows} rows: the plan needs 3 or more")
    mean = rows / n
    lo = max(2, int(mean / 20))
    hi = max(lo + 2, min(int(3 * mean), rows - (n - 1) * (lo + 1)))
    return file_lengths(rng, n, rows, lo, hi)


def _images(rng: np.random.Generator, names: list[str], lengths: np.ndarray) -> np.ndarray:
    """``<name>/<NNNNN>.jpg`` at sparse frames (gaps 1..``MAX_GAP``) for each name's rows."""
    total = int(lengths.sum())
    gaps = rng.integers(1, MAX_GAP + 1, size=total)
    starts = np.cumsum(np.concatenate([[0], lengths[:-1]]))
    frames = np.cumsum(gaps)
    frames -= np.repeat(frames[starts] - gaps[starts], lengths)  # restart per name
    owner = np.repeat(np.array(names, dtype=object), lengths)
    return np.array([f"{n}/{f:05d}.jpg" for n, f in zip(owner.tolist(), frames.tolist())],
                    dtype=object)
