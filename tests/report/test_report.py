"""``harness report results``: runs over seeds, tables of mean ± std with the machine and the
commands, written into the markers of a docs page; a second call reuses the finished runs."""

from __future__ import annotations

import json

import pytest

from harness.errors import HarnessError
from harness.report import BEGIN, END, Cell, ReportConfig, make_report, spreads, write_into
from tests.conftest import harness_in_process as harness


def test_quick_report_end_to_end_into_a_docs_page(synth_root, tmp_path, monkeypatch, capsys):
    page = tmp_path / "results.md"
    page.write_text(f"# Results\nprose kept\n{BEGIN}\nold table\n{END}\nmore prose\n")
    work = tmp_path / "report"
    args = ("report", "results", "--out", page, "--data", synth_root, "--workdir", work,
            "--baseline", "current_face", "--baseline", "only_video",
            "--fusion-seeds", "0,1", "--epochs", 1, "--face-epochs", 1, "--batch-size", 64)
    code, out, err = harness(monkeypatch, capsys, *args)
    assert code == 0, err
    assert "1 stage-1 model(s) and 4 runs" in err and "estimated" in err  # said first
    assert "4 runs (0 reused)" in out
    text = page.read_text()
    assert text.startswith("# Results\nprose kept\n") and text.endswith(f"{END}\nmore prose\n")
    assert "old table" not in text
    import torch

    assert f"CPU capability {torch.backends.cpu.get_cpu_capability()}" in text
    assert f"torch {torch.__version__}" in text and "1 thread(s) per run" in text
    rows: dict[str, str] = {}
    for line in text.splitlines():  # the first table's rows (the spreads table follows)
        if line.startswith("| "):
            rows.setdefault(line.split(" | ")[0], line)
    cf, af = rows["| current_face"], rows["| only_video"]
    assert cf.count(" ± ") == 11 and af.count(" ± ") == 11  # 8 classes, Acc, Avg, test
    assert cf.count(" ± 0.0 |") == 11  # stage 1's own head: the fusion seed changes nothing
    assert "harness run $b --split official --seed $s --face-seed $f --threads 1" in text
    assert "for f in 0; do for b in current_face only_video; do for s in 0 1; do" in text
    journal = [json.loads(x) for x in (work / "report.jsonl").read_text().splitlines()]
    assert sorted((c["baseline"], c["seed"]) for c in journal) == [
        ("current_face", 0), ("current_face", 1), ("only_video", 0), ("only_video", 1)]
    same = [c for c in journal if c["baseline"] == "current_face"]
    assert same[0]["values"] == same[1]["values"]  # stage 1's head: no fusion seed in it
    code, out, _ = harness(monkeypatch, capsys, *args)  # again: every run reused
    assert code == 0 and "4 runs (4 reused)" in out
    assert page.read_text().count(BEGIN) == 1


def test_modes_counts_and_refusals(tmp_path):
    full = ReportConfig(mode="full")
    assert (full.face_seeds, full.corpus_seeds, full.fusion_seeds) == ((0, 1, 2),) * 3
    assert full.n_runs() == (9, 135) and ReportConfig().n_runs() == (1, 15)
    for bad, match in ((dict(mode="slow"), "--mode takes quick or full"),
                       (dict(mode="full", data=tmp_path), "full mode makes its corpora"),
                       (dict(threads=0), "--threads"),
                       (dict(corpus_seeds=(0, 1)), "quick mode reads one corpus")):
        with pytest.raises(HarnessError, match=match):
            ReportConfig(**bad)

    class Announced(Exception):
        pass

    def say(line):
        raise Announced(line)

    with pytest.raises(Announced, match=r"full mode: 9 stage-1 model\(s\) and 135 runs .*"
                                        r"estimated [0-9.]+ h"):
        make_report(ReportConfig(mode="full", workdir=tmp_path / "w"), say=say)
    assert not (tmp_path / "w").exists()  # nothing ran before the announcement


def test_spreads_by_source():
    def cell(corpus, face, seed, f1):
        return Cell(corpus, face, "b", seed, [0.0] * 9 + [f1], None, "", 0.0)

    cells = [cell(c, f, s, 0.5 + 0.1 * c + 0.02 * f + 0.01 * s)
             for c in (0, 1) for f in (0, 1) for s in (0, 1)]
    sp = spreads(cells, "b")
    assert sp["fusion"] == pytest.approx(100 * 0.01 / 2 ** 0.5)
    assert sp["stage1"] == pytest.approx(100 * 0.02 / 2 ** 0.5)
    assert sp["corpus"] == pytest.approx(100 * 0.1 / 2 ** 0.5)
    one = spreads([cell(0, 0, 0, 0.5)], "b")
    assert one == {"fusion": None, "stage1": None, "corpus": None}


