"""Questions of the store: comparisons on one data set, run ids, the run submit picks."""

from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.records import read_results, store_path
from leaderboard import best_run, compare, one_data
from tests.leaderboard.stores import store_with_runs


def test_compare_refuses_runs_on_other_data(tmp_path):
    rows = read_results(store_path(store_with_runs(tmp_path)))
    with pytest.raises(HarnessError, match="different data.*abaw6.*abaw5.*--fingerprint"):
        compare(rows, "attention_fusion", "current_face", "official")
    c = compare(one_data(rows, fingerprint="abaw5"), "attention_fusion", "current_face",
                "official", n_boot=200)
    assert c.a.run_id == "attention_fusion-abaw5-4" and c.delta > 0 and c.p_value < 0.05


def test_compare_takes_run_ids_and_refuses_a_run_against_itself(tmp_path):
    """Two feature sets (or recipes) of one baseline: compared by run id; the same run twice
    (``--compare B B`` picks B's latest run for both) is an error, not a difference of 0."""
    rows = one_data(read_results(store_path(store_with_runs(tmp_path))), fingerprint="abaw5")
    c = compare(rows, "attention_fusion-abaw5-4", "attention_fusion-abaw5-2", "official",
                n_boot=200)
    assert (c.a.run_id, c.b.run_id) == ("attention_fusion-abaw5-4", "attention_fusion-abaw5-2")
    assert c.delta > 0
    with pytest.raises(HarnessError, match="picks run attention_fusion-abaw5-4 twice.*run ids"):
        compare(rows, "attention_fusion", "attention_fusion", "official")
    with pytest.raises(HarnessError, match="no result for baseline or run 'nope'"):
        compare(rows, "nope", "attention_fusion", "official")


def test_best_run_for_submit_stays_on_the_release_data(tmp_path):
    work = store_with_runs(tmp_path)
    assert best_run(work, "abaw5").run_id == "attention_fusion-abaw5-4"
    assert best_run(work, "abaw6").run_id == "attention_fusion-abaw6-5"
    import shutil

    shutil.rmtree(work / "runs" / "attention_fusion-abaw5-4")  # a run folder that is gone
    assert best_run(work, "abaw5").run_id == "attention_fusion-abaw5-3"
    finished = lambda r: r.baseline == "current_face"  # noqa: E731 (the caller's own test)
    assert best_run(work, "abaw5", usable=finished).run_id == "current_face-abaw5-1"
    with pytest.raises(HarnessError, match="no finished run on split 'official' for data "
                       "fingerprint abaw7"):
        best_run(work, "abaw7")
