"""Generating the embedded corpus: plan, scripts, annotation files, parallel rendering, manifest.

The corpus is built in a staging folder and moved into place only when complete (``staging``).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.atomic import write_json, write_text
from harness.console import progress_task
from harness.data.labels import NUM_CLASSES
from harness.data.synth import files
from harness.data.synth.mtl import write_mtl
from harness.data.synth.plan import SPLITS, CorpusPlan, VideoPlan, plan_corpus
from harness.data.synth.render_video import render_video
from harness.data.synth.script import (
    Timeline,
    even_bounds,
    make_timeline,
    segment_bounds,
    split_classes,
)
from harness.data.synth.staging import staged
from harness.data.synth.tasks import TaskPlan, extra_timelines, plan_tasks, task_labels
from harness.errors import HarnessError
from harness.tasks import get_task

GENERATOR_VERSION = "2"
DEFAULT_VIDEOS = 112
DEFAULT_SECONDS = 8.0


@dataclass
class SynthSummary:
    """What was generated, where, how big and how long it took."""

    root: Path
    n_train: int
    n_val: int
    n_test: int
    n_frames: int  # annotation lines / template rows over all names
    n_labelled: int  # frames with a label 0..7 in Train_Set + Validation_Set files
    bytes_on_disk: int
    seconds_taken: float
    n_videos: int = 0
    n_faces: int = 0
    n_pose_files: int = 0
    duplicates: list[str] = field(default_factory=list)
    #: Per task other than EXPR: its annotated names per split (train, val, test).
    tasks: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def make_timelines(plan: CorpusPlan, seed: int) -> dict[str, Timeline]:
    """Every person's expression script, each from its own child seed.

    Segment lengths are drawn per person; then each split's segments get their classes from
    one pool with the split's class counts (every class at least twice in a split of four
    persons or more, once otherwise) spread over the segment lengths, so validation and test
    have the same class mix in segments and in frames.
    """
    rngs, bounds, fps = {}, {}, {}
    for v in plan.videos:
        for j, person in enumerate(v.persons):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, v.index, j)))
            rngs[person.name], fps[person.name] = rng, float(v.fps)
            bounds[person.name] = segment_bounds(rng, v.n_labels, float(v.fps))
    split_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,)))
    out: dict[str, Timeline] = {}
    for split in SPLITS:
        names = [p.name for p in plan.persons(split)]
        if not names:
            continue
        minimum = 2 if len(names) >= 4 else 1
        _enough_segments(bounds, names, minimum * NUM_CLASSES)
        lengths = np.concatenate([np.diff(bounds[n]) / fps[n] for n in names])
        classes = split_classes(split_rng, [len(bounds[n]) - 1 for n in names], minimum, lengths)
        for name, cls in zip(names, classes, strict=True):
            n = int(bounds[name][-1])
            out[name] = make_timeline(rngs[name], n, fps[name], bounds[name], cls)
    return out


def _enough_segments(bounds: dict[str, np.ndarray], names: list[str], need: int) -> None:
    """Cut the longest persons' videos into more, even segments until the split has ``need``."""
    while sum(len(bounds[n]) - 1 for n in names) < need:
        name = max(names, key=lambda n: bounds[n][-1] / (len(bounds[n]) - 1))
        bounds[name] = even_bounds(int(bounds[name][-1]), len(bounds[name]))


def write_text_files(root: Path, plan: CorpusPlan, timelines: dict[str, Timeline]) -> None:
    """Annotation files, the duplicate, hidden test truth, test list and frame template."""
    for v in plan.videos:
        for p in v.persons:
            text = files.annotation_text(timelines[p.name].labels, crlf=v.crlf)
            folder = files.TRUTH if p.split == "test" else files.SPLIT_DIRS[p.split]
            write_text(root / folder / f"{p.name}.txt", text)
            if p.name == plan.duplicate:
                write_text(root / files.SPLIT_DIRS["train"] / f"{p.name}.txt", text)
    tests = [(p.name, v.n_labels) for v in plan.videos for p in v.persons if p.split == "test"]
    write_text(root / files.TEST_LIST, files.test_list_text(n for n, _ in tests))
    write_text(root / files.TEMPLATE, files.template_text(tests))


def write_task_files(root: Path, task_plan: TaskPlan,
                     labels: dict[str, dict[str, np.ndarray]]) -> None:
    """Each task's annotation folders, hidden test truth, test list and frame template."""
    for name, members in task_plan.members.items():
        task = get_task(name)
        dirs = files.task_split_dirs(task)
        for split, names in members.items():
            folder = task.hidden_truth if split == "test" else dirs[split]
            for person in names:
                crlf = person == task_plan.crlf[name]
                write_text(root / folder / f"{person}.txt",
                           task.annotation_text(labels[name][person], crlf=crlf))
        tests = [(n, len(labels[name][n])) for n in members["test"]]
        write_text(root / files.task_test_list(task), files.test_list_text(n for n, _ in tests))
        write_text(root / files.task_template(task),
                   files.template_text(tests, task.template_header))


