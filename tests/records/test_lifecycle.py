"""One way to begin and end a run folder: ``start``, ``evaluate``, ``finish``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from harness.metrics import scores
from harness.records import (
    RunFolder,
    RunInfo,
    evaluate,
    finish,
    read_results,
    start,
    store_path,
)
from harness.version import __version__

FIGURES = {"per_class_f1", "accuracy", "macro_f1", "confusion", "n_frames"}


def _truth_and_predictions():
    rng = np.random.default_rng(0)
    truth = {f"v{i}": rng.integers(-1, 8, 50) for i in range(4)}
    preds = {n: np.where(rng.random(t.size + 3) < 0.6, np.r_[np.clip(t, 0, 7), [0, 0, 0]],
                         rng.integers(0, 8, t.size + 3)) for n, t in truth.items()}
    return truth, preds


def _finished(workdir, run="r-", info=None):
    truth, preds = _truth_and_predictions()
    folder = start(workdir, run, {"baseline": "b"}, {"name": "official", "val": list(truth)})
    folder.state_file.write_bytes(b"training state")
    final = evaluate(folder, truth, preds, "b on official")
    info = info or RunInfo(baseline="b", split="official", dataset="d", data_fingerprint="fp",
                           features={"face": "light"}, seed=3, recipe="rcp", seconds=1.5)
    return folder, final, finish(folder, info, final, workdir)


def test_finish_writes_info_figures_and_the_store_row(tmp_path):
    folder, final, row = _finished(tmp_path)
    truth, preds = _truth_and_predictions()
    pooled = scores(np.concatenate(list(truth.values())),
                    np.concatenate([preds[n][:truth[n].size] for n in truth]))
    assert final == pooled  # the sum of the per-video matrices is the pooled figure
    names, cms = folder.per_video_confusion()
    assert names == list(truth) and np.array_equal(cms.sum(0), np.array(final.confusion))
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in folder.plot_files)
    assert folder.is_finished and not folder.state_file.exists()
    assert folder.config() == {"baseline": "b"} and folder.split()["name"] == "official"
    metrics = json.loads((folder.path / "metrics.json").read_text())
    assert set(metrics) == FIGURES and folder.metrics() == final
    info = folder.info()
    assert info.version == __version__ and info.finished and info.seed == 3
    assert read_results(store_path(tmp_path)) == [row]
    assert (row.run_id, row.run_dir, row.created) == (folder.run_id, str(folder.path),
                                                      info.finished)
    assert (row.macro_f1, row.features, row.data_fingerprint) == (final.macro_f1,
                                                                  {"face": "light"}, "fp")
    assert (row.seed, row.recipe, row.extra["kind"]) == (3, "rcp", "trained")


def test_metrics_json_holds_figures_only_so_a_rerun_writes_the_same_bytes(tmp_path):
    a, _, _ = _finished(tmp_path / "a")
    b, _, _ = _finished(tmp_path / "b")
    assert a.path.name != b.path.name
    assert (a.path / "metrics.json").read_bytes() == (b.path / "metrics.json").read_bytes()
    assert a.info().finished != b.info().finished  # times live in run.json


def test_derived_and_trained_runs_finish_alike(tmp_path):
    trained, _, _ = _finished(tmp_path, "t-")
    derived_info = RunInfo(kind="derived", baseline="b+median(1s)", split="official",
                           dataset="d", data_fingerprint="fp", validation="official validation")
    derived, _, row = _finished(tmp_path, "d-", derived_info)
    assert row.extra == {"seconds": None, "kind": "derived"} and row.seed is None
    assert [r.run_id for r in read_results(store_path(tmp_path))] == [trained.run_id,
                                                                     derived.run_id]
    assert RunFolder.open(tmp_path, derived.run_id).info().validation == "official validation"


def test_records_import_neither_torch_nor_sklearn_nor_matplotlib():
    code = ("import sys, harness.records\n"
            "print(sorted(m for m in ('torch', 'sklearn', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
