"""--track tensorboard|mlflow: curves, params, final metrics, artifacts; never a new result."""

from __future__ import annotations

import json
import warnings

import pytest

from harness.errors import HarnessError
from harness.features.extract import FeatureConfig
from harness.fusion_stage import TrainConfig
from harness.tracking import TRACKERS, RunTracker, TrackingWarning
from harness.tracking.tensorboard_tracker import EVENTS_DIR, TensorBoardTracker
from tests.season_tools import POSE_ONLY, cli, tiny_corpus

EPOCHS = 2


def _run(root, out, track=None):
    from harness.runs import run

    features = FeatureConfig(device="cpu")
    features.face.max_epochs = 1
    return run("only_video", data=root, out=out, track=track, quiet=True, threads=1,
               features=features,
               train=TrainConfig(max_epochs=EPOCHS, batch_size=16, early_stop=EPOCHS))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """4 videos of 3 s: the official split is all a tracked run needs."""
    return tiny_corpus(tmp_path_factory.mktemp("tracking") / "corpus", videos=4)


@pytest.fixture(scope="module")
def runs(tiny, tmp_path_factory):
    base = tmp_path_factory.mktemp("tracked")
    mp = pytest.MonkeyPatch()
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    try:
        yield {track: _run(tiny, base / str(track), track)
               for track in (None, "tensorboard", "mlflow")}, base
    finally:
        mp.undo()


def test_tracking_never_changes_a_result(runs):
    results, _ = runs
    plain = (results[None].run_dir / "metrics.json").read_bytes()
    for track in ("tensorboard", "mlflow"):
        assert (results[track].run_dir / "metrics.json").read_bytes() == plain
    assert json.loads(plain)["macro_f1"] == results[None].scores.macro_f1


def test_tensorboard_event_files_read_back(runs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = runs[0]["tensorboard"]
    acc = EventAccumulator(str(result.run_dir / EVENTS_DIR)).Reload()
    tags = acc.Tags()
    for tag in ("train/loss", "train/lr", "val/macro_f1"):
        assert [e.step for e in acc.Scalars(tag)] == list(range(1, EPOCHS + 1))
    lrs = [e.value for e in acc.Scalars("train/lr")]
    assert lrs[0] == pytest.approx(1e-3)
    final = {t: acc.Scalars(t)[0].value for t in tags["scalars"] if t.startswith("final/")}
    assert final["final/macro_f1"] == pytest.approx(result.scores.macro_f1, abs=1e-6)
    assert final["final/f1_Neutral"] == pytest.approx(result.scores.per_class_f1[0], abs=1e-6)
    assert {"plots/confusion", "plots/per_class_f1"} <= set(tags["images"])
    history = (result.run_dir / "epochs.csv").read_text().splitlines()
    assert len(history) == EPOCHS + 1  # the run folder keeps its own record too


def test_mlflow_run_found_with_params_and_metrics(runs):
    import mlflow

    results, base = runs
    result = results["mlflow"]
    mlflow.set_tracking_uri(f"sqlite:///{(base / 'mlflow').resolve()}/mlflow.db")
    try:
        found = mlflow.search_runs(experiment_names=["abaw-harness"])
    finally:
        mlflow.set_tracking_uri(None)
    assert len(found) == 1
    row = found.iloc[0]
    assert row["tags.mlflow.runName"] == result.run_dir.name and row["status"] == "FINISHED"
    assert row["params.baseline"] == "only_video" and float(row["params.train.lr"]) == 1e-3
    assert row["metrics.macro_f1"] == pytest.approx(result.scores.macro_f1, abs=1e-6)
    assert row["metrics.f1_Anger"] == pytest.approx(result.scores.per_class_f1[1], abs=1e-6)
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{(base / 'mlflow').resolve()}/mlflow.db")
    assert [m.step for m in client.get_metric_history(row["run_id"], "val_macro_f1")] == [1, 2]
    files = {f.path for f in client.list_artifacts(row["run_id"])}
    assert {"config.json", "confusion.png", "per_class_f1.png"} <= files
    assert (base / "mlflow" / "mlartifacts").is_dir()  # never ./mlruns in the cwd


def test_a_failing_tracker_warns_once_and_the_run_goes_on(runs, tiny, tmp_path, monkeypatch):
    calls = []

    def full_disk(self, epoch, values):
        calls.append(epoch)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(TensorBoardTracker, "log_epoch", full_disk)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _run(tiny, tmp_path, "tensorboard")
    ours = [w for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(ours) == 1 and "No space left" in str(ours[0].message)
    assert calls == [1]  # switched off after the first failure
    assert result.scores == runs[0][None].scores


def test_a_missing_extra_says_how_to_get_it(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(HarnessError, match=r'pip install "abaw-harness\[mlflow\]"'):
        RunTracker("mlflow", tmp_path)
    with pytest.raises(HarnessError, match="unknown tracker 'wandb'"):
        RunTracker("wandb", tmp_path)
    assert set(TRACKERS.names()) == {"tensorboard", "mlflow"}


def test_a_derived_run_logs_its_final_metrics(runs, tiny):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from harness.postprocess import PostConfig, Where, smooth

    results, base = runs
    where = Where(workdir=base / "None", data=tiny, quiet=True, track="tensorboard")
    where.timelines.val = False
    derived = smooth(results[None].run_dir, PostConfig(method="median", window=1.0), where)
    acc = EventAccumulator(str(derived.folder.path / EVENTS_DIR)).Reload()
    assert acc.Scalars("final/macro_f1")[0].value == pytest.approx(derived.scores.macro_f1,
                                                                   abs=1e-6)
    assert "plots/confusion" in acc.Tags()["images"]


def test_tracking_is_not_part_of_a_runs_identity():
    """Tracked and untracked runs share their config hash; runs made before ``model`` and
    ``track`` existed keep theirs; builder arguments make another system."""
    from harness.runs import RunConfig

    plain = RunConfig("dense_temporal").identity()
    assert "track" not in plain and "model" not in plain
    assert RunConfig("dense_temporal", track="mlflow").identity() == plain
    assert RunConfig("dense_temporal", model={"width": 96}).identity() != plain


def test_harness_run_track_tensorboard_writes_events(tiny, tmp_path, capsys):
    """The command line: --track on a pose-only run (no face model to train)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    code, _, err = cli(capsys, "run", "only_pose", "--baseline-module", POSE_ONLY, "--data", tiny,
                       "--workdir", tmp_path, "--epochs", 1, "--batch-size", 16, "--threads", 1,
                       "--quiet", "--track", "tensorboard")
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    acc = EventAccumulator(str(run / EVENTS_DIR)).Reload()
    assert [e.step for e in acc.Scalars("train/loss")] == [1]
    macro_f1 = json.loads((run / "metrics.json").read_text())["macro_f1"]
    assert acc.Scalars("final/macro_f1")[0].value == pytest.approx(macro_f1, abs=1e-6)


@pytest.mark.parametrize("command", [["run", "only_video"], ["smooth", "some-run"],
                                     ["ensemble", "--baseline", "only_video"]])
def test_a_bad_track_option_exits_2_before_any_work(command, monkeypatch, tmp_path, capsys):
    import importlib.util

    code, _, err = cli(capsys, *command, "--workdir", tmp_path, "--track", "nope")
    assert code == 2 and "unknown tracker 'nope'; known trackers: mlflow, tensorboard" in err
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    code, _, err = cli(capsys, *command, "--workdir", tmp_path, "--track", "mlflow")
    assert code == 2 and 'pip install "abaw-harness[mlflow]"' in err
    assert not (tmp_path / "runs").exists()
