"""Rendering one planned video: its face crops, its mp4 (picture + voice) and its OpenPose files.

One call per video, with every random draw coming from that video's own seed, so videos can be
rendered in any order, in parallel processes, and still give identical files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from harness.data.synth import body, face_drawing, voice
from harness.data.synth.files import VIDEOS, face_path, pose_path
from harness.data.synth.media import Mp4Writer
from harness.data.synth.plan import FRAME_SIZE, VideoPlan
from harness.data.synth.script import Timeline

HEAD_PX = 30  # face size in the video frame
BACKGROUND_PERSON_RATE = 0.4
EMPTY_POSE_RATE = 0.03
JPEG_QUALITY = 85
FACE_CACHE = 512


@dataclass
class Actor:
    """A person as the renderer needs them: looks, voice, body and their script."""

    timeline: Timeline
    ident: face_drawing.Identity
    nuisance: face_drawing.Nuisance
    noise: face_drawing.NoiseBank
    voice: voice.Voice
    body: body.Body
    clothes: tuple[int, int, int]
    track: np.ndarray  # (n_labels, 18, 2) clean keypoints per frame
    drawn: dict[bytes, np.ndarray] = field(default_factory=dict)  # clean faces by AU vector

    def crop(self, k: int) -> np.ndarray:
        """Frame k's (0-based) aligned crop; clean faces are cached (levels are quantised)."""
        au = self.timeline.au[k]
        key = au.tobytes()
        face = self.drawn.get(key)
        if face is None:
            if len(self.drawn) >= FACE_CACHE:
                self.drawn.clear()
            face = self.drawn[key] = face_drawing.draw_face(self.ident, au)
        return face_drawing.finish(face, self.nuisance, k, self.noise, self.ident.skin)


@dataclass(frozen=True)
class RenderStats:
    video: str
    n_faces: int
    n_pose_files: int


def _actor(rng: np.random.Generator, tl: Timeline, fps: float, slot: int) -> Actor:
    n = len(tl.state)
    neck = (FRAME_SIZE[0] * slot + FRAME_SIZE[0] / 2 + rng.uniform(-10, 10),
            62 + rng.uniform(-4, 4))
    bod = body.random_body(rng, neck, rng.uniform(0.9, 1.1))
    arousal, slump = body.drive(tl.state, tl.strength, fps)
    track = body.keypoints(bod, np.arange(n) / fps, arousal, slump)
    return Actor(
        timeline=tl, ident=face_drawing.random_identity(rng),
        nuisance=face_drawing.random_nuisance(rng, n, fps),
        noise=face_drawing.NoiseBank(rng), voice=voice.random_voice(rng), body=bod,
        clothes=tuple(int(v) for v in rng.integers(30, 230, 3)), track=track,
    )


def _bystander(rng: np.random.Generator, n: int, fps: float) -> np.ndarray | None:
    """A small person in the background of some single-person videos (n, 18, 2), or None."""
    if rng.random() >= BACKGROUND_PERSON_RATE:
        return None
    x = rng.choice([rng.uniform(18, 35), rng.uniform(125, 142)])
    bod = body.random_body(rng, (x, 42 + rng.uniform(-4, 4)), rng.uniform(0.4, 0.5))
    level = np.full(n, rng.uniform(0.1, 0.8), dtype=np.float32)
    return body.keypoints(bod, np.arange(n) / fps, level, np.zeros(n, np.float32))


