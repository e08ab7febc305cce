"""VA and AU through the command line after a run: validate, submit, leaderboard, smooth, ensemble.

Run folders are built through the records API on tiny arrays (nothing is trained). ``validate``
runs as a subprocess of ``python -m harness`` (exit codes and messages as a user sees them);
the other commands run the same entry point (``harness.cli.main``) in this process, to stay fast.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.tasks import get_task
from submissions import SUBMISSION_FORMATS
from tests.conftest import cli_env, harness, harness_in_process
from tests.data.conftest import make_task_release


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return cli_env(tmp_path_factory)


def _valid_file(tmp_path, task: str, root):
    from harness.data.release import load_release

    rel = load_release(root, task=task)
    rng = np.random.default_rng(0)
    width = get_task(task).output_size
    preds = {n: (rng.uniform(-1, 1, (k, 2)) if width == 2 else
                 (rng.random((k, width)) < 0.3).astype(np.int8))
             for n, k in rel.template.n_frames.items()}
    return SUBMISSION_FORMATS.get(task).write(rel.template, preds, tmp_path / f"{task}.txt")


@pytest.mark.parametrize("task, bad_value, other_width", [
    ("va", "0.5,1.5", "0,1,0,1,0,1,0,1,0,1,0,1"),
    ("au", "0,1,0,1,0,1,0,1,0,1,0,2", "0.5,-0.5"),
])
def test_validate_task_lists_every_problem_with_its_line(tmp_path, env, cli, task, bad_value,
                                                         other_width):
    root = make_task_release(tmp_path / "release", task)
    good = _valid_file(tmp_path, task, root)
    assert f"{good}: valid" in cli("validate", good, "--task", task, "--data", root)[1]
    lines = good.read_text().splitlines()
    lines[2] = lines[2].split(",")[0] + "," + bad_value  # line 3: a value out of range
    lines[5] = lines[5].split(",")[0] + "," + other_width  # line 6: the other task's columns
    broken = tmp_path / "broken.txt"
    broken.write_text("\n".join(lines) + "\n")
    if task == "va":  # once as a user runs it: a process, its exit code and stderr
        proc = harness("validate", broken, "--task", task, "--data", root, env=env,
                       check=False)
        code, err = proc.returncode, proc.stderr
    else:
        code, _, err = cli("validate", broken, "--task", task, "--data", root, check=False)
    assert code == 1, err
    err = err.replace("\n", " ")
    assert f"{broken}:3" in err and f"{broken}:6" in err and "2 problem(s)" in err
    assert ("outside [-1, 1]" if task == "va" else "is not 0 or 1") in err
    assert ("12 values where a VA row has 2" if task == "va"
            else "2 values where an AU row has 12") in err


def test_validate_checks_the_task_asked_for(tmp_path, cli):
    root = make_task_release(tmp_path / "release", "va")
    make_task_release(root, "au")
    va_file = _valid_file(tmp_path, "va", root)
    code, _, err = cli("validate", va_file, "--task", "au", "--data", root, check=False)
    assert code == 1 and f"{va_file}:1" in err  # the AU header is expected
    assert "image_location,AU1" in err
    # a release without EXPR annotations: the default task is refused as a one-line error
    code, _, err = cli("validate", va_file, "--data", root, check=False)
    assert code == 2 and "not an Aff-Wild2 EXPR release" in err and "Traceback" not in err
    code, _, err = cli("validate", va_file, "--task", "nosuch", "--data", root, check=False)
    assert code == 2 and "unknown task 'nosuch'" in err
    code, _, err = cli("validate", va_file, "--task", "mtl", "--data", root, check=False)
    assert code == 2 and "not an MTL (s-Aff-Wild2) release" in err


@pytest.fixture
def cli(monkeypatch, capsys):
    """``harness ARGS`` in this process: (exit code, out, err); ``check`` raises on a failure."""
    def call(*args, check: bool = True):
        code, out, err = harness_in_process(monkeypatch, capsys, *args)
        if check and code != 0:
            raise AssertionError(f"harness {' '.join(map(str, args))} exited {code}\n{out}\n{err}")
        return code, out, err
    return call


@pytest.fixture(scope="module")
def task_work(synth_root, tmp_path_factory):
    """A workdir holding VA and AU runs of the shared synthetic corpus (no EXPR run): two
    baselines on the official split, a second seed, and a fold set for VA."""
    import warnings

    from harness.data.release import load_release
    from tests.postprocess.task_runs import make_task_run

    work = tmp_path_factory.mktemp("task-work")
    releases = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for task in ("va", "au"):
            rel = releases[task] = load_release(synth_root, task=task)
            make_task_run(work, rel, baseline="attention_fusion", noise=0.2)
            make_task_run(work, rel, baseline="current_face", noise=0.6)
        make_task_run(work, releases["va"], baseline="attention_fusion", noise=0.2, seed=1)
        rel = releases["va"]
        names = sorted(rel.train | rel.val)
        for k in range(5):
            make_task_run(work, rel, baseline="only_video", split=f"fold{k + 1}",
                          val_names=names[k::5], noise=0.3)
    return work, releases


def test_submit_task_writes_validates_and_scores(task_work, synth_root, cli, tmp_path):
    work, _ = task_work
    for task, figure in (("va", "Test P_VA"), ("au", "Test P_AU")):
        sub = tmp_path / f"{task}.txt"
        _, done, _ = cli("submit", "--task", task, "--data", synth_root, "--workdir", work,
                         "--out", sub)
        assert "validates" in done and figure in done and "attention_fusion" in done
        assert sub.read_text().splitlines()[0] == get_task(task).template_header
        assert cli("validate", sub, "--task", task, "--data", synth_root)[0] == 0
    au_run = next(p.name for p in (work / "runs").iterdir() if "attention_fusion" in p.name
                  and '"task": "au"' in (p / "run.json").read_text())
    code, _, err = cli("submit", au_run, "--task", "va", "--data", synth_root, "--workdir",
                       work, check=False)
    assert code == 2 and "run of task au, not va" in err and "--task au" in err
    code, _, err = cli("submit", "--data", synth_root, "--workdir", work, check=False)
    assert code == 2 and "no finished run" in err  # no EXPR run there


def test_leaderboard_per_task_whole_in_a_pipe(task_work, cli, env, tmp_path):
    work, _ = task_work
    va = harness("leaderboard", "--task", "va", "--workdir", work, env=env).stdout  # a pipe
    for text in ("CCC-V", "CCC-A", "P_VA", "attention_fusion", "current_face",
                 "95 % bootstrap intervals of P_VA"):
        assert text in va
    assert "AU12" not in va and "Avg(F1)" not in va
    au = cli("leaderboard", "--task", "au", "--workdir", work, "--format", "markdown")[1]
    header = next(line for line in au.splitlines() if line.startswith("| Modal"))
    assert header.count("|") == 1 + 2 + 13 + 1  # label, face, audio, 12 AUs, P_AU
    assert "only_video" not in au  # VA's fold runs never show in AU's table
    csv = cli("leaderboard", "--task", "va", "--workdir", work, "--format", "csv", "--by",
              "split", "--baseline", "only_video")[1]
    assert csv.splitlines()[0].endswith("CCC-V,CCC-A,P_VA") and "Folds mean ± std" in csv
    seeds = cli("leaderboard", "--task", "va", "--workdir", work, "--over-seeds", "--format",
                "json")[1]
    assert '"unit": "CCC"' in seeds and '"seeds": "0,1"' in seeds
    cmp = cli("leaderboard", "--task", "au", "--workdir", work, "--compare", "attention_fusion",
              "current_face", "--plot", tmp_path / "au.png")[1]
    assert "P_AU difference +" in cmp and "paired bootstrap p =" in cmp
    assert (tmp_path / "au.png").is_file()
    code, _, err = cli("leaderboard", "--workdir", work, check=False)
    assert code == 2 and "no EXPR results" in err and "--task" in err


def test_smooth_and_ensemble_per_task(task_work, synth_root, cli):
    work, _ = task_work
    runs = {p.name: p for p in (work / "runs").iterdir()}
    va_run = next(n for n, p in runs.items() if n.startswith("attention_fusion")
                  and '"task": "va"' in (p / "run.json").read_text())
    au_run = next(n for n, p in runs.items() if n.startswith("attention_fusion")
                  and '"task": "au"' in (p / "run.json").read_text())
    common = ["--data", synth_root, "--workdir", work, "--quiet"]
    out = cli("smooth", va_run, "--task", "va", "--method", "gaussian", "--window", 1,
              *common)[1]
    assert "gaussian(1s)" in out and "val P_VA" in out and "test P_VA" in out
    code, _, err = cli("smooth", va_run, "--task", "va", "--method", "mode", *common,
                       check=False)
    assert code == 2 and "continuous" in err
    code, _, err = cli("smooth", va_run, *common, check=False)  # the default task: expr
    assert code == 2 and "--task va" in err
    out = cli("smooth", au_run, "--task", "au", "--method", "median", "--window", 0.5,
              "--tune-thresholds", *common)[1]
    assert "+thresholds[val-tuned]" in out and "Thresholds (probability" in out
    tuned = out.split("Submit it with: harness submit ")[1].split()[0]
    assert f"harness submit {tuned} --task au" in out
    _, done, _ = cli("submit", tuned, "--task", "au", "--data", synth_root, "--workdir", work,
                     "--out", work / "tuned-au.txt")
    assert "validates" in done and "Test P_AU" in done
    code, _, err = cli("ensemble", "--baseline", "only_video", "--task", "va",
                       "--tune-thresholds", *common, check=False)
    assert code == 2 and "AU only" in err
    out = cli("ensemble", "--baseline", "only_video", "--task", "va", "--sweep",
              "--windows", "0.5,2", *common)[1]
    assert "ensemble(only_video x5 folds, OOF)" in out and "cv-oof" in out
    assert "P_VA" in out and "chosen on the other folds" in out
    derived = [json.loads((p / "run.json").read_text()) for p in (work / "runs").iterdir()]
    assert {d["task"] for d in derived if d["kind"] == "derived"} == {"va", "au"}
    table = cli("leaderboard", "--task", "va", "--workdir", work, "--split", "cv-oof")[1]
    assert "ensemble(only_video x5 folds, OOF)" in table
