"""The results store: concurrent appends, filters, corrupt lines, rows and their old forms."""

from __future__ import annotations

import json
import multiprocessing as mp

import numpy as np
import pytest

from harness.metrics import scores
from harness.records import (
    Result,
    append_result,
    append_results,
    read_results,
    result_from_scores,
)
from tests.leaderboard.stores import EMONET
from tests.records.row_factory import EYE, make_result, with_


def test_concurrent_appends_lose_nothing(tmp_path):
    store = str(tmp_path / "leaderboard.jsonl")
    ctx = mp.get_context("spawn")
    batches = [[make_result(baseline=f"b{w}", seed=w * 10 + k) for k in range(5)]
               for w in range(8)]
    # the target lives in the package, so a child imports little (not this test module)
    procs = [ctx.Process(target=append_results, args=(store, rows)) for rows in batches]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 8
    text = (tmp_path / "leaderboard.jsonl").read_text()
    assert text.count("\n") == 40 and all(json.loads(line) for line in text.splitlines())
    rows = read_results(store)
    assert len(rows) == 40 and len({r.run_id for r in rows}) == 40
    assert sorted(r.run_id for r in read_results(store, baseline="b3")) == \
        [f"b3-official-{30 + k}" for k in range(5)]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_roundtrip_filters_and_corrupt_line(tmp_path):
    store = tmp_path / "leaderboard.jsonl"
    a, b = make_result(), make_result(split="fold1", dataset="affwild2", seed=1)
    append_result(store, a)
    with open(store, "a") as fh:
        fh.write('{"run_id": "half a row\n')
    append_result(store, b)
    with pytest.warns(UserWarning, match=r"leaderboard.jsonl:2: skipping a corrupt"):
        rows = read_results(store)
    assert rows == [a, b]
    with pytest.warns(UserWarning):
        assert read_results(store, dataset="affwild2") == [b]
        assert read_results(store, split="official", baseline="attention_fusion") == [a]
    assert read_results(tmp_path / "none.jsonl") == []


def test_result_from_scores():
    s = scores(np.array([0, 1, 2, 2]), np.array([0, 1, 2, 3]))
    r = result_from_scores(s, run_id="r", baseline="b", split="official", dataset="d")
    assert r.macro_f1 == s.macro_f1 and r.n_frames == 4 and r.confusion == s.confusion
    listy = Result(run_id="r", baseline="b", split="official", dataset="d",
                   per_class_f1=list(s.per_class_f1), accuracy=s.accuracy, macro_f1=s.macro_f1,
                   confusion=[list(row) for row in s.confusion], created=r.created, n_frames=4)
    assert listy == Result.from_dict(json.loads(listy.to_json())) == r
    with pytest.raises(ValueError, match="not 8"):
        Result(run_id="r", baseline="b", split="s", dataset="d", per_class_f1=(0.1,),
               accuracy=0.0, macro_f1=0.0, confusion=EYE)


def test_features_roundtrip_and_old_rows_load(tmp_path):
    store = tmp_path / "leaderboard.jsonl"
    old = json.loads(make_result().to_json())
    del old["features"]  # a row written before the field existed
    store.write_text(json.dumps(old) + "\n")
    new = with_(make_result(seed=1), features=EMONET)
    append_result(store, new)
    rows = read_results(store)
    assert rows[0].features == {} and rows[0].feature_key == ()
    assert rows[1] == new and rows[1].features == EMONET
    with pytest.raises(ValueError, match="features must map names to strings"):
        with_(new, features={"face": 3})
