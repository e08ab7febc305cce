"""OpenPose output reader: one 36-d body pose per keypoint file, for the pose branch of fusion.

Layout (the harness's convention, OpenPose's own file naming):
``<pose_root>/<video>/<video>_<frame:012d>_keypoints.json``, ``frame`` the 0-based decoded frame,
about two files per second. Both OpenPose body models are read: COCO (18 keypoints) as is and
BODY_25 (25 keypoints) mapped to COCO-18 order, recognised from the keypoint count.

The seed release fed raw pixel coordinates; here each pose is centred on the body and divided by
its size, so the features do not depend on where the person stands or on the video resolution.

The pose extractor (registered here) caches the rows of each annotation name (the person
matters), at the keypoint files' own times; a video without OpenPose output gets zeros, flagged,
with a warning.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.console import progress
from harness.data.videos import annotated_side, video_of
from harness.errors import HarnessError, ReleaseFormatError
from harness.features.cache import FeatureCache, cache_root
from harness.features.extractors import (
    Alignment,
    Extracted,
    Extractor,
    ExtractRequest,
    register_extractor,
)
from harness.features.inputs import Inputs, files_part
from harness.paths import safe_child

N_KEYPOINTS = 18
POSE_DIM = 2 * N_KEYPOINTS
#: a keypoint with confidence at or below this is treated as not detected (OpenPose writes 0).
CONF_MIN = 0.05
NECK = 1
COCO18 = ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
          "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar")
BODY25 = ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
          "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar",
          "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel")
#: BODY_25 index of each COCO-18 keypoint (BODY_25 inserts MidHip at 8 and adds feet at 19-24).
BODY25_TO_COCO18 = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)


def read_openpose_file(path: str | Path) -> np.ndarray:
    """(n_people, 18, 3) x, y, confidence in COCO-18 order; (0, 18, 3) when nobody was found."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReleaseFormatError(path, f"not a readable OpenPose JSON file ({exc})") from exc
    people = data.get("people") if isinstance(data, dict) else None
    if not isinstance(people, list):
        raise ReleaseFormatError(path, "OpenPose JSON without a 'people' list")
    poses = [p for p in (_person(path, i, person) for i, person in enumerate(people))
             if p is not None]
    return np.stack(poses) if poses else np.zeros((0, N_KEYPOINTS, 3), np.float32)


def _person(path: Path, index: int, person: object) -> np.ndarray | None:
    """One person's keypoints in COCO-18 order; None when OpenPose wrote an empty body list."""
    flat = None
    if isinstance(person, dict):  # OpenPose < 1.2 wrote "pose_keypoints"
        flat = person.get("pose_keypoints_2d", person.get("pose_keypoints"))
    if not isinstance(flat, list):
        raise ReleaseFormatError(path, f"person {index}: no 'pose_keypoints_2d' list")
    if not flat:
        return None
    try:
        kp = np.asarray(flat, dtype=np.float64)  # checked before the float32 cast
    except (TypeError, ValueError) as exc:
        raise ReleaseFormatError(path, f"person {index}: non-numeric keypoints") from exc
    if kp.ndim != 1 or len(kp) not in (18 * 3, 25 * 3):
        raise ReleaseFormatError(
            path, f"person {index}: {len(flat)} values; expected 54 (COCO-18) or 75 (BODY_25)")
    kp = kp.reshape(-1, 3)
    _check_values(path, index, kp)
    kp = kp.astype(np.float32)
    return kp[list(BODY25_TO_COCO18)] if len(kp) == 25 else kp


#: no camera has frames this many pixels wide: a coordinate beyond it is a broken file.
MAX_COORD = 1e6


def _check_values(path: Path, index: int, kp: np.ndarray) -> None:
    """Refuse NaN, infinity and absurd coordinates, naming the person, keypoint and field."""
    bad = ~np.isfinite(kp)
    with np.errstate(invalid="ignore"):
        bad[:, :2] |= np.abs(kp[:, :2]) > MAX_COORD
    if not bad.any():
        return
    k, field = (int(v) for v in np.argwhere(bad)[0])
    names = COCO18 if len(kp) == N_KEYPOINTS else BODY25
    raise ReleaseFormatError(
        path, f"person {index}, keypoint {k} ({names[k]}): {'xyc'[field]} = {kp[k, field]:g}; "
        f"expected a finite number (coordinates within {MAX_COORD:g} pixels)")


def _confident(person: np.ndarray) -> np.ndarray:
    return person[:, 2] > CONF_MIN


def _bbox_size(person: np.ndarray) -> float:
    """Diagonal of the bounding box of the confident keypoints (0 for fewer than two)."""
    pts = person[_confident(person), :2]
    if len(pts) < 2:
        return 0.0
    return float(np.linalg.norm(pts.max(0) - pts.min(0)))


def select_person(people: np.ndarray, side: str | None, width: float | None = None
                  ) -> int | None:
    """Index of the person to use, or None if nobody (on the asked side) is confidently there.

    ``side=None``: the largest person (bounding box of confident keypoints). ``"left"`` /
    ``"right"`` (the annotated person stands there: see ``annotated_side``): of the two largest
    people, the one whose body centre has the smaller / larger x. With one person, the side it
    stands on decides (its centre against the middle of a ``width``-pixel frame): a ``_right``
    name never takes the lone person on the left, who is its neighbour.
    """
    if side not in (None, "left", "right"):
        raise HarnessError(f"side must be 'left', 'right' or None, not {side!r}")
    candidates = [i for i in range(len(people)) if _confident(people[i]).any()]
    if not candidates:
        return None
    by_size = sorted(candidates, key=lambda i: -_bbox_size(people[i]))
    if side is None:
        return by_size[0]
    pair = by_size[:2]
    centre_x = [float(people[i][_confident(people[i]), 0].mean()) for i in pair]
    if len(pair) == 1:
        if width and (centre_x[0] < width / 2) != (side == "left"):
            return None
        return pair[0]
    pick = int(np.argmin(centre_x)) if side == "left" else int(np.argmax(centre_x))
    return pair[pick]


