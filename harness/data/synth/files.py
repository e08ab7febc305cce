"""Where each file of the corpus goes and the exact text of the release's text formats.

Names and headers follow the real ABAW5 release (see docs/architecture.md), so the harness
reads the embedded corpus with the very same code as the real data.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from harness.data.annotations import annotation_text  # noqa: F401  (re-exported)
from harness.data.labels import TEMPLATE_HEADER

ANNOTATIONS = Path("5th_ABAW_Annotations", "EXPR_Classification_Challenge")
SPLIT_DIRS = {"train": ANNOTATIONS / "Train_Set", "val": ANNOTATIONS / "Validation_Set"}
FACES = Path("cropped_aligned")
VIDEOS = Path("videos")
POSES = Path("openpose")
TEST_LIST = Path("names_of_videos_in_each_test_set",
                 "Expression_Classification_Challenge_test_set_release.txt")
TEMPLATE = Path("CVPR_5th_ABAW_EXPR_test_set_sample.txt")
TRUTH = Path("synth_truth", "Test_Set")
MANIFEST = Path("synth.json")
#: The edition whose layout the corpus copies, for every task.
EDITION = "ABAW5"
TEST_LISTS = TEST_LIST.parent


def task_split_dirs(task) -> dict[str, Path]:
    """A task's ``Train_Set`` / ``Validation_Set`` folders in the corpus (the ABAW5 layout)."""
    folder = next(f for f in task.annotation_folders if f.edition == EDITION).path
    return {"train": folder / "Train_Set", "val": folder / "Validation_Set"}


def task_test_list(task) -> Path:
    return TEST_LISTS / task.test_lists[0]


def task_template(task) -> Path:
    return Path(task.template_names[0])

def template_text(rows: Iterable[tuple[str, int]], header: str = TEMPLATE_HEADER) -> str:
    """``image_location,...`` header, then ``<name>/<NNNNN>.jpg,`` for frames 1..N per name."""
    parts = [(header + "\n").encode()]
    for name, n in rows:
        parts.append(_frame_rows(name, n))
    return b"".join(parts).decode()


def _frame_rows(name: str, n: int) -> bytes:
    """``<name>/<k:05d>.jpg,\\n`` for k = 1..n, built as one byte table (millions of rows)."""
    if n >= 100_000:  # six digits and more: the plain way
        return "".join(f"{name}/{k:05d}.jpg,\n" for k in range(1, n + 1)).encode()
    prefix = np.frombuffer(f"{name}/".encode(), dtype=np.uint8)
    suffix = np.frombuffer(b".jpg,\n", dtype=np.uint8)
    k = np.arange(1, n + 1)
    table = np.empty((n, prefix.size + 5 + suffix.size), dtype=np.uint8)
    table[:, :prefix.size] = prefix
    for d in range(5):
        table[:, prefix.size + d] = (k // 10 ** (4 - d)) % 10 + ord("0")
    table[:, prefix.size + 5:] = suffix
    return table.tobytes()


def test_list_text(names: Iterable[str]) -> str:
    return "".join(f"{name}\n" for name in names)


def face_path(root: Path, name: str, frame: int) -> Path:
    return root / FACES / name / f"{frame:05d}.jpg"


def pose_path(root: Path, video: str, frame: int) -> Path:
    """OpenPose's own naming: ``<video>_<0-based frame:012d>_keypoints.json``."""
    return root / POSES / video / f"{video}_{frame:012d}_keypoints.json"
