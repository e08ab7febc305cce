"""harness tune: space files, the pooled out-of-fold objective, best.toml, resume after a kill."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.metrics import macro_f1_from_confusion
from harness.tuning import Param, default_space, load_best, load_space, tune
from harness.tuning.heartbeat import HEARTBEAT
from harness.tuning.space import searched
from harness.tuning.study import JOURNAL, study_dir
from tests.season_tools import POSE_ONLY, cli, load, tiny_corpus

FIXED = {"train.max_epochs": 1, "train.batch_size": 16}
RESUME_FOLDS = ("fold1",)  # the real 6-trial kill-and-resume: one fold run per trial


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """8 videos of 3 s (enough names for five folds) and the pose-only ablation registered:
    no face model to fine-tune, so a trial's fold run takes about a second."""
    from harness.api.common import load_user_modules

    load_user_modules([POSE_ONLY])
    root = tiny_corpus(tmp_path_factory.mktemp("tuning") / "corpus", videos=8)
    return root, load(root)
SPACE = [Param("train.lr", "float", 1e-4, 1e-2, log=True),
         Param("post.method", "categorical", choices=("none", "median")),
         Param("post.window", "float", 0.5, 3.0)]


def test_space_file_and_fixed_keys(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text('[params."train.lr"]\ntype = "float"\nlow = 1e-4\nhigh = 1e-2\nlog = true\n'
                    '[params."train.batch_size"]\ntype = "categorical"\nchoices = [64, 128]\n'
                    '[params."model.width"]\ntype = "int"\nlow = 32\nhigh = 96\nstep = 32\n')
    space = load_space(path)
    assert [p.key for p in space] == ["train.lr", "train.batch_size", "model.width"]
    assert space[0].log and space[1].choices == (64, 128) and space[2].step == 32
    assert [p.key for p in searched(space, {"train.batch_size": 32})] == ["train.lr",
                                                                          "model.width"]
    path.write_text('[params."train.lr"]\ntype = "float"\nlow = 1e-2\nhigh = 1e-4\n')
    with pytest.raises(HarnessError, match=r"space.toml: params.'train.lr': needs numbers low"):
        load_space(path)
    path.write_text('[params."train.lr"]\ntype = "loguniform"\n')
    with pytest.raises(HarnessError, match="needs type = one of float, int, categorical"):
        load_space(path)


def test_default_space_follows_the_baseline_family():
    dense = {p.key for p in default_space("dense_temporal")}
    assert {"train.lr", "train.batch_size", "window_frames", "model.width", "post.window"} <= dense
    assert "model.heads" in {p.key for p in default_space("attention_fusion")}
    assert "window_frames" not in {p.key for p in default_space("only_video")}
    with pytest.raises(HarnessError, match="no fusion training to tune"):
        default_space("current_face")


def test_an_unknown_key_is_refused_before_any_run(tmp_path):
    with pytest.raises(HarnessError, match="unknown key 'train.learning_rate'"):
        tune("only_video", 1, space=[Param("train.learning_rate", "float", 1e-4, 1e-2)],
             workdir=tmp_path)
    with pytest.raises(HarnessError, match="takes no width"):
        from baselines import get_baseline
        from harness.runs import _check_model_args

        _check_model_args(get_baseline("only_video"), {"width": 3})


def _tune(tiny, workdir, trials, folds=RESUME_FOLDS):
    root, release = tiny
    return tune("only_pose", trials, space=SPACE, fixed=FIXED, workdir=workdir,
                data=root, folds=folds, quiet=True, threads=1, release=release,
                heartbeat_s=5)


def test_poor_trials_are_pruned_after_their_first_folds(tiny, tmp_path, monkeypatch):
    """Fold runs stubbed (what is tested is the pruning): lr 1e-3 scores well, 1e-4 not."""
    import optuna

    import harness.runs
    from harness.metrics import scores_from_confusion
    from harness.runs import RunResult
    from harness.tuning.study import _storage

    calls = []

    def fake_run(cfg, release=None):
        calls.append((cfg.train.lr, cfg.split))
        cm = np.eye(8, dtype=np.int64) * 10 + (1 if cfg.train.lr == 1e-3 else 9)
        return RunResult(tmp_path / f"run{len(calls)}", "only_video", cfg.split,
                         scores_from_confusion(cm), 0.0, 1, 0)

    monkeypatch.setattr(harness.runs, "run_config", fake_run)
    folder = study_dir(tmp_path, "p")
    folder.mkdir(parents=True)
    study = optuna.create_study(study_name="p", storage=_storage(optuna, folder / JOURNAL),
                                direction="maximize")
    for lr in (1e-3, 1e-3, 1e-4, 1e-4):
        study.enqueue_trial({"train.lr": lr})
    result = tune("only_video", 4, space=[Param("train.lr", "categorical", choices=(1e-3, 1e-4))],
                  workdir=tmp_path, study="p", prune_after=1, release=tiny[1], quiet=True,
                  start_from_default=False)
    assert (result.complete, result.pruned) == (2, 2)
    assert len(calls) == 2 * 5 + 2 * 1  # the poor ones stopped after their first fold
    assert result.best_params == {"train.lr": 1e-3}
    good = np.eye(8, dtype=np.int64) * 10 + 1  # each of the five folds: pooled, their sum
    assert result.best_value == pytest.approx(float(macro_f1_from_confusion(5 * good)))


def test_tune_resumes_after_a_kill_and_writes_best_toml(tiny, tmp_path, monkeypatch):
    """Real fold runs (pose-only, one epoch, one fold a trial): 6 trials, the 4th killed.
    The pooling over folds is tested with stubbed runs above."""
    import optuna

    import harness.runs

    real, calls = harness.runs.run_config, []

    def killed_at_trial_3(cfg, release=None):
        calls.append(cfg.split)
        if len(calls) == 3 + 1:  # trials 0-2 ran their fold; trial 3 dies in it
            raise KeyboardInterrupt
        return real(cfg, release)

    monkeypatch.setattr(harness.runs, "run_config", killed_at_trial_3)
    with pytest.raises(KeyboardInterrupt):
        _tune(tiny, tmp_path, 6)
    monkeypatch.setattr(harness.runs, "run_config", real)

    folder = study_dir(tmp_path, "only_pose")
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(folder / JOURNAL)))
    study = optuna.load_study(study_name="only_pose", storage=storage)
    before = {t.number: (t.params, t.value) for t in study.trials
              if t.state == optuna.trial.TrialState.COMPLETE}
    assert sorted(before) == [0, 1, 2]
    # a process killed outright (SIGKILL, a Slurm time limit) leaves its trial RUNNING, its
    # heartbeat going stale
    orphan = study.ask()
    storage.set_trial_system_attr(orphan._trial_id, HEARTBEAT, time.time() - 3600)

    result = _tune(tiny, tmp_path, 6)
    study = optuna.load_study(study_name="only_pose", storage=storage)
    states = {t.number: t.state.name for t in study.trials}
    assert states[3] == "FAIL" and states[orphan.number] == "FAIL"  # interrupted, killed
    assert result.complete + result.pruned == 6 and result.failed == 2
    after = {t.number: (t.params, t.value) for t in study.trials}
    assert all(after[n] == before[n] for n in before)  # finished trials kept as they were
    assert after[0][0] == {"train.lr": 1e-3, "post.method": "none"}  # the defaults, first

    # the objective: the macro F1 of the trial's fold run, as its metrics.json holds it
    trial0 = study.trials[0]
    cms = [np.array(json.loads((tmp_path / "runs" / trial0.user_attrs[f"{f}.run"]
                                / "metrics.json").read_text())["confusion"])
           for f in RESUME_FOLDS]
    assert trial0.value == pytest.approx(float(macro_f1_from_confusion(sum(cms))))
    assert sorted(trial0.intermediate_values) == [1]

    best = load_best(result.best_config)
    assert best.baseline == "only_pose" and best.split == "official"
    assert best.train.max_epochs == 1 and best.train.lr == pytest.approx(
        result.best_params["train.lr"])
    assert result.best_value == max(t.value for t in study.trials if t.state.name == "COMPLETE")
    assert "pooled out-of-fold macro F1" in result.best_config.read_text()
    assert result.plot.stat().st_size > 1000


