"""The embedded corpus's s-Aff-Wild2: an MTL release drawn from the same synthetic videos.

Laid out as ABAW7 (which ABAW11 is assumed to follow, ``harness.data.mtl``): at the corpus
root ``training_set_annotations.txt`` and ``validation_set_annotations.txt`` (16-field rows
under a header; the header's last 12 names were never seen and are ASSUMED to be the AU
names), ``test_set_examples/MTL.txt`` (the 5-name header, each image with a trailing comma),
the test images copied (hard-linked) under ``test_data/cropped_aligned``, and the hidden test
labels in ``synth_truth/MTL_Challenge/test_set_annotations.txt`` (not part of a release).

Rows are sparse frames of the EXPR corpus's persons, same side (train / validation / test) as
in every task: gaps of 1..``MAX_GAP`` frames (the release's ``00001, 00008, 00017, 00021``),
only frames with a face image and labels for all three tasks. Labels come from the person's
timeline (EXPR) and from the VA/AU files where the person is in them, else drawn the same way
(``va_labels``/``au_labels``) from this module's stream. Then each task is removed from rows
at the release's rates (ABAW4/7 valid counts per split, ``MtlTask.release_valid``; the test
rows take validation's), independently per row, with rates solved so that after dropping rows
with no label at all each task keeps its share.

Everything draws from spawn keys 40.. of the corpus seed: the EXPR, VA and AU files of a seed
do not change.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from harness.atomic import write_text
from harness.data.mtl import EDITIONS, TEST_HEADER
from harness.data.synth import files
from harness.data.synth.plan import SPLITS, CorpusPlan
from harness.data.synth.script import Timeline
from harness.data.synth.tasks import au_labels, va_labels
from harness.data.valuefiles import AU_INVALID, AU_NAMES, VA_INVALID, _fixed4
from harness.tasks import get_task

MAX_GAP = 9
EDITION = EDITIONS[0]  # ABAW7/11
TRAIN, VAL = EDITION.train, EDITION.val
TEST_LIST = EDITION.test_list
TEST_IMAGES = EDITION.test_images[0]
PART = {"train": "train", "val": "val", "test": "val"}  # test rows take validation's rates


def missing_rates(valid: np.ndarray) -> np.ndarray:
    """Per-row probabilities q that each task is missing, such that among rows keeping at least
    one label each task is valid with share ``valid`` (fixed point of q = 1 - r(1 - prod q))."""
    r = np.asarray(valid, dtype=np.float64)
    q = 1.0 - r
    for _ in range(200):
        q = np.clip(1.0 - r * (1.0 - np.prod(q)), 0.0, 1.0)
    return q


def task_rates(split: str) -> np.ndarray:
    """Valid share of VA, EXPR, AU among rows in the release's ``split`` (ABAW4/7)."""
    task = get_task("mtl")
    part = PART[split]
    rows = task.release_frames[part]
    return np.array([task.release_valid[part][t] / rows for t in task.components])


def apply_missing(rng: np.random.Generator, va: np.ndarray, expr: np.ndarray, au: np.ndarray,
                  split: str) -> np.ndarray:
    """Mark tasks missing in place at the split's rates; returns the rows to keep."""
    q = missing_rates(task_rates(split))
    gone = rng.random((len(expr), 3)) < q
    va[gone[:, 0]] = VA_INVALID
    expr[gone[:, 1]] = -1
    au[gone[:, 2]] = AU_INVALID
    return ~gone.all(axis=1)


def mtl_text(images: np.ndarray, va: np.ndarray, expr: np.ndarray, au: np.ndarray,
             header: str | None = None) -> str:
    """An MTL annotation file: header, then ``<image>,v,a,expr,12 AUs`` per row (VA with 4
    decimals or ``-5``; expression or ``-1``; AUs 0/1 or all ``-1``), as byte matrices."""
    header = get_task("mtl").header if header is None else header
    n = len(images)
    if n == 0:
        return header + "\n"
    img = np.array([str(i) for i in images], dtype=bytes)
    img = img.view(np.uint8).reshape(n, -1)
    bad_va = ~((va >= -1) & (va <= 1)).all(axis=1)
    comma = np.full((n, 1), ord(","), dtype=np.uint8)
    ex = np.zeros((n, 3), dtype=np.uint8)
    ex[:, 0] = ord(",")
    ex[:, 1] = np.where(expr < 0, ord("-"), 0)
    ex[:, 2] = np.where(expr < 0, ord("1"), expr.astype(np.int64) + ord("0"))
    bad_au = (au < 0).any(axis=1)
    aus = np.zeros((n, 3 * len(AU_NAMES)), dtype=np.uint8)
    aus[:, 0::3] = ord(",")
    aus[:, 1::3] = np.where(bad_au[:, None], ord("-"), 0)
    aus[:, 2::3] = np.where(bad_au[:, None], ord("1"), np.clip(au, 0, 1) + ord("0"))
    mat = np.concatenate([img, comma, _fixed4(va[:, 0], bad_va), comma,
                          _fixed4(va[:, 1], bad_va), ex, aus,
                          np.full((n, 1), ord("\n"), dtype=np.uint8)], axis=1)
    return header + "\n" + mat[mat != 0].tobytes().decode("ascii")


