"""VA and AU in the embedded corpus: which persons each task annotates, and their labels.

The EXPR corpus (plan, timelines, rendered media) is left exactly as it is: everything here draws
from its own random streams (spawn keys 20..23), so a seed's EXPR files stay byte-identical.

Membership. Like the release, each task annotates a partly different set of videos. Per split,
a task keeps most of EXPR's persons (``KEEP``; the ``_left``/``_right`` pair of the training
split always) and, where the release's set is larger than EXPR's in proportion
(``REFERENCE_NAMES``), adds persons of *extra* videos that only VA/AU annotate, rendered like
every other video. A person is on the same side (train / validation / test) in every task, so
a face model trained on one task's training names never saw another task's held-out names.

Labels are read off what is drawn and heard, never drawn independently of it:

- AU: the face is drawn from 9 facial actions per frame (``cues.AU_NAMES``); each of the 12
  ABAW AUs is a weighted sum of the displayed actions over a threshold (``AU_WEIGHTS``,
  ``AU_THRESHOLDS``), set so that the positive rates come near the release's (AU24 about 3 %,
  AU25 about 60 %). Some are subtle (AU6: only a strong smile; AU24: a strong smirk).
- Valence: the felt expression's valence (``VALENCE``) times its intensity, plus a slow
  per-person drift the face does not show (informative, incomplete).
- Arousal: the body's motion drive (``body.drive``, what the skeleton shows) and the class's
  vocal energy (``VOICE_CUES`` loudness x talking rate: what the voice carries), plus drift.

Invalid frames: runs of ``-5,-5`` (VA) and all ``-1`` (AU), as in the release.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from harness.data.labels import NUM_CLASSES
from harness.data.synth import body
from harness.data.synth.cues import AU_NAMES as ACTIONS
from harness.data.synth.cues import CLASS_WEIGHTS, TALK, VOICE_CUES
from harness.data.synth.plan import FPS_CHOICES, SPLITS, CorpusPlan, Person, VideoPlan, random_names
from harness.data.synth.script import Timeline, make_timeline, runs_mask, segment_bounds
from harness.data.valuefiles import AU_INVALID, AU_NAMES, VA_INVALID
from harness.tasks import Task, get_task, task_names

#: Names per split in the release come from each task's ``release_names`` (aff-wild2-expr.md,
#: aff-wild2-tasks.md sections 2-3). The VA and AU training counts are not in the reference:
#: INFERRED as validation videos x (train valid frames / validation valid frames) of ABAW5
#: (76 x 1,680,144 / 382,021 = 334; 105 x 1,359,523 / 445,845 = 320).
MIN_NAMES = {"train": 2, "val": 1, "test": 1}
KEEP = 0.85  # share of EXPR's persons of a split a task keeps (before extras)
INVALID_FRACTION = (0.0, 0.10)
INVALID_RUN_SECONDS = (0.3, 2.0)

# -- AU: ABAW AU = weighted sum of the drawn actions > threshold -------------------------
_A = {name: i for i, name in enumerate(ACTIONS)}
AU_WEIGHTS = np.zeros((len(AU_NAMES), len(ACTIONS)), dtype=np.float32)
for _au, _mix in {
    "AU1": {"inner_brow": 1.0, "brow_raise": 0.5},  # inner brow raiser
    "AU2": {"brow_raise": 1.0},  # outer brow raiser
    "AU4": {"brow_lower": 1.0},  # brow lowerer
    "AU6": {"smile": 1.0, "eye_open": -0.6},  # cheek raiser: smile or squint (subtle)
    "AU7": {"eye_open": -1.0},  # lid tightener: narrowed eyes
    "AU10": {"nose_wrinkle": 1.0, "smile": 0.6},  # upper lip raiser
    "AU12": {"smile": 1.0, "smirk": 0.8},  # lip corner puller
    "AU15": {"corner_down": 1.0},  # lip corner depressor
    "AU23": {"brow_lower": 0.5, "corner_down": 0.5, "mouth_open": -1.0},  # lip tightener
    "AU24": {"smirk": 1.0, "mouth_open": -0.5},  # lip pressor (subtle)
    "AU25": {"mouth_open": 1.0},  # lips part
    "AU26": {"mouth_open": 1.0},  # jaw drop: a wide-open mouth
}.items():
    for _action, _w in _mix.items():
        AU_WEIGHTS[AU_NAMES.index(_au), _A[_action]] = _w
#: Calibrated once on the default corpus's timelines so the positive rates come near the
#: release's (ABAW5 train+val, aff-wild2-tasks.md section 3): measured rates in ``AU_RATES``.
AU_THRESHOLDS = np.array([0.71, 0.85, 0.53, 0.19, 0.18, 0.16, 0.26, 0.82, 0.57, 0.58, 0.004, 0.62],
                         dtype=np.float32)

# -- VA -----------------------------------------------------------------------------------
#: Valence of each class at full intensity (N, A, D, F, H, Sa, Su, O).
VALENCE = np.array([0.15, -0.60, -0.50, -0.50, 0.85, -0.55, 0.35, 0.30], dtype=np.float32)
_VOICE_ENERGY = np.array([c.loud * min(1.0, c.rate / 2.5) for c in VOICE_CUES]) * TALK
VOICE_ENERGY = (_VOICE_ENERGY / _VOICE_ENERGY.max()).astype(np.float32)
AROUSAL_OFFSET, AROUSAL_BODY, AROUSAL_VOICE = -0.15, 0.55, 0.45
DRIFT_SD = 0.10  # slow per-person drift the pictures do not carry (valence and arousal)
FRAME_SD = 0.03  # annotator jitter


@dataclass(frozen=True)
class TaskPlan:
    """Per task and split, the annotated names; the extra videos only VA/AU annotate."""

    members: dict[str, dict[str, list[str]]]
    extras: tuple[VideoPlan, ...]
    crlf: dict[str, str]  # task -> the name whose file is written with CRLF line ends


def corpus_tasks() -> list[Task]:
    """The tasks the corpus labels besides EXPR (its own): those that can label a person."""
    return [get_task(n) for n in task_names() if hasattr(get_task(n), "synth_labels")]


def _targets(task: Task, counts: dict[str, int]) -> dict[str, int]:
    ref, base = task.release_names, get_task().release_names
    return {s: max(MIN_NAMES[s], round(counts[s] * ref[s] / base[s])) for s in SPLITS}


def plan_tasks(seed: int, plan: CorpusPlan, seconds: float) -> TaskPlan:
    """Choose each task's names per split and plan the extra videos (own random stream)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(20,)))
    persons = {s: [p.name for p in plan.persons(s)] for s in SPLITS}
    counts = {s: len(v) for s, v in persons.items()}
    pair = [p.name for p in plan.videos[0].persons] if len(plan.videos[0].persons) == 2 else []
    keep: dict[str, dict[str, list[str]]] = {}
    need = {s: 0 for s in SPLITS}
    tasks = corpus_tasks()
    for task in tasks:
        target = _targets(task, counts)
        keep[task.name] = {}
        for s in SPLITS:
            fixed = [n for n in pair if s == "train"]
            n_keep = min(target[s], max(MIN_NAMES[s], round(KEEP * counts[s])), counts[s])
            rest = [n for n in persons[s] if n not in fixed]
            chosen = rng.permutation(len(rest))[:max(0, n_keep - len(fixed))]
            keep[task.name][s] = fixed + [rest[i] for i in sorted(chosen)]
            need[s] = max(need[s], target[s] - len(keep[task.name][s]))
    extras = _extra_videos(rng, plan, need, seconds, seed)
    by_split = {s: [v.persons[0].name for v in extras if v.persons[0].split == s]
                for s in SPLITS}
    members = {t.name: {s: keep[t.name][s] + by_split[s][:_targets(t, counts)[s]
                                                         - len(keep[t.name][s])]
                        for s in SPLITS} for t in tasks}
    crlf = {t: members[t]["train"][-1] for t in members}
    return TaskPlan(members=members, extras=tuple(extras), crlf=crlf)