def _backdrop(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    top, bottom = rng.integers(40, 220, 3), rng.integers(40, 220, 3)
    ramp = np.linspace(0, 1, height)[:, None, None]
    img = (1 - ramp) * top + ramp * bottom
    return np.broadcast_to(img, (height, width, 3)).astype(np.uint8).copy()


_LIMBS = np.array(body.LIMBS)


def limb_lines(track: np.ndarray) -> np.ndarray:
    """(n, limbs, 2, 1, 2) int32 polyline points (4 fractional bits) of every frame's limbs;
    limbs touching a joint that is never seen (at 0,0 in every frame) are left out."""
    seen = track.any(axis=(0, 2))
    limbs = _LIMBS[seen[_LIMBS].all(axis=1)]
    fixed = (track * 16).round().astype(np.int32)
    return np.ascontiguousarray(fixed[:, limbs][:, :, :, None, :])


def _draw_skeleton(img: np.ndarray, lines: np.ndarray, colour: tuple, thick: int) -> None:
    """All limbs of one frame (``limb_lines(track)[k]``) in one anti-aliased polylines call."""
    cv2.polylines(img, list(lines), False, colour, thick, cv2.LINE_AA, 4)


def _paste(frame: np.ndarray, patch: np.ndarray, centre: np.ndarray) -> None:
    """Paste ``patch`` centred at ``centre``, clipped to the frame."""
    h, w = patch.shape[:2]
    x0, y0 = int(round(centre[0])) - w // 2, int(round(centre[1])) - h // 2
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(frame.shape[1], x0 + w), min(frame.shape[0], y0 + h)
    if fx1 > fx0 and fy1 > fy0:
        frame[fy0:fy1, fx0:fx1] = patch[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]


def _pose_files(rng: np.random.Generator, root: Path, plan: VideoPlan, actors: list[Actor],
                bystander: np.ndarray | None) -> int:
    """OpenPose JSON at frames round(j * fps / 2) of the mp4 (2 files per second)."""
    fps = float(plan.fps)
    frames = []
    j = 0
    while (f := round(j * fps / 2)) < plan.n_video:
        frames.append(f)
        j += 1
    tracks = [a.track[frames] for a in actors]
    if bystander is not None:
        tracks.insert(int(rng.integers(0, 2)), bystander[frames])
    detections = [body.detect(rng, t, plan.width, plan.height) for t in tracks]
    empty = rng.random(len(frames)) < EMPTY_POSE_RATE
    pose_path(root, plan.video, 0).parent.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        people = [] if empty[i] else [_person_json(d[i]) for d in detections]
        pose_path(root, plan.video, frame).write_text(
            json.dumps({"version": 1.3, "people": people}))
    return len(frames)


def _person_json(kp: np.ndarray) -> dict:
    flat = [round(float(v), 3) for v in kp.reshape(-1)]
    return {
        "person_id": [-1], "pose_keypoints_2d": flat, "face_keypoints_2d": [],
        "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [], "pose_keypoints_3d": [],
        "face_keypoints_3d": [], "hand_left_keypoints_3d": [], "hand_right_keypoints_3d": [],
    }


def _audio(rng: np.random.Generator, plan: VideoPlan, actors: list[Actor]) -> np.ndarray:
    n_samples = round(plan.n_video / float(plan.fps) * voice.SAMPLE_RATE)
    tracks = [voice.render_voice(rng, a.timeline.state, float(plan.fps), a.voice, n_samples)
              for a in actors]
    return voice.mix(tracks, voice.room_noise(rng, n_samples))


def render_video(root: Path, plan: VideoPlan, timelines: list[Timeline]) -> RenderStats:
    """Write the faces, mp4 and pose files of one video under ``root``."""
    seq = np.random.SeedSequence(plan.seed[0], spawn_key=plan.seed[1:])
    look_ss, scene_ss, pose_ss, audio_ss = seq.spawn(4)
    fps = float(plan.fps)
    actors = [_actor(np.random.default_rng(s), tl, fps, slot)
              for slot, (s, tl) in enumerate(zip(look_ss.spawn(len(timelines)), timelines,
                                                 strict=True))]
    scene = np.random.default_rng(scene_ss)
    backdrop = _backdrop(scene, plan.width, plan.height)
    bystander = _bystander(scene, plan.n_labels, fps) if len(actors) == 1 else None
    audio = _audio(np.random.default_rng(audio_ss), plan, actors) if plan.has_audio else None
    n_faces = 0
    rate = voice.SAMPLE_RATE if audio is not None else None
    for person in plan.persons:
        face_path(root, person.name, 1).parent.mkdir(parents=True, exist_ok=True)
    lines = [limb_lines(a.track) for a in actors]
    extra = limb_lines(bystander) if bystander is not None else None
    with Mp4Writer(root / VIDEOS / f"{plan.video}.mp4", plan.fps, plan.width, plan.height,
                   rate) as mp4:
        for k in range(plan.n_labels):
            frame = backdrop.copy()
            if extra is not None:
                _draw_skeleton(frame, extra[k], (90, 90, 90), 1)
            for person, actor, limbs in zip(plan.persons, actors, lines, strict=True):
                crop = actor.crop(k)
                if actor.timeline.has_face[k]:
                    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                    face_path(root, person.name, k + 1).write_bytes(buf.tobytes())
                    n_faces += 1
                _draw_skeleton(frame, limbs[k], actor.clothes, 4)
                head = cv2.resize(crop[8:104, 8:104], (HEAD_PX, HEAD_PX),
                                  interpolation=cv2.INTER_AREA)
                _paste(frame, head, actor.track[k][0] + (0, -4))
            if k < plan.n_video:
                mp4.add_frame(frame)
        if audio is not None:
            mp4.add_audio(audio)
    n_pose = _pose_files(np.random.default_rng(pose_ss), root, plan, actors, bystander)
    return RenderStats(video=plan.video, n_faces=n_faces, n_pose_files=n_pose)