def normalise_pose(person: np.ndarray) -> np.ndarray:
    """(18, 3) -> (36,) x0, y0, x1, y1, ... centred on the body and divided by its size.

    Centre: the neck when it is detected (stable in the upper-body shots of Aff-Wild2), else the
    mean of the detected keypoints. Scale: the diagonal of the detected keypoints' bounding box.
    Undetected keypoints are 0. The result is invariant to translation and scale.
    """
    ok = _confident(person)
    out = np.zeros((N_KEYPOINTS, 2), np.float32)
    if not ok.any():
        return out.reshape(-1)
    xy = person[:, :2].astype(np.float64)
    centre = xy[NECK] if ok[NECK] else xy[ok].mean(0)
    size = _bbox_size(person)
    scale = size if size > 1e-6 else 1.0
    out[ok] = (xy[ok] - centre) / scale
    return out.reshape(-1)


@dataclass
class PoseTrack:
    times: np.ndarray  # (rows,) seconds: frame / fps
    feats: np.ndarray  # (rows, 36) float32
    flags: np.ndarray  # (rows,) bool: no person found (features are 0)


def pose_files(folder: Path, video: str) -> list[tuple[int, Path]]:
    """(frame, path) of ``<folder>/<video>/<video>_<frame>_keypoints.json``, sorted by frame."""
    directory = safe_child(Path(folder), video)
    if not directory.is_dir():
        raise HarnessError(f"pose folder not found: {directory}")
    pattern = re.compile(rf"^{re.escape(video)}_(\d+)_keypoints\.json$")
    found = [(int(m.group(1)), p) for p in directory.iterdir()
             if (m := pattern.match(p.name)) is not None]
    if not found:
        raise HarnessError(f"no OpenPose files named {video}_<frame>_keypoints.json in {directory}")
    return sorted(found)


def read_pose_track(folder: Path, video: str, fps: float, side: str | None,
                    width: float | None = None) -> PoseTrack:
    """Every keypoint file of ``video`` under the pose root ``folder``, one row per file.

    ``side`` is where the annotated person stands (``annotated_side``), ``width`` the video's
    frame width in pixels (to place a lone person on a side); see ``select_person``.
    """
    if not fps > 0:
        raise HarnessError(f"{video}: fps must be positive, got {fps}")
    files = pose_files(folder, video)
    feats = np.zeros((len(files), POSE_DIM), np.float32)
    flags = np.ones(len(files), bool)
    for row, (_, path) in enumerate(files):
        people = read_openpose_file(path)
        index = select_person(people, side, width)
        if index is not None:
            feats[row] = normalise_pose(people[index])
            flags[row] = False
    times = np.array([frame for frame, _ in files], np.float64) / fps
    return PoseTrack(times, feats, flags)


# --------------------------------------------------------------------------- the extractor

MODALITY = "pose"
RATE_HZ = 2.0  # the rows given to a video without OpenPose output


def pose_cache(req: ExtractRequest) -> FeatureCache:
    # bump "reader" when the parsing, person choice or normalisation above changes
    return FeatureCache(cache_root(req.release), "pose-coco18",
                        {"normalised": True, "dim": POSE_DIM, "conf_min": CONF_MIN, "reader": 2},
                        inputs=lambda name: pose_inputs(req.release, name))


def pose_inputs(release, name: str) -> Inputs:
    """A name's pose rows come from its video's keypoint files and the video (fps, width)."""
    folder, video = release.layout.pose_dir, video_of(name)
    files: list[Path] = []
    if folder is not None and (folder / video).is_dir():
        try:
            files = [path for _, path in pose_files(folder, video)]
        except HarnessError:  # an empty folder: the extraction says so
            files = []
    path = release.video_path(name)
    return Inputs({"OpenPose files": files_part(files),
                   "video": files_part([path] if path is not None else [])})


def extract_pose(req: ExtractRequest) -> Extracted:
    """Pose rows of each name: the annotated person, picked by side (see ``annotated_side``)."""
    from harness.features.extract import all_names

    release, quiet = req.release, req.quiet
    cache = pose_cache(req)
    everyone = all_names(release)  # siblings decide a plain name's side, whatever the shard
    todo = cache.missing(req.mine)
    with progress("names", disable=quiet or not todo) as bar:
        task = bar.add_task("pose", total=len(todo), info="")
        for name in todo:
            info = release.video_info(name)
            folder = release.layout.pose_dir
            if folder is None or not (folder / video_of(name)).is_dir():
                warnings.warn(f"no OpenPose output for {video_of(name)}: pose set to zeros",
                              stacklevel=2)
                times = np.arange(0.0, max(info.duration, 1 / RATE_HZ), 1 / RATE_HZ)
                cache.save(name, np.zeros((times.size, POSE_DIM), np.float32), times,
                           np.ones(times.size, bool))
            else:
                track = read_pose_track(folder, video_of(name), info.fps,
                                        annotated_side(name, everyone), info.width)
                cache.save(name, track.feats, track.times, track.flags)
            bar.update(task, advance=1, info=name)
    return Extracted(cache)


register_extractor(Extractor(
    name="openpose-coco18", modality=MODALITY, alignment=Alignment.TIMED,
    cache=pose_cache, extract=extract_pose, label=lambda cfg: "coco18",
), owner=__name__)
