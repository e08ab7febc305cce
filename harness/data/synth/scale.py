"""Annotation files, test list and template at the real Aff-Wild2 EXPR sizes, without media.

VA and AU are written beside EXPR's files, from their own streams (``scale_tasks``).

For benchmarking and testing the data, metric and submission code at full scale (1.1 M train lines,
1 M template rows) in seconds. File counts, line totals, valid-frame totals and valid class counts
match the real ABAW5 release exactly (see docs of the reference); the labels form segments and
``-1`` runs like the real files. ``real_scale=False`` gives the same shape about 100x smaller.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.atomic import write_json
from harness.console import progress_task
from harness.data.labels import INVALID
from harness.data.synth import files
from harness.data.synth.generate import SynthSummary, disk_usage
from harness.data.synth.plan import random_names
from harness.data.synth.staging import staged

MEAN_SEGMENT = 240  # frames per expression segment (8 s at 30 fps)


@dataclass(frozen=True)
class SplitSize:
    files: int
    lines: int
    valid: int
    class_counts: tuple[int, ...]  # valid frames per class; sums to ``valid``


@dataclass(frozen=True)
class ScaleSpec:
    train: SplitSize
    val: SplitSize
    test_names: int
    test_rows: int
    min_lines: int
    max_lines: int


REAL = ScaleSpec(
    train=SplitSize(247, 1_102_504, 592_216,
                    (179_434, 17_153, 10_978, 9_110, 94_344, 80_671, 30_639, 169_887)),
    val=SplitSize(70, 453_535, 284_230,
                  (83_176, 6_127, 5_322, 8_473, 34_941, 25_594, 12_338, 108_259)),
    test_names=228, test_rows=1_022_655, min_lines=73, max_lines=47_435,
)


def apportion(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder)."""
    raw = weights / weights.sum() * total
    out = np.floor(raw).astype(np.int64)
    out[np.argsort(raw - out)[::-1][: total - int(out.sum())]] += 1
    return out