def manifest(plan: CorpusPlan, seed: int, videos: int, seconds: float,
             task_plan: TaskPlan | None = None) -> dict:
    return {
        "generator": "abaw-harness synth", "version": GENERATOR_VERSION, "seed": seed,
        "parameters": {"videos": videos, "seconds": seconds}, "duplicate": plan.duplicate,
        "videos": {
            v.video: {"fps": float(v.fps), "fps_fraction": str(v.fps), "n_frames": v.n_video,
                      "has_audio": v.has_audio, "names": [p.name for p in v.persons]}
            for v in plan.videos
        },
        "names": {
            p.name: {"video": v.video, "split": p.split, "side": p.side, "fps": float(v.fps),
                     "n_frames": v.n_labels, "video_frames": v.n_video}
            for v in plan.videos for p in v.persons
        },
        **({} if task_plan is None else _task_manifest(task_plan)),
        "complete": True,
    }


def _task_manifest(task_plan: TaskPlan) -> dict:
    """Each task's names per split, and the extra videos that only those tasks annotate."""
    return {
        "tasks": task_plan.members,
        "task_videos": {
            v.video: {"fps": float(v.fps), "fps_fraction": str(v.fps), "n_frames": v.n_video,
                      "split": v.persons[0].split}
            for v in task_plan.extras
        },
    }


def render_all(root: Path, plan: CorpusPlan, timelines: dict[str, Timeline],
               progress: bool) -> tuple[int, int]:
    """Render every video, one process per core; returns (faces, pose files) written."""
    jobs: list[tuple[VideoPlan, list[Timeline]]] = [
        (v, [timelines[p.name] for p in v.persons]) for v in plan.videos
    ]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    n_faces = n_pose = 0
    with progress_task("rendering videos", len(jobs), "videos", disable=not progress) as advance:
        if workers == 1:
            results = [render_video(root, v, tls) for v, tls in jobs]
            advance(len(jobs))
        else:
            with ProcessPoolExecutor(workers) as pool:
                futures = [pool.submit(render_video, root, v, tls) for v, tls in jobs]
                results = []
                for fut in as_completed(futures):
                    results.append(fut.result())
                    advance(1)
    for r in results:
        n_faces += r.n_faces
        n_pose += r.n_pose_files
    return n_faces, n_pose


def disk_usage(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def synthesize(out: Path, *, seed: int = 0, videos: int = DEFAULT_VIDEOS,
               seconds: float = DEFAULT_SECONDS, progress: bool = True) -> SynthSummary:
    """Generate the embedded corpus (faces, videos with audio, poses, annotations) at ``out``."""
    start = time.perf_counter()
    out = Path(out)
    if seconds <= 0:
        raise HarnessError(f"seconds must be positive, got {seconds}")
    plan = plan_corpus(seed, videos, seconds)
    timelines = make_timelines(plan, seed)
    task_plan = plan_tasks(seed, plan, seconds)  # VA/AU: own streams, EXPR files unchanged
    every = {**timelines, **extra_timelines(seed, task_plan.extras)}
    fps = {p.name: float(v.fps) for v in (*plan.videos, *task_plan.extras) for p in v.persons}
    labels = task_labels(seed, task_plan, every, fps)
    with staged(out) as root:
        write_text_files(root, plan, timelines)
        write_task_files(root, task_plan, labels)
        rendered = CorpusPlan(videos=plan.videos + task_plan.extras, duplicate=plan.duplicate)
        n_faces, n_pose = render_all(root, rendered, every, progress)
        mtl = write_mtl(root, seed, plan, timelines, labels, fps)  # own stream, after faces
        write_json(root / files.MANIFEST,
                   manifest(plan, seed, videos, seconds, task_plan) | {"mtl": mtl})
    summary = _summary(out, plan, timelines, start, n_faces, n_pose)
    summary.tasks = task_plan.members
    return summary


def _summary(out: Path, plan: CorpusPlan, timelines: dict[str, Timeline], start: float,
             n_faces: int, n_pose: int) -> SynthSummary:
    annotated = [p.name for s in ("train", "val") for p in plan.persons(s)] + [plan.duplicate]
    return SynthSummary(
        root=out, n_train=len(plan.persons("train")) + 1, n_val=len(plan.persons("val")),
        n_test=len(plan.persons("test")),
        n_frames=sum(len(timelines[n].labels) for n in annotated)
        + sum(v.n_labels for v in plan.videos for p in v.persons if p.split == "test"),
        n_labelled=sum(int((timelines[n].labels >= 0).sum()) for n in annotated),
        bytes_on_disk=disk_usage(out), seconds_taken=time.perf_counter() - start,
        n_videos=len(plan.videos), n_faces=n_faces, n_pose_files=n_pose,
        duplicates=[plan.duplicate],
    )
