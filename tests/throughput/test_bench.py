"""The throughput bench in quick mode: rows are complete and sane, JSON and tables round-trip."""

from __future__ import annotations

import json

import pytest
from rich.console import Console
from rich.table import Table

from harness.throughput import BenchConfig, bench_table, lstm_flops, run_bench, write_bench_json


@pytest.fixture(scope="module")
def result() -> dict:
    cfg = BenchConfig(quick=True, baselines=["current_face", "attention_fusion"],
                      batch_sizes=(1, 8), repeats=2, warmup=1, backbones=["light"])
    return run_bench(cfg, progress=False)


def _measured(rows: list[dict]) -> list[dict]:
    return [r for r in rows if "skipped" not in r]


def test_rows_cover_every_combination(result):
    keys = {(r["baseline"], r["batch"], r["mode"]) for r in result["rows"]}
    assert keys == {(b, n, m) for b in ("current_face", "attention_fusion") for n in (1, 8)
                    for m in ("infer", "train")}
    skipped = [r for r in result["rows"] if "skipped" in r]
    assert all(r["mode"] == "train" and r["batch"] == 1 for r in skipped)  # BatchNorm


def test_rows_have_positive_rates_and_sane_flops(result):
    assert result["matmul_peak_gflops"] > 0
    for row in _measured(result["rows"]):
        assert "error" not in row, row
        assert row["windows_per_s"] > 0 and row["ms_per_batch"] > 0
        assert row["windows_per_s_p10"] <= row["windows_per_s"] <= row["windows_per_s_p90"]
        assert row["flops_per_window"] > 0
        assert 0 < row["fraction_of_peak"] <= 1.5
        assert row["peak_mem_mb"] > 0
    (light,) = result["backbone_rows"]
    assert light["images_per_s"] > 0 and light["flops_per_image"] > 0


def test_train_flops_are_three_forwards(result):
    by = {(r["baseline"], r["batch"], r["mode"]): r for r in _measured(result["rows"])}
    fwd, train = by["attention_fusion", 8, "infer"], by["attention_fusion", 8, "train"]
    assert train["flops_per_window"] == pytest.approx(3 * fwd["flops_per_window"])


def test_lstm_flops_are_counted(result):
    """FlopCounterMode misses fused LSTM kernels: the per-window count must include them."""
    from baselines import create_baseline

    model = create_baseline("attention_fusion", result["config"]["dims"])
    lstm = sum(lstm_flops(e.lstm, 1, 12) for e in model.encoders.values())
    row = next(r for r in result["rows"] if r["baseline"] == "attention_fusion")
    assert row["flops_per_window"] > lstm


def test_face_data_path_rows_per_worker_count(result):
    rows = result["data_path_rows"]
    assert {(r["mode"], r["workers"]) for r in rows} == {
        ("decode", 0), ("decode", 1), ("legacy", 0), ("to device", 0), ("to device", 1),
        ("extract light", 0), ("extract light", 1)}
    for r in rows:
        assert "error" not in r, r
        assert r["images_per_s_p10"] <= r["images_per_s"] <= r["images_per_s_p90"]
        assert r["images_per_s"] > 0 and r["input_size"] in (64, 112)


def test_paper_design_is_slower(result):
    seed = result["paper_design"]
    assert seed["backbone"] == "light"  # quick mode; the full bench uses emonet
    assert seed["ratio"] > 1
    assert seed["in_loop_epoch_s"] > seed["cached_epoch_s"] > 0


def test_profile_names_operators(result):
    ops = result["profile"]["ops"]
    assert ops and all(op["self_ms"] >= 0 for op in ops)


def test_json_round_trip(result, tmp_path):
    path = tmp_path / "bench" / "result.json"
    write_bench_json(result, path)
    again = json.loads(path.read_text())
    assert again["rows"] == json.loads(json.dumps(result["rows"]))
    assert not list(path.parent.glob(".*.tmp"))  # atomic: no temp file left behind


def test_tables_render(result):
    table = bench_table(result)
    assert isinstance(table, Table)
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    assert "attention_fusion" in text and "backbone light" in text
    md = bench_table(result, "markdown")
    assert isinstance(md, str) and md.count("| attention_fusion |") == 4
    assert "seed:" in md and "| face data path -> 64px | to device, 1 workers |" in md
    with pytest.raises(ValueError):
        bench_table(result, "html")
