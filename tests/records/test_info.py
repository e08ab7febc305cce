"""``run.json`` as ``RunInfo``: files written before it load unchanged, and write back the same."""

from __future__ import annotations

import json

import pytest

from harness.errors import HarnessError
from harness.records import DERIVED, TRAINED, RunFolder, RunInfo, SourceRun

#: A trained run's run.json as the harness wrote it before RunInfo existed.
TRAINED_JSON = {
    "baseline": "current_face", "best_epoch": 2, "config_hash": "9c372b5fed25",
    "data_fingerprint": "1aa97c462897e83e", "data_root": "tiny", "dataset": "synth-seed3",
    "features": {"face": "light", "face_fit": "in-sample"},
    "finished": "2026-12-02T00:58:15.336984+00:00", "git_commit": None, "kind": "trained",
    "parameters": 34184, "peak_rss_anon_mb": 288.4, "ranks": 1, "recipe": "6a2a246ef2f9",
    "seconds": 7.81, "seed": 0, "split": "official",
    "stages": [{"peak_rss_anon_mb": 246.8, "seconds": 0.191, "stage": "features"},
               {"peak_rss_anon_mb": 288.4, "seconds": 6.516, "stage": "write run folder"}],
    "torch": "2.13.0+cpu", "version": "0.1.0", "window": "12 steps every 0.5 s"}
#: A derived run's (smoothed, bias-tuned on validation).
DERIVED_JSON = {
    "baseline": "attention_fusion+median(3.4s)+bias[val-tuned]", "config_hash": "0ce37489f0a0",
    "data_fingerprint": "1aa97c462897e83e", "data_root": "tiny", "dataset": "synth-seed3",
    "features": {"audio": "logmel", "face": "light", "face_fit": "in-sample", "pose": "coco18",
                 "training": "batch_size 16, max_epochs 2"},
    "finished": "2026-12-02T01:03:33.485805+00:00", "fold_choices": {}, "kind": "derived",
    "post": {"bias": [0.2, 1.2, 2.0, 0.0, -0.3, 0.75, 1.8, 1.05], "exclude_imputed": False,
             "method": "median", "window_s": 3.4},
    "seconds": 9.63,
    "sources": [{"baseline": "attention_fusion", "run_dir": "work/runs/af-official-1",
                 "run_id": "af-official-1", "split": "official"}],
    "split": "official", "validation": "official validation", "validation_tuned": True,
    "version": "0.1.0"}


@pytest.mark.parametrize("old", [TRAINED_JSON, DERIVED_JSON], ids=["trained", "derived"])
def test_todays_run_json_reads_and_writes_back_unchanged(tmp_path, old):
    path = tmp_path / "runs" / "r" / "run.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")
    folder = RunFolder(path.parent)
    info = folder.info()
    assert info.to_dict() == old
    folder.write_info(info)
    assert json.loads(path.read_text()) == old


def test_fields_of_each_kind():
    trained, derived = RunInfo.from_dict(TRAINED_JSON), RunInfo.from_dict(DERIVED_JSON)
    assert trained.kind == TRAINED and trained.seed == 0 and trained.stages[1]["seconds"] == 6.516
    assert derived.kind == DERIVED and derived.validation_tuned
    assert derived.sources == (SourceRun("af-official-1", "work/runs/af-official-1",
                                         "attention_fusion", "official"),)
    assert trained.row_extra() == {"seconds": 7.81, "best_epoch": 2, "kind": "trained",
                                   "seed": 0, "recipe": "6a2a246ef2f9"}
    assert derived.row_extra() == {"seconds": 9.63, "kind": "derived"}
    # a trained record writes no derived field, and the reverse
    assert not {"sources", "validation", "validation_tuned", "post", "fold_choices"} \
        & set(trained.to_dict())
    assert not {"seed", "recipe", "window", "git_commit", "torch", "best_epoch", "parameters",
                "stages", "peak_rss_anon_mb", "ranks"} & set(derived.to_dict())
    with pytest.raises(ValueError, match="kind must be"):
        RunInfo(kind="other")


def test_provenance_of_what_a_run_read_is_written_only_when_known(tmp_path):
    """The stage-1 model and feature sets a run read: in run.json and in its store row."""
    made_by = {"torch": "2.13.0+cpu", "cpu_capability": "AVX2", "threads": 1, "seed": 0}
    read = {"stage1_model": {"key": "light-official-0123456789", "digest": "a" * 16,
                             "made_by": made_by},
            "feature_sets": {"audio": {"cache": "audio-logmel-1", "entries": 3,
                                       "digest": "b" * 16, "made_by": [None]}}}
    info = RunInfo.from_dict(TRAINED_JSON | read)
    assert info.stage1_model["digest"] == "a" * 16 and info.feature_sets["audio"]["entries"] == 3
    assert info.to_dict() == TRAINED_JSON | read
    assert info.row_extra()["stage1_model"] == read["stage1_model"]
    folder = RunFolder.create(tmp_path, "r")
    folder.write_info(info)
    assert folder.info() == info
    assert "stage1_model" not in RunInfo.from_dict(TRAINED_JSON).to_dict()  # none: not written


def test_an_older_run_json_without_newer_fields_loads():
    """Runs from before kind, seed, recipe, window, stages and ranks were recorded."""
    oldest = {k: TRAINED_JSON[k] for k in ("baseline", "split", "dataset", "data_root",
                                           "data_fingerprint", "config_hash", "features",
                                           "version", "seconds", "best_epoch", "finished")}
    info = RunInfo.from_dict(oldest | {"a_key_of_a_newer_harness": 1})
    assert info.kind == TRAINED and info.seed is None and info.recipe is None
    assert info.stages == () and info.ranks == 1 and not info.validation_tuned
    assert info.row_extra() == {"seconds": 7.81, "best_epoch": 2, "kind": "trained",
                                "seed": None, "recipe": None}


def test_a_run_json_without_its_identity_is_an_error_naming_it(tmp_path):
    folder = RunFolder.create(tmp_path, "r")
    (folder.path / "run.json").write_text(json.dumps({"kind": "trained", "split": "official"}))
    with pytest.raises(HarnessError, match=r"run.json: damaged or unreadable \(KeyError"):
        folder.info()
    (folder.path / "run.json").write_text(json.dumps(TRAINED_JSON | {"baseline": 3}))
    with pytest.raises(HarnessError, match="run.json: damaged.*baseline is 3"):
        folder.info()