def _extra_videos(rng: np.random.Generator, plan: CorpusPlan, need: dict[str, int],
                  seconds: float, seed: int) -> list[VideoPlan]:
    """Single-person videos for the VA/AU-only names; rendered with seeds of their own."""
    taken = {v.video for v in plan.videos}
    total = sum(need.values())
    names = [n for n in random_names(rng, total + len(taken)) if n not in taken][:total]
    out = []
    splits = [s for s in SPLITS for _ in range(need[s])]
    for j, (name, split) in enumerate(zip(names, splits, strict=True)):
        fps = FPS_CHOICES[int(rng.choice(len(FPS_CHOICES), p=[0.6, 0.15, 0.25]))]
        n = max(12, round(seconds * rng.uniform(0.75, 1.25) * float(fps)))
        out.append(VideoPlan(index=len(plan.videos) + j, video=name, fps=Fraction(fps),
                             n_labels=n, n_video=n, has_audio=True,
                             persons=(Person(name=name, side=None, split=split),),
                             crlf=False, seed=(seed, 8, j)))
    return out


def extra_timelines(seed: int, extras: tuple[VideoPlan, ...]) -> dict[str, Timeline]:
    """Expression scripts of the extra videos' persons (classes by ``CLASS_WEIGHTS``)."""
    out = {}
    p = CLASS_WEIGHTS / CLASS_WEIGHTS.sum()
    for j, v in enumerate(extras):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(21, j)))
        bounds = segment_bounds(rng, v.n_labels, float(v.fps))
        classes = [int(rng.choice(NUM_CLASSES, p=p))]
        while len(classes) < len(bounds) - 1:
            c = int(rng.choice(NUM_CLASSES, p=p))
            if c != classes[-1]:
                classes.append(c)
        out[v.persons[0].name] = make_timeline(rng, v.n_labels, float(v.fps), bounds,
                                               np.array(classes, dtype=np.int8))
    return out