def test_harness_tune_holds_typed_run_options_fixed(tiny, tmp_path, capsys):
    """The command line end to end: --batch-size typed is held fixed and left out of the
    search even though the space file names it; best.toml holds it."""
    root, _ = tiny
    space = tmp_path / "space.toml"
    space.write_text('[params."train.lr"]\ntype = "float"\nlow = 1e-4\nhigh = 1e-2\nlog = true\n'
                     '[params."train.batch_size"]\ntype = "categorical"\nchoices = [8, 32]\n')
    code, out, err = cli(capsys, "tune", "only_pose", "--baseline-module", POSE_ONLY,
                         "--trials", 2, "--space", space, "--folds", "fold1,fold2",
                         "--study", "cli", "--data", root, "--workdir", tmp_path / "w",
                         "--epochs", 1, "--batch-size", 16, "--threads", 1, "--quiet")
    assert code == 0, err
    best = study_dir(tmp_path / "w", "cli") / "best.toml"
    assert f"best configuration: {best}" in out and best.is_file()
    assert "trial 1 complete" in err and "train.batch_size=" not in err
    cfg = load_best(best)
    assert (cfg.train.batch_size, cfg.train.max_epochs) == (16, 1)


def test_harness_tune_without_optuna_says_how_to_get_it(monkeypatch, tmp_path, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    code, _, err = cli(capsys, "tune", "only_video", "--trials", 2, "--workdir", tmp_path)
    assert code == 2 and 'pip install "abaw-harness[optuna]"' in err
    code, _, err = cli(capsys, "tune", "only_video", "--trials", 2, "--split", "fold1")
    assert code == 2 and "No such option: --split" in err