def test_write_into_replaces_only_the_block(tmp_path):
    page = tmp_path / "p.md"
    write_into(page, "whole\n")
    assert page.read_text() == "whole\n"
    page.write_text(f"a\n{BEGIN}\nx\n{END}\nb\n")
    write_into(page, "new\n")
    assert page.read_text() == f"a\n{BEGIN}\nnew\n{END}\nb\n"


def test_au_report_shows_the_tasks_columns(synth_root, tmp_path, monkeypatch, capsys):
    from harness.data.valuefiles import AU_NAMES

    out, work = tmp_path / "au.md", tmp_path / "report"
    code, said, err = harness(monkeypatch, capsys, "report", "results", "--task", "au",
                              "--out", out, "--data", synth_root, "--workdir", work,
                              "--baseline", "only_video", "--fusion-seeds", "0,1",
                              "--epochs", 1, "--face-epochs", 1, "--batch-size", 64)
    assert code == 0, err
    assert "1 stage-1 model(s) and 2 runs of task au" in err and "val P_AU " in err
    text = out.read_text()
    assert "task au: action-unit detection" in text
    header = next(line for line in text.splitlines() if line.startswith("| Modal | AU1"))
    assert header == "| Modal | " + " | ".join((*AU_NAMES, "P_AU", "test P_AU")) + " |"
    row = next(line for line in text.splitlines() if line.startswith("| only_video | "))
    assert row.count(" ± ") == len(AU_NAMES) + 2  # 12 AUs, P_AU, test P_AU
    assert "harness run $b --task au --split official" in text
    assert "--task au --workdir" in text and "prints the hidden-test P_AU" in text
    assert "Std of validation P_AU (points)" in text and "Avg(F1)" not in text
    journal = [json.loads(x) for x in (work / "report.jsonl").read_text().splitlines()]
    assert [(c["task"], c["seed"]) for c in journal] == [("au", 0), ("au", 1)]
    for c in journal:  # 12 AU F1s then P_AU, their mean; the hidden test is scored
        assert len(c["values"]) == len(AU_NAMES) + 1
        assert c["values"][-1] == pytest.approx(sum(c["values"][:-1]) / len(AU_NAMES))
        assert 0.0 <= c["test"] <= 1.0
    p_au = 100 * sum(c["values"][-1] for c in journal) / 2
    assert f"| {p_au:.1f} ± " in row


def test_va_figures_are_shown_as_ccc(tmp_path):
    from harness.report import Report, render

    cfg = ReportConfig(task="va", baselines=("only_video",), fusion_seeds=(0, 1),
                       workdir=tmp_path)
    cells = [Cell(0, 0, "only_video", s, [0.5 + s / 10, 0.3, 0.4 + s / 20], 0.35 + s / 100, "", 1.0,
                  task="va") for s in (0, 1)]
    machine = {"cpu_model": "cpu", "cpu_capability": "AVX2", "cpu_count": 2, "torch": "t",
               "python": "3", "harness": "h"}
    text = render(cfg, Report(tmp_path / "r.md", cells, 1.0, (None, None), machine=machine))
    assert "| Modal | CCC-V | CCC-A | P_VA | test P_VA |" in text
    assert ("| only_video | 0.550 ± 0.071 | 0.300 ± 0.000 | 0.425 ± 0.035 | 0.355 ± 0.007 |"
            in text)
    assert "Std of validation P_VA (CCC)" in text and "| only_video | 0.035 | – | – |" in text
    assert "--task va --split official" in text and "valence-arousal CCC, over" in text


def test_task_refusals_and_old_journals(tmp_path):
    with pytest.raises(HarnessError, match="dense_temporal.*needs audio, pose"):
        ReportConfig(task="mtl")  # MTL is face images only
    assert ReportConfig(task="mtl", baselines=("current_face", "attention_fusion")).task == "mtl"
    with pytest.raises(HarnessError, match="nope"):
        ReportConfig(task="nope")
    from harness.report import _read_journal

    old = {"corpus_seed": 0, "face_seed": 0, "baseline": "b", "seed": 0,
           "values": [0.5] * 10, "test_f1": 0.4, "run_dir": "r", "seconds": 1.0, "settings": "s"}
    (tmp_path / "report.jsonl").write_text(json.dumps(old) + "\n")
    (cell,) = _read_journal(tmp_path / "report.jsonl")
    assert (cell.task, cell.test) == ("expr", 0.4)
    assert cell.key == ("s", "expr", 0, 0, "b", 0)
