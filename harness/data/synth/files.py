"""Where each file of the corpus goes and the exact text of the release's text formats.

Names and headers follow the real ABAW5 release (see docs/architecture.md), so the harness
reads the embedded corpus with the very same code as the real data.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from harness.data.labels import ANNOTATION_HEADER, TEMPLATE_HEADER

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

_LABEL_TEXT = np.array([str(v) for v in range(-1, 8)])


def annotation_text(labels: np.ndarray, crlf: bool = False) -> str:
    """Header, then one integer per line (the real files end with a newline too)."""
    end = "\r\n" if crlf else "\n"
    body = end.join(_LABEL_TEXT[np.asarray(labels, dtype=np.int64) + 1].tolist())
    return ANNOTATION_HEADER + end + body + end


def template_text(rows: Iterable[tuple[str, int]]) -> str:
    """``image_location,...`` header, then ``<name>/<NNNNN>.jpg,`` for frames 1..N per name."""
    parts = [TEMPLATE_HEADER + "\n"]
    for name, n in rows:
        parts.append("".join(f"{name}/{k:05d}.jpg,\n" for k in range(1, n + 1)))
    return "".join(parts)


def test_list_text(names: Iterable[str]) -> str:
    return "".join(f"{name}\n" for name in names)


def face_path(root: Path, name: str, frame: int) -> Path:
    return root / FACES / name / f"{frame:05d}.jpg"


def pose_path(root: Path, video: str, frame: int) -> Path:
    """OpenPose's own naming: ``<video>_<0-based frame:012d>_keypoints.json``."""
    return root / POSES / video / f"{video}_{frame:012d}_keypoints.json"
