"""The corpus plan: which videos exist, their names, splits, fps, lengths and edge cases.

Planning is separate from rendering so that every structural decision (a duplicate name, the one
video with no audio, a label file one line longer than its video) is made once, up front, from
the seed, and can be recorded in ``synth.json`` before any pixel is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from harness.errors import HarnessError

SPLITS = ("train", "val", "test")
FRAME_SIZE = (160, 120)  # one person; a _left/_right video is twice as wide
FPS_CHOICES = (Fraction(30), Fraction(25), Fraction(30000, 1001))
_RESOLUTIONS = ("1920x1080", "1280x720", "640x480", "640x360", "484x360", "854x480", "480x360")


@dataclass(frozen=True)
class Person:
    """One annotated face in a video: ``name`` is the annotation/face-folder name."""

    name: str
    side: str | None  # "left" / "right" for two-person videos
    split: str  # train / val / test


@dataclass(frozen=True)
class VideoPlan:
    """Everything needed to render one video and its people, reproducibly."""

    index: int
    video: str
    fps: Fraction
    n_labels: int  # annotation lines (= face frames, = template rows)
    n_video: int  # frames in the mp4: n_labels or n_labels - 1
    has_audio: bool
    persons: tuple[Person, ...]
    crlf: bool  # write this video's annotation files with CRLF line ends
    seed: tuple[int, ...]  # SeedSequence spawn key material

    @property
    def width(self) -> int:
        return FRAME_SIZE[0] * len(self.persons)

    @property
    def height(self) -> int:
        return FRAME_SIZE[1]


@dataclass(frozen=True)
class CorpusPlan:
    videos: tuple[VideoPlan, ...]
    duplicate: str  # a validation name whose file is also written into Train_Set

    def persons(self, split: str) -> list[Person]:
        return [p for v in self.videos for p in v.persons if p.split == split]


def random_names(rng: np.random.Generator, count: int) -> list[str]:
    """Unique names like the real ones: ``12-24-1920x1080``, ``video45``, ``8-30-640x480-2``."""
    names: list[str] = []
    while len(names) < count:
        ident = int(rng.integers(1, 450))
        kind = rng.random()
        if kind < 0.25:
            name = f"video{ident}"
        else:
            name = f"{ident}-{int(rng.choice([24, 25, 30, 60]))}-{rng.choice(_RESOLUTIONS)}"
            if kind > 0.85:
                name += f"-{int(rng.integers(1, 4))}"
        if name not in names:
            names.append(name)
    return names


def split_counts(videos: int) -> tuple[int, int, int]:
    """About 60 / 20 / 20 % of the videos for train / validation / test, at least one each;
    validation and test always get the same number, so that neither is the harder one."""
    if videos < 3:
        raise HarnessError(f"the embedded corpus needs at least 3 videos, got {videos}")
    n_held = max(1, round(0.2 * videos))
    return videos - 2 * n_held, n_held, n_held


def fps_list(rng: np.random.Generator, videos: int, ensure: bool = True) -> list[Fraction]:
    """Mostly 30 fps, about 15 % at 25 and 25 % at 29.97 (``ensure``: at least one of each)."""
    n25 = round(0.15 * videos)
    n2997 = round(0.25 * videos)
    if ensure:
        n25, n2997 = max(1, n25), max(1, n2997)
    fps = [FPS_CHOICES[1]] * n25 + [FPS_CHOICES[2]] * n2997
    fps += [FPS_CHOICES[0]] * max(0, videos - len(fps))
    return [fps[i] for i in rng.permutation(videos)][:videos]


def split_fps(rng: np.random.Generator, counts: tuple[int, int, int]) -> list[list[Fraction]]:
    """fps of the videos of each split, with the same mix of rates in every split.

    Validation and test have the same size, hence the same rates; the training split also
    makes sure the corpus has at least one video of each rate.
    """
    return [fps_list(rng, n, ensure=i == 0) for i, n in enumerate(counts)]


def plan_corpus(seed: int, videos: int, seconds: float) -> CorpusPlan:
    """Decide the whole corpus structure from ``seed``.

    Validation and test are drawn alike (same number of videos, same fps mix, a two-person
    video in each once they have three videos or more; the class mix is set in ``generate``),
    so that validation predicts test; the structural edge cases that only need to exist once (the
    video without audio, the CRLF file, the duplicate) sit in the training split.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    counts = split_counts(videos)
    n_train, n_val, n_test = counts
    splits = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    firsts = (0, n_train, n_train + n_val)
    pair_videos = {0} | {first for first, n in zip(firsts[1:], counts[1:]) if n >= 3}
    no_audio = 1 if n_train > 1 else 0
    video_names = random_names(rng, videos)
    fps = [f for per_split in split_fps(rng, counts) for f in per_split]
    short = set(rng.permutation(videos)[: max(1, round(0.25 * videos))].tolist())
    crlf = min(2, n_train - 1)
    people = [(2 if i in pair_videos else 1) for i in range(videos)]
    plans = []
    for i in range(videos):
        n_labels = max(12, round(seconds * rng.uniform(0.75, 1.25) * float(fps[i])))
        sides = ("left", "right") if people[i] == 2 else (None,)
        persons = tuple(
            Person(name=video_names[i] + (f"_{side}" if side else ""), side=side,
                   split=splits[i])
            for side in sides
        )
        plans.append(VideoPlan(
            index=i, video=video_names[i], fps=fps[i], n_labels=n_labels,
            n_video=n_labels - 1 if i in short else n_labels, has_audio=i != no_audio,
            persons=persons, crlf=i == crlf, seed=(seed, 1, i),
        ))
    # the duplicate: a single-person validation name (a pair's side would drag its video along)
    dup = next((v.persons[0].name for v in plans[n_train:n_train + n_val] if len(v.persons) == 1),
               plans[n_train].persons[0].name)
    return CorpusPlan(videos=tuple(plans), duplicate=dup)
