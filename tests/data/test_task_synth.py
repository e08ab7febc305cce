"""The embedded corpus carries VA and AU beside EXPR, without changing one EXPR byte."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from harness.data import valuefiles
from harness.data.release import load_release
from harness.data.synth import body, files, synthesize
from harness.data.synth.generate import make_timelines
from harness.data.synth.plan import plan_corpus
from harness.data.synth.tasks import (
    AU_THRESHOLDS,
    AU_WEIGHTS,
    VALENCE,
    extra_timelines,
    plan_tasks,
    task_labels,
)
from harness.tasks import get_task
from harness.tasks.au import AU_RATES

#: Computed on main (commit e2151b8, before VA/AU existed) for synthesize(seed=3, videos=3,
#: seconds=3): every file but synth.json, paths and bytes.
MAIN_EXPR_FILES = 388
MAIN_EXPR_PATHS = "539b6cbda2805e37a9b1f5cf1368a77a59e0cdd8e4356a529a2cc8c978cc2e71"
MAIN_EXPR_BYTES = "caafcc389d95df10d42a26f253e0890970a396878aeb884d2372daca9beac92d"
#: Computed on main (commit 05b4b17, before MTL existed) for the same corpus: the VA and AU
#: annotation files, test lists, templates and hidden truth (the MTL part must not move them).
MAIN_TASK_FILES = 15
MAIN_TASK_BYTES = "5660ed44e4226f1adf430e3986d60ccac59277b38908bd0769e83f3b926bd93c"
TASKS = ("va", "au")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("tasks_synth") / "corpus"
    return root, synthesize(root, seed=3, videos=3, seconds=3, progress=False)


def task_only_paths(root: Path) -> set[str]:
    """Paths (relative) that only VA/AU/MTL own: their folders, test files, extra videos."""
    meta = json.loads((root / files.MANIFEST).read_text())
    out = set()
    for name in meta["tasks"]:
        task = get_task(name)
        out |= {p.as_posix() for p in files.task_split_dirs(task).values()}
        out |= {task.hidden_truth.as_posix(), files.task_test_list(task).as_posix(),
                files.task_template(task).as_posix()}
    for video in meta["task_videos"]:
        out |= {f"{files.FACES.as_posix()}/{video}", f"{files.VIDEOS.as_posix()}/{video}.mp4",
                f"{files.POSES.as_posix()}/{video}"}
    return out | set(meta["mtl"]["paths"])  # the MTL release (harness.data.synth.mtl)


def test_expr_files_are_byte_identical_to_main(corpus):
    root, _ = corpus
    skip = task_only_paths(root)

    def expr_file(rel: str) -> bool:
        return rel != "synth.json" and not any(rel == s or rel.startswith(s + "/") for s in skip)

    paths = sorted(p for p in root.rglob("*")
                   if p.is_file() and expr_file(p.relative_to(root).as_posix()))
    rels = [p.relative_to(root).as_posix() for p in paths]
    content = hashlib.sha256()
    for rel, p in zip(rels, paths):
        content.update(rel.encode() + b"\0" + p.read_bytes())
    assert len(paths) == MAIN_EXPR_FILES
    assert hashlib.sha256("\n".join(rels).encode()).hexdigest() == MAIN_EXPR_PATHS
    assert content.hexdigest() == MAIN_EXPR_BYTES


def test_va_and_au_files_are_byte_identical_to_main(corpus):
    root, _ = corpus
    keys = ("VA_Estimation_Challenge", "AU_Detection_Challenge", "_VA_", "_AU_",
            "Valence_Arousal", "Action_Unit")
    rels = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.txt")
                  if any(k in p.relative_to(root).as_posix() for k in keys))
    content = hashlib.sha256()
    for rel in rels:
        content.update(rel.encode() + b"\0" + (root / rel).read_bytes())
    assert len(rels) == MAIN_TASK_FILES
    assert content.hexdigest() == MAIN_TASK_BYTES


@pytest.mark.parametrize("name", TASKS)
def test_each_task_is_laid_out_like_the_release(corpus, name):
    root, summary = corpus
    task = get_task(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        release = load_release(root, task=name)
    members = summary.tasks[name]
    assert sorted(release.train) == sorted(members["train"])
    assert sorted(release.val) == sorted(members["val"])
    assert release.test_names == members["test"]
    assert len(release.train) >= 2 and len(release.val) >= 1 and len(release.test_names) >= 1
    assert {"_left", "_right"} <= {n[-6:] for n in release.train} | {n[-5:] for n in release.train}
    truth = {p.stem: p for p in (root / task.hidden_truth).glob("*.txt")}
    assert sorted(truth) == sorted(release.test_names)
    for n in release.test_names:  # hidden truth: one line per template row
        assert len(task.read_files([truth[n]])[0]) == release.template.n_frames[n]
    crlf = [p for d in files.task_split_dirs(task).values() for p in (root / d).glob("*.txt")
            if b"\r\n" in p.read_bytes()]
    assert len(crlf) == 1
    for n in [*release.train, *release.val, *release.test_names]:  # rendered, extras too
        assert release.faces.frames(n).size and release.video_path(n) is not None


def test_invalid_runs_use_each_tasks_marker(corpus):
    root, _ = corpus
    for name in TASKS:
        release = load_release(root, task=name)
        allv = np.concatenate([v for v in (release.train | release.val).values()])
        invalid = ~release.task.valid(allv)
        assert invalid.any() and (allv[invalid] == release.task.invalid).all()


def test_sides_agree_across_tasks_and_sets_differ(corpus):
    """A person is train, validation or test in every task that has it; sets partly differ."""
    root, summary = corpus
    meta = json.loads((root / files.MANIFEST).read_text())
    side = {n: info["split"] for n, info in meta["names"].items()}
    side |= {v: info["split"] for v, info in meta["task_videos"].items()}
    expr = {n for n, s in side.items() if n in meta["names"]}
    for name in TASKS:
        for split, names in summary.tasks[name].items():
            assert all(side[n] == split for n in names)
        everyone = {n for names in summary.tasks[name].values() for n in names}
        assert everyone - expr  # extra videos only VA/AU annotate
        for v in meta["task_videos"]:
            assert (root / files.VIDEOS / f"{v}.mp4").is_file()


@pytest.mark.parametrize("videos", [8, 112])
def test_every_task_gets_train_val_and_test_names(videos):
    plan = plan_corpus(0, videos, 8.0)
    members = plan_tasks(0, plan, 8.0).members
    for name in TASKS:
        counts = {s: len(v) for s, v in members[name].items()}
        assert counts["train"] >= 2 and counts["val"] >= 1 and counts["test"] >= 1
        if videos == 112:  # in proportion to the release (train VA 334 / EXPR 247 ...)
            expr = {s: len(plan.persons(s)) for s in ("train", "val", "test")}
            ref, base = get_task(name).release_names, get_task("expr").release_names
            for s in counts:
                assert counts[s] == round(expr[s] * ref[s] / base[s])


@pytest.fixture(scope="module")
def default_labels():
    """Labels of the default-size corpus (scripts only, nothing rendered)."""
    plan = plan_corpus(0, 112, 8.0)
    task_plan = plan_tasks(0, plan, 8.0)
    timelines = make_timelines(plan, 0) | extra_timelines(0, task_plan.extras)
    fps = {p.name: float(v.fps) for v in (*plan.videos, *task_plan.extras) for p in v.persons}
    return timelines, fps, task_labels(0, task_plan, timelines, fps)


def test_au_rates_are_near_the_releases(default_labels):
    _, _, labels = default_labels
    au = np.concatenate(list(labels["au"].values()))
    rates = au[valuefiles.au_valid(au)].mean(axis=0)
    reference = np.array(AU_RATES)
    np.testing.assert_allclose(rates, reference, atol=0.04)
    names = valuefiles.AU_NAMES
    assert rates[names.index("AU24")] < 0.05 and rates[names.index("AU25")] > 0.5


def test_labels_are_what_is_drawn_and_heard(default_labels):
    timelines, fps, labels = default_labels
    for name, au in labels["au"].items():  # AU = the face's drawn actions over thresholds
        ok = valuefiles.au_valid(au)
        drawn = (timelines[name].au @ AU_WEIGHTS.T) > AU_THRESHOLDS
        assert (au[ok] == drawn[ok]).all()
    names = sorted(labels["va"])
    va = np.concatenate([labels["va"][n] for n in names])
    ok = valuefiles.va_valid(va)
    felt = np.concatenate([VALENCE[timelines[n].state] * timelines[n].strength for n in names])
    motion = np.concatenate([body.drive(timelines[n].state, timelines[n].strength, fps[n])[0]
                             for n in names])
    assert np.corrcoef(va[ok, 0], felt[ok])[0, 1] > 0.8  # informative ...
    assert np.corrcoef(va[ok, 1], motion[ok])[0, 1] > 0.6
    assert np.corrcoef(va[ok, 0], felt[ok])[0, 1] < 0.99  # ... but incomplete (drift)
    assert -0.2 < va[ok, 0].mean() < 0.3 and 0.0 < va[ok, 1].mean() < 0.4
