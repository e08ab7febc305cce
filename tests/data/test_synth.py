"""The embedded corpus generator: layout, formats, edge cases, determinism, real-scale sizes.

Files are read directly (not through the harness readers) so these tests pin the on-disk format
itself, the same format the real Aff-Wild2 release uses.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from harness.data.synth import (
    DEFAULT_SECONDS,
    DEFAULT_VIDEOS,
    SynthSummary,
    is_finished_corpus,
    synthesize,
    synthesize_annotations_only,
)
from harness.data.synth.generate import make_timelines
from harness.data.synth.plan import plan_corpus
from harness.data.synth.scale import REAL, plan_scale
from harness.data.synth.script import class_counts, runs_mask, split_classes
from harness.errors import HarnessError

ANN = Path("5th_ABAW_Annotations", "EXPR_Classification_Challenge")
HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"
TEMPLATE_HEADER = "image_location," + HEADER
TEST_LIST = Path("names_of_videos_in_each_test_set",
                 "Expression_Classification_Challenge_test_set_release.txt")
TEMPLATE = "CVPR_5th_ABAW_EXPR_test_set_sample.txt"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    root = tmp_path_factory.mktemp("synth") / "corpus"
    return root, synthesize(root, seed=3, videos=6, seconds=6, progress=False)


def read_labels(path: Path) -> np.ndarray:
    lines = path.read_bytes().decode().splitlines()
    assert lines[0].strip() == HEADER
    return np.array([int(x) for x in lines[1:]], dtype=np.int64)


def annotation_files(root: Path, split: str) -> dict[str, Path]:
    return {p.stem: p for p in sorted((root / ANN / split).glob("*.txt"))}


def manifest(root: Path) -> dict:
    return json.loads((root / "synth.json").read_text())


def tree_digest(root: Path, pattern: str) -> str:
    h = hashlib.sha256()
    for p in sorted(root.glob(pattern)):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def test_layout_and_headers(corpus):
    root, summary = corpus
    assert is_finished_corpus(root)
    assert not list(root.parent.glob("*.partial-*"))
    train, val = annotation_files(root, "Train_Set"), annotation_files(root, "Validation_Set")
    assert len(train) == summary.n_train and len(val) == summary.n_val
    for path in [*train.values(), *val.values()]:
        labels = read_labels(path)
        assert labels.min() >= -1 and labels.max() <= 7
    assert any(b"\r\n" in p.read_bytes() for p in train.values())
    dup = set(train) & set(val)
    assert len(dup) == 1
    (name,) = dup
    assert train[name].read_bytes() == val[name].read_bytes()
    for sub in ("cropped_aligned", "videos", "openpose", "synth_truth/Test_Set"):
        assert (root / sub).is_dir()


def test_every_class_in_train_and_val(corpus):
    root, _ = corpus
    for split in ("Train_Set", "Validation_Set"):
        labels = np.concatenate([read_labels(p) for p in annotation_files(root, split).values()])
        assert set(np.unique(labels[labels >= 0])) == set(range(8)), split


def test_faces(corpus):
    root, _ = corpus
    names = manifest(root)["names"]
    missing = 0
    for name, info in names.items():
        frames = sorted(int(p.stem) for p in (root / "cropped_aligned" / name).glob("*.jpg"))
        assert frames and frames[-1] <= info["n_frames"] and frames[0] >= 1
        missing += info["n_frames"] - len(frames)
        img = cv2.imread(str(root / "cropped_aligned" / name / f"{frames[0]:05d}.jpg"))
        assert img.shape == (112, 112, 3)
    assert missing > 0  # some frames have no detected face


def test_videos_match_manifest(corpus):
    root, _ = corpus
    info = manifest(root)
    no_audio = []
    for video, v in info["videos"].items():
        with av.open(str(root / "videos" / f"{video}.mp4")) as container:
            stream = container.streams.video[0]
            assert float(stream.average_rate) == pytest.approx(v["fps"], abs=1e-3)
            n = sum(1 for _ in container.decode(video=0))
            has_audio = bool(container.streams.audio)
        assert n == v["n_frames"]
        assert has_audio == v["has_audio"]
        if not has_audio:
            no_audio.append(video)
        for name in v["names"]:
            assert info["names"][name]["n_frames"] - n in (0, 1)
    assert len(no_audio) == 1
    fps = {round(v["fps"], 2) for v in info["videos"].values()}
    assert {25.0, 29.97, 30.0} <= fps


def test_left_right_pair(corpus):
    root, _ = corpus
    names = manifest(root)["names"]
    lefts = [n for n in names if n.endswith("_left")]
    assert lefts
    video = names[lefts[0]]["video"]
    assert f"{video}_right" in names
    assert (root / "cropped_aligned" / lefts[0]).is_dir()
    assert (root / "cropped_aligned" / f"{video}_right").is_dir()
    poses = sorted((root / "openpose" / video).glob("*_keypoints.json"))
    people = [json.loads(p.read_text())["people"] for p in poses]
    two = [p for p in people if len(p) == 2]
    assert two
    xs = [np.array(p["pose_keypoints_2d"]).reshape(18, 3)[1, 0] for p in two[0]]
    assert xs[0] < xs[1]  # left person first, smaller x


def test_pose_files(corpus):
    root, _ = corpus
    info = manifest(root)
    for video, v in info["videos"].items():
        files = sorted((root / "openpose" / video).glob("*_keypoints.json"))
        frames = [int(p.name[len(video) + 1:len(video) + 13]) for p in files]
        expected = sorted({round(j * v["fps"] / 2) for j in range(1000)
                           if round(j * v["fps"] / 2) < v["n_frames"]})
        assert frames == expected
        doc = json.loads(files[0].read_text())
        assert doc["version"] == 1.3
        for person in doc["people"]:
            assert len(person["pose_keypoints_2d"]) == 54
            assert person["person_id"] == [-1] and person["face_keypoints_2d"] == []


def test_test_set_files(corpus):
    root, summary = corpus
    names = (root / TEST_LIST).read_text().split()
    assert len(names) == summary.n_test
    info = manifest(root)["names"]
    lines = (root / TEMPLATE).read_text().splitlines()
    assert lines[0] == TEMPLATE_HEADER
    expected = [f"{n}/{k:05d}.jpg," for n in names for k in range(1, info[n]["n_frames"] + 1)]
    assert lines[1:] == expected
    for name in names:
        assert not (root / ANN / "Train_Set" / f"{name}.txt").exists()
        truth = read_labels(root / "synth_truth" / "Test_Set" / f"{name}.txt")
        assert len(truth) == info[name]["n_frames"]
        assert (root / "cropped_aligned" / name).is_dir()


def test_determinism(corpus, tmp_path):
    root, _ = corpus
    same = tmp_path / "same"
    synthesize(same, seed=3, videos=6, seconds=6, progress=False)
    for pattern in ("5th_ABAW_Annotations/**/*.txt", "*.txt", "openpose/**/*.json",
                    "cropped_aligned/**/*.jpg", "synth_truth/**/*.txt"):
        assert tree_digest(root, pattern) == tree_digest(same, pattern), pattern
    other = tmp_path / "other"
    synthesize(other, seed=4, videos=3, seconds=4, progress=False)
    assert tree_digest(root, "5th_ABAW_Annotations/**/*.txt") != tree_digest(
        other, "5th_ABAW_Annotations/**/*.txt")


def test_refuses_existing(corpus, tmp_path):
    root, _ = corpus
    with pytest.raises(HarnessError, match="finished corpus"):
        synthesize(root, videos=3, seconds=2, progress=False)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(HarnessError, match="not empty"):
        synthesize(busy, videos=3, seconds=2, progress=False)
    with pytest.raises(HarnessError):
        synthesize(tmp_path / "few", videos=2, seconds=2, progress=False)


def test_annotations_only_tiny(tmp_path):
    s = synthesize_annotations_only(tmp_path / "tiny", seed=1, real_scale=False, progress=False)
    root = s.root
    train, val = annotation_files(root, "Train_Set"), annotation_files(root, "Validation_Set")
    assert (len(train), len(val)) == (s.n_train, s.n_val) == (25, 7)
    lines = (root / TEMPLATE).read_text().splitlines()
    assert lines[0] == TEMPLATE_HEADER and len(lines) - 1 == REAL.test_rows // 100
    assert len((root / TEST_LIST).read_text().split()) == s.n_test
    total = sum(len(read_labels(p)) for p in train.values())
    assert total == REAL.train.lines // 100
    assert len(set(train) & set(val)) == 1


def test_real_scale_plan_totals():
    plan = plan_scale(0, REAL)
    assert len(plan.train) == 247 and len(plan.val) == 70 and len(plan.test) == 228
    assert sum(n for _, n in plan.train) == 1_102_504
    assert sum(n for _, n in plan.val) == 453_535
    assert sum(n for _, n in plan.test) == 1_022_655
    lengths = [n for _, n in plan.train + plan.val + plan.test]
    assert min(lengths) == 73 and max(lengths) == 47_435
    invalid = sum(plan.invalid[n] for n, _ in plan.train[1:]) + plan.invalid[plan.duplicate]
    assert 1_102_504 - invalid == 592_216


@pytest.mark.slow
def test_real_scale_written(tmp_path):
    s = synthesize_annotations_only(tmp_path / "real", progress=False)
    assert (s.n_train, s.n_val, s.n_test) == (247, 70, 228)
    assert s.n_labelled == 592_216 + 284_230
    # EXPR alone took < 10 s; VA and AU add 1.7 x EXPR's lines (2.6 M more)
    assert s.seconds_taken < 30
    assert {t: {k: len(v) for k, v in by.items()} for t, by in s.tasks.items()} == {
        "va": {"train": 334, "val": 76, "test": 162}, "au": {"train": 320, "val": 105, "test": 141}}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_validation_and_test_are_drawn_alike(seed):
    """Validation must predict test: same size, fps mix, a two-person video each, class mix."""
    plan = plan_corpus(seed, DEFAULT_VIDEOS, DEFAULT_SECONDS)
    videos = {s: [v for v in plan.videos if v.persons[0].split == s] for s in ("val", "test")}
    assert len(videos["val"]) == len(videos["test"]) >= 20  # ~20 names: see README Results
    assert sorted(v.fps for v in videos["val"]) == sorted(v.fps for v in videos["test"])
    for split, vs in videos.items():
        assert sum(len(v.persons) == 2 for v in vs) == 1, split
        assert all(v.has_audio and not v.crlf for v in vs), split
    train = [v for v in plan.videos if v.persons[0].split == "train"]
    assert sum(not v.has_audio for v in train) == 1 and sum(v.crlf for v in train) == 1
    timelines = make_timelines(plan, seed)
    share = {}
    for split in ("train", "val", "test"):
        labels = np.concatenate([timelines[p.name].state for p in plan.persons(split)])
        share[split] = np.bincount(labels, minlength=8) / labels.size
    assert np.abs(share["val"] - share["test"]).max() < 0.03
    assert np.abs(share["val"] - share["train"]).max() < 0.03


@pytest.mark.parametrize("seconds", [4.0, 8.0, 60.0])
def test_runs_mask_honours_its_fraction_on_short_videos(seconds):
    """A run may last up to 4 s; an 8-s video asked for 10 % must not get half of it."""
    fps, fraction, runs = 30.0, 0.10, (0.5, 4.0)
    n = int(seconds * fps)
    shortest = int(runs[0] * fps)
    for seed in range(20):
        covered = int(runs_mask(np.random.default_rng(seed), n, fps, fraction, runs).sum())
        assert int(fraction * n) <= covered < int(fraction * n) + shortest


def test_split_classes_counts_and_no_repeats():
    rng = np.random.default_rng(0)
    segments = [5, 3, 7, 2, 9, 4]
    classes = split_classes(rng, segments, minimum=2)
    assert [len(c) for c in classes] == segments
    pooled = np.concatenate(classes)
    assert np.array_equal(np.bincount(pooled, minlength=8), class_counts(sum(segments), 2))
    assert pooled.min() == 0 and np.bincount(pooled, minlength=8).min() >= 2
    for c in classes:
        assert not np.any(c[1:] == c[:-1])
    with pytest.raises(ValueError):
        class_counts(10, 2)


def test_a_killed_default_generation_leaves_nothing_behind(tmp_path, monkeypatch):
    """A generation killed with SIGKILL cannot clean up; the next one removes its folder."""
    import harness.data.synth as synth
    from harness.data.embedded import default_corpus_path, ensure_default_corpus

    monkeypatch.setenv("ABAW_HARNESS_HOME", str(tmp_path / "home"))
    target = default_corpus_path(0)
    stale = target.with_name(f"{target.name}.partial-999999")
    (stale / "cropped_aligned").mkdir(parents=True)

    def fake_synthesize(out, seed, progress):
        out.mkdir(parents=True)
        (out / "synth.json").write_text('{"complete": true}')

    monkeypatch.setattr(synth, "synthesize", fake_synthesize)
    assert ensure_default_corpus(0, quiet=True) == target
    assert not stale.exists() and (target / "synth.json").is_file()


def test_synth_out_removes_partials_of_dead_generations_only(tmp_path):
    """`harness data synth --out DIR` killed hard leaves DIR.partial-<pid>; the next one
    removes it when that process is gone, never a live generation's folder."""
    import os
    import subprocess
    import sys

    from harness.data.synth.staging import remove_partials, staged

    out = tmp_path / "corpus"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = out.with_name(f"corpus.partial-{int(gone.stdout)}")  # its process has exited
    live = out.with_name(f"corpus.partial-{os.getppid()}")  # our parent is alive
    for folder in (dead, live):
        (folder / "videos").mkdir(parents=True)
    assert remove_partials(out) == [dead]
    assert not dead.exists() and live.exists()
    with staged(out) as root:
        (root / "synth.json").write_text('{"complete": true}')
    assert (out / "synth.json").is_file() and live.exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_killed_generation_not_yet_reaped_counts_as_dead(tmp_path):
    """A process killed hard stays a zombie until its parent waits: it is gone all the same."""
    import subprocess
    import sys
    import time

    from harness.data.synth.staging import remove_partials

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    stat = Path(f"/proc/{child.pid}/stat")
    for _ in range(200):  # until it has exited (not waited for: a zombie)
        if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.05)
    out = tmp_path / "corpus"
    zombie = out.with_name(f"corpus.partial-{child.pid}")
    zombie.mkdir()
    try:
        assert remove_partials(out) == [zombie]
    finally:
        child.wait()