def _shrink(size: SplitSize, files: int, lines_div: int) -> SplitSize:
    valid = size.valid // lines_div
    counts = apportion(np.array(size.class_counts, dtype=np.float64), valid)
    return SplitSize(files, size.lines // lines_div, valid, tuple(int(c) for c in counts))


TINY = ScaleSpec(train=_shrink(REAL.train, 25, 100), val=_shrink(REAL.val, 7, 100),
                 test_names=23, test_rows=REAL.test_rows // 100, min_lines=20, max_lines=1500)


def file_lengths(rng: np.random.Generator, n: int, total: int, lo: int, hi: int) -> np.ndarray:
    """``n`` skewed lengths in [lo, hi] summing to ``total``, one exactly ``lo`` and one ``hi``."""
    free = rng.lognormal(0.0, 0.9, n - 2)
    rest = total - lo - hi
    lengths = np.full(n - 2, lo + 1, dtype=np.int64)
    for _ in range(50):  # rescale the unclipped ones until the clipped total fits
        lengths = np.clip(np.round(free / free.sum() * rest), lo + 1, hi - 1).astype(np.int64)
        if abs(int(lengths.sum()) - rest) < n:
            break
        free = free * rest / lengths.sum()
    residual = rest - int(lengths.sum())
    step = 1 if residual > 0 else -1
    i = 0
    while residual:
        j = i % len(lengths)
        if lo + 1 <= lengths[j] + step <= hi - 1:
            lengths[j] += step
            residual -= step
        i += 1
    return rng.permutation(np.concatenate([[lo, hi], lengths]))


def label_stream(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """All valid labels of a split in segments, with exactly ``counts[c]`` frames of class c."""
    segments: list[tuple[int, int]] = []
    for cls, count in enumerate(counts.tolist()):
        if count <= 0:
            continue
        cuts = np.sort(rng.choice(np.arange(1, count), size=min(count - 1, count // MEAN_SEGMENT),
                                  replace=False)) if count > 1 else np.array([], dtype=np.int64)
        sizes = np.diff(np.concatenate([[0], cuts, [count]]))
        segments += [(cls, int(s)) for s in sizes]
    order = rng.permutation(len(segments))
    classes = np.array([segments[i][0] for i in order], dtype=np.int8)
    sizes = np.array([segments[i][1] for i in order], dtype=np.int64)
    return np.repeat(classes, sizes)


def with_invalid_runs(rng: np.random.Generator, valid: np.ndarray, n_invalid: int) -> np.ndarray:
    """Interleave ``valid`` labels with ``n_invalid`` frames of -1 in a few runs."""
    runs = int(min(n_invalid, rng.integers(1, 6))) if n_invalid else 0
    if not runs:
        return valid.astype(np.int8)
    inv = np.diff(np.concatenate([[0], np.sort(rng.choice(np.arange(1, n_invalid), runs - 1,
                                                          replace=False)), [n_invalid]]))
    cut = np.sort(rng.integers(0, len(valid) + 1, runs))
    parts = np.split(valid.astype(np.int8), cut)
    out = [parts[0]]
    for r in range(runs):
        out += [np.full(inv[r], INVALID, dtype=np.int8), parts[r + 1]]
    return np.concatenate(out)


@dataclass(frozen=True)
class ScalePlan:
    """Planned sizes: (name, lines) per split; ``invalid`` lines per annotated name."""

    train: list[tuple[str, int]]
    val: list[tuple[str, int]]
    test: list[tuple[str, int]]
    invalid: dict[str, int]
    duplicate: str


def with_pairs(names: list[str], every: int = 25) -> list[str]:
    """Turn every ``every``-th couple of names into a ``<video>_left`` / ``<video>_right`` pair."""
    out = list(names)
    for i in range(1, len(out) - 1, every):
        out[i], out[i + 1] = f"{out[i]}_left", f"{out[i]}_right"
    return out


def plan_scale(seed: int, spec: ScaleSpec) -> ScalePlan:
    """Names and line counts of every file (cheap; the exact totals can be checked from it)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(10,)))
    n_total = spec.train.files - 1 + spec.val.files + spec.test_names
    names = random_names(rng, n_total)
    val_names = with_pairs(names[: spec.val.files])
    dup = val_names[0]
    train_names = with_pairs(names[spec.val.files: spec.val.files + spec.train.files - 1])
    test_names = with_pairs(names[spec.val.files + spec.train.files - 1:])
    val_len = file_lengths(rng, spec.val.files, spec.val.lines, spec.min_lines, spec.max_lines)
    dup_len = int(val_len[0])
    train_len = file_lengths(rng, len(train_names), spec.train.lines - dup_len, spec.min_lines,
                             spec.max_lines)
    test_len = file_lengths(rng, len(test_names), spec.test_rows, spec.min_lines, spec.max_lines)
    val_inv = invalid_counts(rng, val_len, spec.val.lines - spec.val.valid)
    dup_inv = int(val_inv[0])
    train_inv = invalid_counts(rng, train_len, spec.train.lines - spec.train.valid - dup_inv)
    invalid = dict(zip(val_names, val_inv.tolist(), strict=True))
    invalid |= dict(zip(train_names, train_inv.tolist(), strict=True))
    return ScalePlan(
        train=[(dup, dup_len)] + list(zip(train_names, train_len.tolist(), strict=True)),
        val=list(zip(val_names, val_len.tolist(), strict=True)),
        test=list(zip(test_names, test_len.tolist(), strict=True)),
        invalid=invalid, duplicate=dup,
    )


def invalid_counts(rng: np.random.Generator, lengths: np.ndarray, total: int) -> np.ndarray:
    """Per-file -1 counts summing to ``total``: varied fractions, never more than the file."""
    weights = lengths * rng.beta(0.6, 0.8, len(lengths))
    counts = np.minimum(apportion(weights, total), lengths - 1)
    short = total - int(counts.sum())
    while short > 0:  # put what clipping removed where there is room
        room = np.flatnonzero(counts < lengths - 1)
        take = np.minimum(lengths[room] - 1 - counts[room], -(-short // len(room)))
        take = np.minimum(take, short - np.concatenate([[0], np.cumsum(take)[:-1]]).clip(0))
        take = take.clip(0)
        counts[room] += take
        short -= int(take.sum())
    return counts


def split_labels(rng: np.random.Generator, files: list[tuple[str, int]], invalid: dict[str, int],
                 counts: np.ndarray) -> dict[str, np.ndarray]:
    """Cut the split's label stream into its files, adding each file's -1 runs."""
    stream = label_stream(rng, counts)
    out: dict[str, np.ndarray] = {}
    pos = 0
    for name, n in files:
        n_valid = n - invalid[name]
        out[name] = with_invalid_runs(rng, stream[pos:pos + n_valid], invalid[name])
        pos += n_valid
    assert pos == len(stream), (pos, len(stream))
    return out


def synthesize_annotations_only(out: Path, *, seed: int = 0, real_scale: bool = True,
                                progress: bool = True, tasks: bool = True) -> SynthSummary:
    """Write Train/Validation annotation files, test list, template (and hidden test truth),
    for EXPR and (``tasks``) for every other task the corpus carries (VA, AU)."""
    start = time.perf_counter()
    spec = REAL if real_scale else TINY
    plan = plan_scale(seed, spec)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(11,)))
    val = split_labels(rng, plan.val, plan.invalid, np.array(spec.val.class_counts))
    dup = val[plan.duplicate]
    train_counts = np.array(spec.train.class_counts) - np.bincount(dup[dup >= 0], minlength=8)
    train = split_labels(rng, plan.train[1:], plan.invalid, train_counts)
    train = {plan.duplicate: dup} | train
    from harness.data.synth.scale_mtl import write_mtl_scale
    from harness.data.synth.scale_tasks import scale_names, task_scale, write_task
    from harness.data.synth.tasks import corpus_tasks

    labelled = corpus_tasks() if tasks else []
    task_frames: dict[str, dict[str, dict[str, int]]] = {}
    with staged(Path(out)) as root, progress_task(
            "writing annotations", 4 + len(labelled), "steps", disable=not progress) as advance:
        for split, labels in (("train", train), ("val", val)):
            for name, lab in labels.items():
                path = root / files.SPLIT_DIRS[split] / f"{name}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(files.annotation_text(lab), newline="")
            advance(1)
        truth = _test_truth(rng, plan.test)
        for name, lab in truth.items():
            path = root / files.TRUTH / f"{name}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files.annotation_text(lab), newline="")
        advance(1)
        (root / files.TEST_LIST).parent.mkdir(parents=True, exist_ok=True)
        (root / files.TEST_LIST).write_text(files.test_list_text(n for n, _ in plan.test))
        (root / files.TEMPLATE).write_text(files.template_text(plan.test))
        advance(1)
        for t, task in enumerate(labelled):
            task_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(30, t)))
            spec = task_scale(task, real_scale)
            names = scale_names(task_rng, spec, plan)
            task_frames[task.name] = write_task(root, task_rng, task, spec, names)
            advance(1)
        mtl = write_mtl_scale(root, seed, plan, real_scale) if tasks else None
        write_json(root / files.MANIFEST, _manifest(seed, real_scale, plan) | {
            "tasks": task_frames} | ({"mtl": mtl} if mtl else {}))
    return SynthSummary(
        root=Path(out), n_train=len(train), n_val=len(val), n_test=len(plan.test),
        n_frames=sum(n for _, n in plan.train + plan.val + plan.test),
        n_labelled=sum(int((v >= 0).sum()) for v in (train | val).values())
        + int((dup >= 0).sum()),
        bytes_on_disk=disk_usage(Path(out)), seconds_taken=time.perf_counter() - start,
        duplicates=[plan.duplicate],
        tasks={t: {s: list(names) for s, names in by_split.items()}
               for t, by_split in task_frames.items()},
    )


def _test_truth(rng: np.random.Generator, test: list[tuple[str, int]]) -> dict[str, np.ndarray]:
    """Hidden labels for the test names, with the validation class mix."""
    total = sum(n for _, n in test)
    counts = apportion(np.array(REAL.val.class_counts, dtype=np.float64), total)
    stream = label_stream(rng, counts)
    bounds = np.cumsum([0] + [n for _, n in test])
    return {name: stream[a:b] for (name, _), a, b in zip(test, bounds[:-1], bounds[1:],
                                                           strict=True)}


def _manifest(seed: int, real_scale: bool, plan: ScalePlan) -> dict:
    return {
        "generator": "abaw-harness synth (annotations only)", "seed": seed,
        "parameters": {"real_scale": real_scale}, "duplicate": plan.duplicate,
        "names": {n: {"split": s, "n_frames": k} for s, rows in
                  (("train", plan.train), ("val", plan.val), ("test", plan.test))
                  for n, k in rows},
        "complete": True,
    }