def test_list_text(images: list[str]) -> str:
    """ABAW7's ``MTL.txt``: the 5-name header, then ``<image>,`` per line."""
    return TEST_HEADER + "\n" + "".join(f"{i},\n" for i in images)


def sparse_frames(rng: np.random.Generator, n: int) -> np.ndarray:
    """1-based frames 1..n at gaps of 1..``MAX_GAP`` from a random start."""
    steps = rng.integers(1, MAX_GAP + 1, size=n)
    frames = int(rng.integers(1, MAX_GAP + 1)) + np.concatenate([[0], np.cumsum(steps)])
    return frames[frames <= n]


def write_mtl(root: Path, seed: int, plan: CorpusPlan, timelines: dict[str, Timeline],
              labels: dict[str, dict[str, np.ndarray]], fps: dict[str, float]) -> dict:
    """Write the MTL release into the corpus at ``root`` (faces already rendered); returns its
    manifest entry (rows per split, per-task valid counts, paths it owns)."""
    rows: dict[str, list] = {s: [] for s in SPLITS}
    for k, v in enumerate(plan.videos):
        for j, person in enumerate(v.persons):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(40, k, j)))
            rows[person.split].append(_person_rows(rng, person.name, timelines,
                                                   labels, fps[person.name]))
    out: dict = {"edition": EDITION.edition, "rows": {}, "valid": {}}
    truth = get_task("mtl").hidden_truth
    for split, target in (("train", TRAIN), ("val", VAL), ("test", truth)):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(41, SPLITS.index(
            split))))
        images, va, expr, au = (np.concatenate([r[i] for r in rows[split]]) for i in range(4))
        keep = apply_missing(rng, va, expr, au, split)
        images, va, expr, au = images[keep], va[keep], expr[keep], au[keep]
        write_text(root / target, mtl_text(images, va, expr, au))
        out["rows"][split] = int(len(images))
        out["valid"][split] = {"va": int(((va >= -1) & (va <= 1)).all(axis=1).sum()),
                               "expr": int((expr >= 0).sum()),
                               "au": int((au >= 0).all(axis=1).sum())}
        if split == "test":
            write_text(root / TEST_LIST, test_list_text(images.tolist()))
            _link_images(root, images.tolist())
    out["paths"] = [TRAIN.as_posix(), VAL.as_posix(), truth.as_posix(),
                    TEST_LIST.parts[0], TEST_IMAGES.parts[0]]
    return out


def _person_rows(rng: np.random.Generator, name: str,
                 timelines: dict[str, Timeline], labels: dict[str, dict[str, np.ndarray]],
                 fps: float) -> tuple[np.ndarray, ...]:
    tl = timelines[name]
    n = len(tl.labels)
    va = labels.get("va", {}).get(name)
    va = va_labels(rng, tl, fps) if va is None else va
    au = labels.get("au", {}).get(name)
    au = au_labels(rng, tl, fps) if au is None else au
    frames = sparse_frames(rng, n)
    frames = frames[tl.has_face[frames - 1]]
    i = frames - 1
    ok = (tl.labels[i] >= 0) & ((va[i] >= -1) & (va[i] <= 1)).all(axis=1) & \
        (au[i] >= 0).all(axis=1)
    frames, i = frames[ok], i[ok]
    images = np.array([f"{name}/{f:05d}.jpg" for f in frames.tolist()], dtype=object)
    return (images, va[i].astype(np.float32), tl.labels[i].astype(np.int8),
            au[i].astype(np.int8))


def _link_images(root: Path, images: list[str]) -> None:
    """The test images under the edition's test folder (hard links, copies where refused)."""
    for image in images:
        src, dst = root / files.FACES / image, root / TEST_IMAGES / image
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
