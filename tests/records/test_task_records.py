"""Run records for every task: decisions, per-video statistics, metrics.json and store rows.

The contract between training and what reads run folders (TASKS-CONTRACT points 1-7): VA and
AU runs keep their outputs, statistics and figures in the same folder layout as EXPR runs,
and an EXPR row or ``run.json`` is written exactly as before.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from harness.metrics import AUScores, Scores, VAScores, au_scores, scores, va_scores
from harness.records import (
    FrameOutputs,
    Result,
    RunInfo,
    evaluate,
    finish,
    read_results,
    start,
    store_path,
)
from harness.tasks import get_task
from tests.records.row_factory import make_result


def _va_truth_and_outputs(seed=0):
    rng = np.random.default_rng(seed)
    truth, outputs = {}, {}
    for i in range(4):
        t = rng.uniform(-1, 1, (40 + 5 * i, 2)).astype(np.float32)
        t[:3] = -5.0  # invalid frames
        truth[f"v{i}"] = t
        outputs[f"v{i}"] = np.clip(0.6 * t + rng.normal(0, 0.3, t.shape), -1.5, 1.5)
    return truth, outputs


def _au_truth_and_outputs(seed=0):
    rng = np.random.default_rng(seed)
    truth, outputs = {}, {}
    for i in range(4):
        t = (rng.random((50, 12)) < 0.3).astype(np.int8)
        t[:2] = -1
        truth[f"v{i}"] = t
        outputs[f"v{i}"] = (2 * t - 1) * 1.5 + rng.normal(0, 1.5, t.shape)
    return truth, outputs


DATA = {"va": _va_truth_and_outputs, "au": _au_truth_and_outputs}


def test_decisions_per_task():
    expr, va, au = (get_task(n) for n in ("expr", "va", "au"))
    z = np.array([[0.1, 2.0, -1, 0, 0, 0, 0, 0], [3.0, 0, 0, 0, 0, 0, 0, 4.0]])
    assert expr.decisions(z).tolist() == [1, 7] and expr.decisions(z).dtype == np.int64
    v = va.decisions(np.array([[1.2, -0.3], [-2.0, 0.5]]))
    assert v.dtype == np.float32 and np.allclose(v, [[1.0, -0.3], [-1.0, 0.5]])
    logits = np.array([[-0.1, 0.0, 0.1] + [0.0] * 9, [2.0] * 12])
    d = au.decisions(logits)
    assert d.dtype == np.int8 and d.shape == (2, 12) and d[0, :3].tolist() == [0, 1, 1]
    high = au.decisions(logits, np.full(12, 0.9))  # sigmoid(2) = 0.88 < 0.9
    assert not high.any()
    low = au.decisions(logits, np.full(12, 0.45))  # sigmoid(-0.1) = 0.475 >= 0.45
    assert low[0, 0] == 1
    with pytest.raises(Exception, match="12 probabilities"):
        au.decisions(logits, np.full(12, 1.0))
    with pytest.raises(Exception, match="no thresholds"):
        va.decisions(logits[:, :2], np.full(2, 0.5))


def test_scores_and_selection_agree_with_the_metrics():
    va, au, expr = get_task("va"), get_task("au"), get_task("expr")
    truth, out = _va_truth_and_outputs()
    preds = [va.decisions(out[n]) for n in truth]
    s = va.scores(list(truth.values()), preds)
    ref = va_scores(np.concatenate(list(truth.values())), np.concatenate(preds))
    assert isinstance(s, VAScores) and s.p_va == pytest.approx(ref.p_va)
    assert va.selection(s) == s.p_va and list(va.figures(s)) == ["CCC-V", "CCC-A", "P_VA"]
    truth, out = _au_truth_and_outputs()
    preds = [au.decisions(out[n]) for n in truth]
    s = au.scores(list(truth.values()), preds)
    assert isinstance(s, AUScores)
    assert s == au_scores(np.concatenate(list(truth.values())), np.concatenate(preds))
    assert au.selection(s) == s.p_au and list(au.figures(s)) == list(au.leaderboard_columns)
    t = [np.array([0, 1, -1, 7]), np.array([2, 2])]
    p = [np.array([0, 1, 3, 0]), np.array([2, 1])]
    s = expr.scores(t, p)
    assert isinstance(s, Scores) and s == scores(np.r_[t[0], t[1]], np.r_[p[0], p[1]])
    assert expr.selection(s) == s.macro_f1


@pytest.mark.parametrize("name", ["va", "au"])
def test_a_finished_run_of_the_task(tmp_path, name):
    task = get_task(name)
    truth, out = DATA[name]()
    preds = {n: task.decisions(o) for n, o in out.items()}
    folder = start(tmp_path, "r-", {"baseline": "b"}, {"name": "official", "val": list(truth)})
    final = evaluate(folder, truth, preds, "b on official", task=name)
    assert final == task.scores(list(truth.values()), list(preds.values()))
    names, stats = folder.per_video_stats()
    assert names == list(truth) and stats.scores() == final
    assert folder.scores_plot.read_bytes()[:4] == b"\x89PNG"
    assert not folder.has_per_video_confusion()
    # bootstrap weights pool the same statistics
    w = np.array([2, 0, 1, 1])
    again = task.scores([truth[n] for n, k in zip(names, w) for _ in range(k)],
                        [preds[n] for n, k in zip(names, w) for _ in range(k)])
    assert task.selection(stats.scores(w)) == pytest.approx(task.selection(again), abs=1e-12)
    info = RunInfo(baseline="b", split="official", dataset="d", task=name, seed=1)
    row = finish(folder, info, final, tmp_path)
    assert json.loads((folder.path / "metrics.json").read_text()) == json.loads(
        json.dumps(final.to_dict()))
    assert folder.metrics() == final and folder.info().task == name
    assert folder.task is task
    assert row.task == name and row.score == task.selection(final)
    assert row.figures == task.figures(final) and row.n_frames == final.n_frames
    line = json.loads(row.to_json())
    assert line["task"] == name and not {"per_class_f1", "accuracy", "macro_f1",
                                         "confusion"} & set(line)
    assert read_results(store_path(tmp_path)) == [row]
    assert read_results(store_path(tmp_path), task="expr") == []
    assert read_results(store_path(tmp_path), task=name) == [row]


@pytest.mark.parametrize("name", ["va", "au"])
def test_outputs_of_the_task_width(tmp_path, name):
    task = get_task(name)
    truth, out = DATA[name]()
    names = list(out)
    idx = np.concatenate([np.full(len(o), i) for i, o in enumerate(out.values())])
    frames = np.concatenate([np.arange(1, len(o) + 1) for o in out.values()])
    logits = np.concatenate(list(out.values())).astype(np.float32)
    outputs = FrameOutputs.from_frames(names, idx, frames, logits, np.zeros(len(idx), bool))
    assert outputs.width == task.output_size
    folder = start(tmp_path, "r-", {}, {})
    with pytest.raises(Exception, match="task 'expr' has 8"):
        folder.write_outputs("val", outputs)
    written = folder.write_outputs("val", outputs, task=name)
    assert all(np.array_equal(written[n], task.decisions(out[n].astype(np.float32)))
               for n in names)
    finish(folder, RunInfo(baseline="b", split="s", dataset="d", task=name),
           task.scores([truth[n] for n in names], [written[n] for n in names]), tmp_path)
    back = folder.outputs("val")
    assert back.width == task.output_size and back.names == tuple(names)
    assert np.allclose(back.logits, logits, atol=2e-2)  # float16 on disk
    read = folder.predictions("val")
    atol = 1e-4 if name == "va" else 0
    assert all(np.allclose(read[n], written[n], atol=atol) for n in names)
    assert FrameOutputs.concat([back], []).logits.shape == (0, task.output_size)


def test_run_json_writes_task_only_off_the_default():
    info = RunInfo(baseline="b", split="s", dataset="d")
    assert info.task == "expr" and "task" not in info.to_dict()
    va = dataclasses.replace(info, task="va")
    assert va.to_dict()["task"] == "va" and RunInfo.from_dict(va.to_dict()) == va
    derived = RunInfo(kind="derived", baseline="b", split="s", dataset="d", task="au")
    assert RunInfo.from_dict(derived.to_dict()).task == "au"


def test_expr_rows_are_written_as_before():
    r = make_result()
    line = json.loads(r.to_json())
    assert "task" not in line and "figures" not in line
    assert r.task == "expr" and r.score == r.macro_f1
    assert r.figures["Avg(F1)"] == r.macro_f1 and r.figures["Acc"] == r.accuracy
    assert Result.from_dict(line) == r


def test_rows_of_other_tasks_are_checked():
    base = {"run_id": "r", "baseline": "b", "split": "s", "dataset": "d"}
    good = {"CCC-V": -0.2, "CCC-A": 0.4, "P_VA": 0.1}
    r = Result(**base, task="va", figures=good)
    assert r.score == 0.1 and Result.from_dict(json.loads(r.to_json())) == r
    with pytest.raises(ValueError, match="figures must be CCC-V, CCC-A, P_VA"):
        Result(**base, task="va", figures={"P_VA": 0.1})
    with pytest.raises(ValueError, match="in \\[-1, 1\\]"):
        Result(**base, task="va", figures={**good, "P_VA": float("nan")})
    with pytest.raises(ValueError, match="holds no per_class_f1"):
        Result(**base, task="va", figures=good, accuracy=0.5)
    with pytest.raises(ValueError, match="nope"):
        Result(**base, task="nope", figures=good)
    with pytest.raises(ValueError, match="missing keys"):
        Result.from_dict({**base, "task": "au"})


def test_unknown_frames_in_the_task_layout():
    assert get_task("expr").unknown(3).tolist() == [-1, -1, -1]
    va, au = get_task("va").unknown(2), get_task("au").unknown(2)
    assert va.shape == (2, 2) and va.dtype == np.float32 and not get_task("va").valid(va).any()
    assert au.shape == (2, 12) and au.dtype == np.int8 and not get_task("au").valid(au).any()
