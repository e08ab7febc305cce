"""OpenPose reader: both body layouts, person selection, normalisation, track assembly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.errors import HarnessError, ReleaseFormatError
from harness.features.pose.openpose import (
    BODY25_TO_COCO18,
    COCO18,
    POSE_DIM,
    normalise_pose,
    read_openpose_file,
    read_pose_track,
    select_person,
)

BODY25 = ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
          "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar",
          "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel")


def skeleton(n_kp: int, x0: float, y0: float, size: float, conf: float = 0.9) -> list[float]:
    """A flat OpenPose keypoint list; keypoint i at (x0 + size*i/n, y0 + size*(i%5)/5)."""
    flat: list[float] = []
    for i in range(n_kp):
        flat += [x0 + size * i / n_kp, y0 + size * (i % 5) / 5, conf]
    return flat


def write_frame(path: Path, people: list[list[float]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"version": 1.3, "people": [
        {"person_id": [-1], "pose_keypoints_2d": p, "face_keypoints_2d": []} for p in people]}
    path.write_text(json.dumps(body))
    return path


def test_coco18_parsed(tmp_path):
    people = read_openpose_file(write_frame(tmp_path / "a.json", [skeleton(18, 10, 20, 100)]))
    assert people.shape == (1, 18, 3)
    assert people[0, 3, 0] == pytest.approx(10 + 100 * 3 / 18)
    legacy = tmp_path / "old.json"  # OpenPose < 1.2 key name
    legacy.write_text(json.dumps({"people": [{"pose_keypoints": skeleton(18, 0, 0, 10)}]}))
    assert read_openpose_file(legacy).shape == (1, 18, 3)


def test_body25_mapped_to_coco18(tmp_path):
    flat = [v for i in range(25) for v in (float(i), 100.0 + i, 0.5)]  # x encodes BODY_25 index
    people = read_openpose_file(write_frame(tmp_path / "b.json", [flat]))
    assert people.shape == (1, 18, 3)
    got = {COCO18[c]: BODY25[int(people[0, c, 0])] for c in range(18)}
    assert got == {name: name for name in COCO18}  # every COCO keypoint came from its namesake
    assert people[0, 8, 0] == 9  # RHip, not MidHip
    assert people[0, 11, 0] == 12  # LHip
    assert people[0, 17, 0] == 18  # LEar
    assert 8 not in BODY25_TO_COCO18 and len(set(BODY25_TO_COCO18)) == 18


def test_no_people(tmp_path):
    assert read_openpose_file(write_frame(tmp_path / "c.json", [])).shape == (0, 18, 3)


@pytest.mark.parametrize("text", ['{"people": [', '{"version": 1}', '[1, 2]',
                                  '{"people": [{"pose_keypoints_2d": [1, 2, 3]}]}',
                                  '{"people": [{"pose_keypoints_2d": "x"}]}'])
def test_malformed_file_names_the_file(tmp_path, text):
    path = tmp_path / "video_000000000042_keypoints.json"
    path.write_text(text)
    with pytest.raises(ReleaseFormatError, match="video_000000000042_keypoints.json"):
        read_openpose_file(path)


def _people(*specs: tuple[float, float, float]) -> np.ndarray:
    return np.stack([np.asarray(skeleton(18, x, y, s), np.float32).reshape(18, 3)
                     for x, y, s in specs])


def test_select_person_sides_and_largest():
    # a big person on the right, a medium one on the left, a small one far left (background)
    people = _people((600, 100, 300), (200, 100, 200), (10, 10, 30))
    assert select_person(people, None) == 0
    assert select_person(people, "right") == 0
    assert select_person(people, "left") == 1  # the small background person is ignored
    assert select_person(people[:1], "left") == 0  # one person: that person
    assert select_person(np.zeros((0, 18, 3), np.float32), None) is None
    ghost = people[:1].copy()
    ghost[..., 2] = 0  # nothing confident
    assert select_person(ghost, "right") is None
    with pytest.raises(HarnessError):
        select_person(people, "middle")


def test_normalisation_is_translation_and_scale_invariant():
    person = _people((50, 80, 120))[0]
    person[4, 2] = 0.0  # an undetected wrist
    base = normalise_pose(person)
    moved = person.copy()
    moved[:, :2] = moved[:, :2] * 3.5 + np.array([400.0, -70.0])
    assert base.shape == (POSE_DIM,)
    assert np.allclose(base, normalise_pose(moved), atol=1e-5)
    assert base[8] == 0 and base[9] == 0  # keypoint 4 (x, y) zeroed
    assert np.abs(base).max() <= 1.0 + 1e-6 and np.abs(base).max() > 0.1
    no_neck = person.copy()
    no_neck[1, 2] = 0
    shifted = no_neck.copy()
    shifted[:, :2] += 1000
    assert np.allclose(normalise_pose(no_neck), normalise_pose(shifted), atol=1e-5)
    assert not normalise_pose(np.zeros((18, 3), np.float32)).any()


def test_read_pose_track(tmp_path):
    root = tmp_path / "openpose"
    video = "12-24-1920x1080"
    for frame, people in ((30, [skeleton(25, 0, 0, 50)]), (0, [skeleton(18, 0, 0, 50)]),
                          (15, [])):
        write_frame(root / video / f"{video}_{frame:012d}_keypoints.json", people)
    (root / video / "notes.txt").write_text("ignored")
    track = read_pose_track(root, video, fps=30.0, side=None)
    assert np.allclose(track.times, [0.0, 0.5, 1.0])
    assert track.feats.shape == (3, POSE_DIM) and track.feats.dtype == np.float32
    assert track.flags.tolist() == [False, True, False]
    assert not track.feats[1].any()
    with pytest.raises(HarnessError, match="other-video"):
        read_pose_track(root, "other-video", fps=30.0, side=None)
    with pytest.raises(HarnessError):
        read_pose_track(root, "../escape", fps=30.0, side=None)


def test_plain_name_with_a_sided_sibling_takes_the_other_side():
    from harness.data.videos import annotated_side

    names = ["10-60-1280x720", "10-60-1280x720_right", "video2", "video2_left", "solo",
             "pair_left", "pair_right", "both", "both_left", "both_right"]
    assert annotated_side("10-60-1280x720", names) == "left"
    assert annotated_side("video2", names) == "right"
    assert annotated_side("video2_left", names) == "left"
    assert annotated_side("solo", names) is None
    assert annotated_side("both", names) is None


def test_a_lone_person_goes_only_to_the_side_it_stands_on():
    big_right, small_left = _people((900, 100, 300), (200, 100, 150))
    assert select_person(big_right[None], "right", width=1280) == 0
    assert select_person(big_right[None], "left", width=1280) is None
    assert select_person(small_left[None], "left", width=1280) == 0
    assert select_person(small_left[None], "right", width=1280) is None
    both = np.stack([big_right, small_left])
    assert select_person(both, "left", width=1280) == 1  # two people: by position
    assert select_person(both, None, width=1280) == 0  # no side known: the largest


def test_pose_track_of_a_plain_name_beside_its_right_sibling(tmp_path):
    """Real: ``10-60-1280x720`` and ``10-60-1280x720_right``. The plain name is the left person,
    though the right one is larger; a frame showing only the right person gives it no pose."""
    from harness.data.videos import annotated_side

    root, video = tmp_path / "openpose", "10-60-1280x720"
    right, left = skeleton(18, 800, 100, 400), skeleton(18, 100, 100, 200)
    write_frame(root / video / f"{video}_{0:012d}_keypoints.json", [right, left])
    write_frame(root / video / f"{video}_{15:012d}_keypoints.json", [right])
    side = annotated_side(video, [video, f"{video}_right"])
    track = read_pose_track(root, video, fps=30.0, side=side, width=1280)
    expected = normalise_pose(np.asarray(left, np.float32).reshape(18, 3))
    assert np.allclose(track.feats[0], expected)
    assert track.flags.tolist() == [False, True] and not track.feats[1].any()
