"""Real-scale features without media: the whole training path at the release's size.

``harness data synth --features-only --real-scale --out DIR`` writes the real-scale annotation
corpus (``scale.synthesize_annotations_only``: 247 / 70 / 228 names, 1.56 M labelled lines,
1.02 M template rows), then per-frame feature files in the import format of ``harness extract
--from`` (``harness.features.imported``):

- ``features/face/<name>.npy``: 256 float32 per frame, row k-1 = frame k, every frame;
- ``features/audio/<video>.npz``: ``feat`` (rows, 1024) and ``time`` (the row's centre, 0.5 s
  apart, the harness's own audio rate), shared by ``x_left`` and ``x_right``;
- ``features/pose/<name>.npz``: ``feat`` (rows, 36) and ``time``, 2 rows per second;
- ``videos/<video>.mp4``: 16x16 black frames at the video's fps (30, 29.97 or 25) and of its
  length. They carry nothing but the time base: windows turn seconds into frames with each
  video's fps, which the harness only ever reads from the container (about 13 bytes a frame).

The features carry learnable, modality-specific signal, so a run learns something real: each
class has a random prototype per modality, a frame's row is ``strength * prototype[label] +
N(0, 1)`` noise drawn afresh per row (so one frame is a weak cue and a window of steps a strong
one), and each modality is blind to some classes: the face does not tell Fear from Surprise,
the voice tells them apart but confuses Neutral with Other, the body shows only arousal (low,
mid, high). Frames labelled -1 take their nearest valid frame's class; test names use the
hidden test labels. Same seed, same files.

Then ``harness extract --data DIR --from DIR/features/face --as face256`` (likewise audio1024
and pose36) and ``harness run attention_fusion --data DIR --face-features face256
--audio-features audio1024 --pose-features pose36`` train at real scale with no face model.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from harness.atomic import write_json
from harness.console import progress_task
from harness.data.annotations import read_annotation_dir
from harness.data.synth import files
from harness.data.synth.generate import SynthSummary, disk_usage
from harness.data.synth.scale import synthesize_annotations_only
from harness.data.synth.staging import staged
from harness.data.videos import video_of

FEATURES = Path("features")
#: The feature-set names the docs, benchmarks and tests import this corpus's features as
#: (``harness extract --from DIR/features/<modality> --as <name>``), per modality.
IMPORT_NAMES = (("face", "face256"), ("audio", "audio1024"), ("pose", "pose36"))
ROWS_PER_S = 2.0
FPS_CHOICES = (Fraction(30), Fraction(30), Fraction(30), Fraction(30000, 1001), Fraction(25))
VIDEO_SIDE = 16
#: Which prototype each class uses per modality (shared = the modality cannot tell them apart).
FACE_CLASSES = (0, 1, 2, 3, 4, 5, 3, 7)  # Fear and Surprise look alike
AUDIO_CLASSES = (0, 1, 2, 3, 4, 5, 6, 0)  # Neutral and Other sound alike
POSE_CLASSES = (0, 2, 1, 2, 2, 0, 2, 0)  # arousal only: low, mid, high
#: Prototype separation per row, in noise standard deviations.
SEPARATION = {"face": 0.8, "audio": 0.8, "pose": 1.5}


@dataclass(frozen=True)
class FeatureDims:
    """Feature sizes per modality: the paper's EmoNet, DeepSpectrum and OpenPose ones."""

    face: int = 256
    audio: int = 1024
    pose: int = 36


def synthesize_features_only(out: Path, *, seed: int = 0, real_scale: bool = True,
                             dims: FeatureDims = FeatureDims(),
                             progress: bool = True) -> SynthSummary:
    """Write annotations, test list, template, feature files and time-base videos at ``out``."""
    start = time.perf_counter()
    out = Path(out)
    with staged(out) as root:
        summary = synthesize_annotations_only(root, seed=seed, real_scale=real_scale,
                                              progress=progress, tasks=False)  # EXPR only
        labels = _labels(root)
        videos = _videos(seed, labels)
        protos = _prototypes(seed, dims)
        _write_face_and_pose(root, seed, labels, videos, protos, progress)
        _write_audio(root, seed, labels, videos, protos, progress)
        _write_videos(root, videos, progress)
        _finish_manifest(root, dims, videos)
    return replace(summary, root=out, bytes_on_disk=disk_usage(out), n_videos=len(videos),
                   seconds_taken=time.perf_counter() - start)


@dataclass(frozen=True)
class _Video:
    fps: Fraction
    n_frames: int
    names: tuple[str, ...]


def _labels(root: Path) -> dict[str, np.ndarray]:
    """Every name's frame labels (validation wins for the duplicate; test: hidden truth)."""
    out = read_annotation_dir(root / files.SPLIT_DIRS["train"])
    out |= read_annotation_dir(root / files.SPLIT_DIRS["val"])
    out |= read_annotation_dir(root / files.TRUTH)
    return dict(sorted(out.items()))


def _videos(seed: int, labels: dict[str, np.ndarray]) -> dict[str, _Video]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(30,)))
    by_video: dict[str, list[str]] = {}
    for name in labels:
        by_video.setdefault(video_of(name), []).append(name)
    return {v: _Video(FPS_CHOICES[int(rng.integers(len(FPS_CHOICES)))],
                      max(labels[n].size for n in names), tuple(names))
            for v, names in sorted(by_video.items())}