def au_labels(rng: np.random.Generator, tl: Timeline, fps: float) -> np.ndarray:
    """int8 (n, 12): the AUs the drawn face shows, with runs of invalid (-1) frames."""
    labels = ((tl.au @ AU_WEIGHTS.T) > AU_THRESHOLDS).astype(np.int8)
    labels[_invalid(rng, len(labels), fps)] = AU_INVALID
    return labels


def va_labels(rng: np.random.Generator, tl: Timeline, fps: float) -> np.ndarray:
    """float32 (n, 2): valence from the felt expression and its intensity, arousal from the
    body's motion drive and the voice's energy; slow drift; runs of invalid (-5) frames."""
    n = len(tl.state)
    drive, _ = body.drive(tl.state, tl.strength, fps)
    level = 0.3 + 0.7 * tl.strength
    valence = VALENCE[tl.state] * tl.strength
    arousal = (AROUSAL_OFFSET + AROUSAL_BODY * drive
               + AROUSAL_VOICE * VOICE_ENERGY[tl.state] * level)
    out = np.stack([valence, arousal], axis=1)
    out += _drift(rng, n, fps) + rng.normal(0, FRAME_SD, (n, 2))
    out = np.clip(out, -1.0, 1.0).astype(np.float32)
    out[_invalid(rng, n, fps)] = VA_INVALID
    return out


def _drift(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
    knots = max(2, int(n / fps / 2.0) + 2)
    walk = rng.normal(0, DRIFT_SD, (knots, 2))
    t = np.arange(n) / fps / 2.0
    return np.stack([np.interp(t, np.arange(knots), walk[:, j]) for j in range(2)], axis=1)


def _invalid(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
    return runs_mask(rng, n, fps, rng.uniform(*INVALID_FRACTION), INVALID_RUN_SECONDS)


def task_labels(seed: int, task_plan: TaskPlan, timelines: dict[str, Timeline],
                fps: dict[str, float]) -> dict[str, dict[str, np.ndarray]]:
    """Per task, every member's per-frame labels (each from a child stream of its own)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for t, task in enumerate(corpus_tasks()):
        names = sorted(n for split in task_plan.members[task.name].values() for n in split)
        out[task.name] = {}
        for k, name in enumerate(names):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(22, t, k)))
            out[task.name][name] = task.synth_labels(rng, timelines[name], fps[name])
    return out
