"""What ``harness leaderboard`` prints: tables, intervals, comparison and plot note."""

from __future__ import annotations

import csv
import io

import pytest

from harness.errors import HarnessError
from leaderboard.output import leaderboard_output
from leaderboard.queries import parse_features
from tests.leaderboard.stores import store_with_runs


def test_leaderboard_output(tmp_path):
    work = store_with_runs(tmp_path)
    table, cis = leaderboard_output(work, fmt="markdown")  # newest data: ABAW6, one row
    assert table.count("\n") == 3 and "| attention_fusion | emonet | deepspectrum |" in table
    assert "attention_fusion (emonet, deepspectrum):" in cis
    table, cis, line, note = leaderboard_output(
        work, fmt="markdown", fingerprint="abaw5", compare=("attention_fusion", "current_face"),
        plot=tmp_path / "f1.png")
    assert table.count("\n") == 6 and cis.count("\n") == 4
    assert line.startswith("attention_fusion (emonet, deepspectrum, coco18, cross-fitted) - "
                           "current_face (light, logmel, coco18, in-sample) on official: ")
    assert (tmp_path / "f1.png").is_file() and note.endswith("f1.png")
    with pytest.raises(HarnessError, match="choose one with --fingerprint"):
        leaderboard_output(work, fmt="csv", compare=("attention_fusion", "current_face"))
    (light,) = leaderboard_output(work, fmt="csv", fingerprint="abaw5",
                                  features=parse_features(["face=light"]))
    assert [r[:3] for r in csv.reader(io.StringIO(light))][1:] == \
        [["current_face", "light", "logmel"], ["attention_fusion", "light", "logmel"]]
    (t1, _) = leaderboard_output(work, by="split", fmt="markdown")
    assert "| Official | emonet |" in t1
    with pytest.raises(HarnessError, match="KEY=VALUE"):
        parse_features(["face"])