def _prototypes(seed: int, dims: FeatureDims) -> dict[str, np.ndarray]:
    """Per modality (8, d) float32: row c is class c's signal, scaled to its separation."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(31,)))
    out = {}
    for m, classes in (("face", FACE_CLASSES), ("audio", AUDIO_CLASSES), ("pose", POSE_CLASSES)):
        d = getattr(dims, m)
        base = rng.standard_normal((8, d)).astype(np.float32)
        # two unit-variance prototypes are sqrt(2 d) apart: scale to SEPARATION noise sds
        out[m] = base[np.array(classes)] * np.float32(SEPARATION[m] / np.sqrt(2 * d))
    return out


def _filled(labels: np.ndarray) -> np.ndarray:
    """Classes 0..7 per frame: a -1 frame takes the nearest earlier valid one (else later)."""
    valid = labels >= 0
    if not valid.any():
        return np.zeros(labels.size, np.int64)
    idx = np.where(valid, np.arange(labels.size), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = int(np.flatnonzero(valid)[0])
    return labels[idx].astype(np.int64)


def _rows(rng: np.random.Generator, proto: np.ndarray, classes: np.ndarray) -> np.ndarray:
    feat = rng.standard_normal((classes.size, proto.shape[1]), dtype=np.float32)
    feat += proto[classes]
    return feat


def _row_times(n_frames: int, fps: Fraction) -> np.ndarray:
    """Centres of 1 s windows every 0.5 s over the video, as the harness's audio has them."""
    duration = n_frames / float(fps)
    return np.arange(max(1, int((duration - 1.0) / 0.5) + 1)) / ROWS_PER_S + 0.5


def _frames_at(times: np.ndarray, fps: Fraction, n: int) -> np.ndarray:
    """0-based frame index at each time, within 0..n-1."""
    return np.clip(np.rint(times * float(fps)).astype(np.int64), 0, n - 1)


def _rng(seed: int, kind: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(32, kind, index)))


def _write_face_and_pose(root: Path, seed: int, labels: dict[str, np.ndarray],
                         videos: dict[str, _Video], protos: dict[str, np.ndarray],
                         progress: bool) -> None:
    face_dir, pose_dir = root / FEATURES / "face", root / FEATURES / "pose"
    face_dir.mkdir(parents=True)
    pose_dir.mkdir(parents=True)
    total = sum(v.size for v in labels.values())
    with progress_task("face and pose features", total, "frames",
                       disable=not progress) as advance:
        for i, (name, lab) in enumerate(labels.items()):
            classes = _filled(lab)
            np.save(face_dir / f"{name}.npy", _rows(_rng(seed, 0, i), protos["face"], classes))
            fps = videos[video_of(name)].fps
            times = _row_times(lab.size, fps)
            pose = _rows(_rng(seed, 1, i), protos["pose"], classes[_frames_at(times, fps,
                                                                             lab.size)])
            np.savez(pose_dir / f"{name}.npz", feat=pose, time=times)
            advance(lab.size)


def _write_audio(root: Path, seed: int, labels: dict[str, np.ndarray],
                 videos: dict[str, _Video], protos: dict[str, np.ndarray],
                 progress: bool) -> None:
    """One file per video; its voice follows the first of the video's names."""
    audio_dir = root / FEATURES / "audio"
    audio_dir.mkdir(parents=True)
    with progress_task("audio features", len(videos), "videos", disable=not progress) as advance:
        for i, (video, v) in enumerate(videos.items()):
            lab = _filled(labels[v.names[0]])
            times = _row_times(v.n_frames, v.fps)
            feat = _rows(_rng(seed, 2, i), protos["audio"], lab[_frames_at(times, v.fps,
                                                                          lab.size)])
            np.savez(audio_dir / f"{video}.npz", feat=feat, time=times)
            advance(1)


def _write_videos(root: Path, videos: dict[str, _Video], progress: bool) -> None:
    folder = root / files.VIDEOS
    folder.mkdir(parents=True)
    black = av.VideoFrame.from_ndarray(np.zeros((VIDEO_SIDE, VIDEO_SIDE, 3), np.uint8),
                                       format="rgb24")
    total = sum(v.n_frames for v in videos.values())
    with progress_task("time-base videos", total, "frames", disable=not progress) as advance:
        for video, v in videos.items():
            with av.open(str(folder / f"{video}.mp4"), "w") as container:
                stream = container.add_stream("mpeg4", rate=v.fps)
                stream.width = stream.height = VIDEO_SIDE
                stream.pix_fmt = "yuv420p"
                for k in range(v.n_frames):
                    black.pts = k
                    container.mux(stream.encode(black))
                container.mux(stream.encode(None))
            advance(v.n_frames)


def _finish_manifest(root: Path, dims: FeatureDims, videos: dict[str, _Video]) -> None:
    """The manifest, rewritten last with what this generator added."""
    manifest = json.loads((root / files.MANIFEST).read_text())
    manifest["generator"] = "abaw-harness synth (features only)"
    manifest["features"] = {
        "face": {"folder": "features/face", "dim": dims.face, "per": "frame"},
        "audio": {"folder": "features/audio", "dim": dims.audio, "per": "video",
                  "rows_per_s": ROWS_PER_S},
        "pose": {"folder": "features/pose", "dim": dims.pose, "per": "name",
                 "rows_per_s": ROWS_PER_S},
        "separation_sd": SEPARATION,
    }
    manifest["videos"] = {k: {"fps": float(v.fps), "fps_fraction": str(v.fps),
                              "n_frames": v.n_frames, "names": list(v.names)}
                          for k, v in videos.items()}
    manifest["complete"] = True
    write_json(root / files.MANIFEST, manifest)
