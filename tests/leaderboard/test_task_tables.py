"""Tables, intervals and comparisons of VA and AU runs; a table never mixes tasks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.metrics.au import AU_NAMES, au_stats
from harness.metrics.va import va_stats
from harness.records import Result, append_result, store_path
from leaderboard import render_table, table1, table2
from leaderboard.bootstrap import bootstrap_ci, metric_ci, paired_metric_bootstrap
from leaderboard.output import leaderboard_output
from leaderboard.views import TASK_VIEWS, view_of
from tests.records.row_factory import make_result


def va_row(baseline, split="official", ccc=(0.5, 0.4), seed=0, run_id=None, **kw) -> Result:
    figures = {"CCC-V": ccc[0], "CCC-A": ccc[1], "P_VA": (ccc[0] + ccc[1]) / 2}
    return Result(run_id=run_id or f"va-{baseline}-{split}-{seed}", baseline=baseline,
                  split=split, dataset="synth-seed0", data_fingerprint="fpva", task="va",
                  figures=figures, extra={"seed": seed, "recipe": "r"}, **kw)


def au_row(baseline, f1=0.4, split="official", **kw) -> Result:
    figures = {a: f1 + 0.01 * i for i, a in enumerate(AU_NAMES)}
    figures["P_AU"] = float(np.mean(list(figures.values())))
    return Result(run_id=f"au-{baseline}-{split}", baseline=baseline, split=split,
                  dataset="synth-seed0", data_fingerprint="fpau", task="au", figures=figures,
                  **kw)


def test_each_view_is_its_tasks_columns():
    assert view_of(None) is TASK_VIEWS.get("expr")
    assert TASK_VIEWS.get("expr").columns[-2:] == ("Acc", "Avg(F1)")
    assert TASK_VIEWS.get("va").columns == ("CCC-V", "CCC-A", "P_VA")
    assert TASK_VIEWS.get("au").columns == (*AU_NAMES, "P_AU")
    with pytest.raises(HarnessError, match="unknown task"):
        view_of("nosuch")
    mtl = view_of("mtl")  # P_MTL last: the column a run is judged by
    assert mtl.columns == ("P_VA", "P_EXPR", "P_AU", "P_MTL") and mtl.metric == "P_MTL"


def test_va_table_shows_cccs_never_other_tasks_rows():
    rows = [make_result("attention_fusion"), va_row("attention_fusion", ccc=(0.61, 0.52)),
            va_row("current_face", ccc=(0.3, 0.7)), au_row("attention_fusion")]
    t = table2(rows, task="va")
    assert t.value_columns == ("CCC-V", "CCC-A", "P_VA") and t.unit == "CCC"
    assert t.labels == ("attention_fusion", "current_face")
    md = render_table(t, "markdown")
    assert "**0.610**" in md and "**0.700**" in md and "0.565" in md
    assert "Avg(F1)" not in md and "AU1" not in md
    doc = json.loads(render_table(t, "json"))
    assert doc["unit"] == "CCC" and doc["title"].startswith("Valence-arousal CCC")
    # EXPR's table is as it was: the VA and AU rows never enter it
    expr = table2(rows)
    assert expr.labels == ("attention_fusion",) and expr.value_columns[-1] == "Avg(F1)"
    with pytest.raises(HarnessError, match="no AU results on split 'fold1'"):
        table2(rows, "fold1", task="au")


def test_au_table_in_every_format_and_table1_over_folds():
    rows = [au_row("attention_fusion", 0.3), au_row("current_face", 0.5)]
    rows += [au_row("attention_fusion", 0.2 + 0.05 * k, f"fold{k}") for k in range(1, 6)]
    t = table2(rows, task="au")
    for fmt in ("rich", "markdown", "latex", "csv", "json"):
        text = render_table(t, fmt)
        assert "AU26" in text and ("P\\_AU" if fmt == "latex" else "P_AU") in text
    csv = render_table(t, "csv").splitlines()
    assert csv[0].split(",")[-13:] == [*AU_NAMES, "P_AU"]
    assert csv[2].split(",")[-1] == f"{100 * rows[1].figures['P_AU']:.1f}"
    t1 = table1(rows, "attention_fusion", task="au")
    assert t1.labels[:2] == ("Official", "Split1") and t1.labels[-1] == "Folds mean ± std"
    assert "\\midrule" in render_table(t1, "latex")


def test_bootstraps_of_va_and_au_resample_videos():
    rng = np.random.default_rng(0)
    truth = [rng.uniform(-1, 1, (40, 2)) for _ in range(12)]
    good = va_stats(truth, [np.clip(t + rng.normal(scale=0.2, size=t.shape), -1, 1)
                            for t in truth])
    bad = va_stats(truth, [np.clip(t + rng.normal(scale=0.8, size=t.shape), -1, 1)
                           for t in truth])
    low, high = metric_ci(good.p_va, 12, n_boot=400)
    assert low <= good.p_va() <= high
    delta, p = paired_metric_bootstrap(good.p_va, bad.p_va, 12, n_boot=400)
    assert delta == pytest.approx(good.p_va() - bad.p_va()) and delta > 0 and p < 0.01
    _, p_same = paired_metric_bootstrap(good.p_va, good.p_va, 12, n_boot=400)
    assert p_same == 1.0
    # the generic bootstrap is EXPR's for a macro-F1 metric: same draws, same interval
    cms = rng.integers(0, 20, (9, 8, 8))
    view = TASK_VIEWS.get("expr")
    assert metric_ci(view.replicates(cms), 9, n_boot=300) == bootstrap_ci(cms, n_boot=300)
    t_au = [(rng.random((30, 12)) < 0.3).astype(int) for _ in range(6)]
    s = au_stats(t_au, t_au)
    assert metric_ci(s.p_au, 6, n_boot=100) == (pytest.approx(s.p_au()),) * 2


def test_output_refuses_a_task_without_rows(tmp_path):
    append_result(store_path(tmp_path), va_row("attention_fusion"))
    with pytest.raises(HarnessError, match="no AU results .* VA results.*--task au"):
        leaderboard_output(tmp_path, task="au")
    with pytest.raises(HarnessError, match="no EXPR results"):
        leaderboard_output(tmp_path)
    parts = leaderboard_output(tmp_path, task="va", fmt="markdown", ci=False)
    assert "| attention_fusion |" in parts[0]
