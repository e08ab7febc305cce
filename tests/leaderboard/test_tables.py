"""Tables 1 and 2: latest runs, bold maxima, seeds pooled, one data fingerprint and one row
per feature configuration."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from harness.errors import HarnessError
from leaderboard import render_table, table1, table2, with_features
from leaderboard.tables import result_row
from tests.leaderboard.stores import EMONET, LIGHT, config_rows, sample_results
from tests.records.row_factory import make_result, with_


def test_table2_values_latest_run_and_bold():
    results = sample_results()
    t = table2(results)
    assert t.labels == ("current_face", "only_video", "attention_fusion")
    latest = {r.baseline: r for r in results if r.split == "official"}
    latest["current_face"] = results[-1]
    assert t.run_ids[0] == results[-1].run_id
    for i, name in enumerate(t.labels):
        r = latest[name]
        want = 100 * np.array([*r.per_class_f1, r.accuracy, r.macro_f1])
        np.testing.assert_allclose(t.values[i], want)
    col_max = np.round(t.values, 1).max(axis=0)
    assert np.array_equal(t.bold, np.round(t.values, 1) == col_max)
    assert t.bold.any(axis=0).all()
    assert table2(results, order=["attention_fusion"]).labels[0] == "attention_fusion"
    with pytest.raises(HarnessError, match="no results"):
        table2(results, split="fold9")
    newer = make_result("other", dataset="affwild2", created="2030-01-01T00:00:00+02:00")
    assert table2([*results, newer]).labels == ("other",)  # newest data set, never mixed
    assert table2([*results, newer], dataset="synth-seed0").labels == t.labels


def test_table2_over_seeds_pools_the_latest_run_of_each_seed_of_one_recipe():
    def run(baseline, seed, t, recipe="r1"):
        r = make_result(baseline, seed=seed, created=f"2024-01-01T00:00:{t:02d}")
        return with_(r, run_id=f"{baseline}-{seed}-{t}",
                     extra={"seed": seed, "recipe": recipe})

    rows = [run("concat_fusion", 0, 1), run("concat_fusion", 1, 2),
            run("concat_fusion", 1, 3),  # seed 1 again: the newer run counts, once
            run("concat_fusion", 2, 4, recipe="old-lr"),  # another recipe: not pooled
            run("concat_fusion", 2, 5),
            run("attention_fusion", 0, 6),
            with_(make_result("current_face", seed=7), extra={})]  # an old row: alone
    t = table2(rows, over_seeds=True)
    assert t.labels == ("concat_fusion", "attention_fusion", "current_face")
    assert t.feature_keys[-1] == "seeds" and t.columns[1] == "Seeds"
    assert [f[-1] for f in t.features] == ["0,1,2", "0", ""]
    pooled = np.stack([result_row(r) for r in (rows[0], rows[2], rows[4])])
    np.testing.assert_allclose(t.values[0], pooled.mean(axis=0))
    np.testing.assert_allclose(t.stds[0], pooled.std(axis=0, ddof=1))
    assert np.isnan(t.stds[1:]).all() and t.run_ids == ("", rows[5].run_id, rows[6].run_id)
    md = render_table(t, "markdown")
    assert f"{pooled.mean(axis=0)[-1]:.1f} ± {pooled.std(axis=0, ddof=1)[-1]:.1f}" in md
    plain = table2(rows)  # the default is unchanged: the newest run alone
    assert plain.run_ids[0] == rows[4].run_id and "seeds" not in plain.feature_keys


def test_table1_mean_and_std():
    results = sample_results()
    t = table1(results, "only_video")
    assert t.labels == ("Official", "Split1", "Split2", "Split3", "Split4", "Split5",
                        "Folds mean ± std")
    folds = np.stack([100 * np.array([*r.per_class_f1, r.accuracy, r.macro_f1])
                      for r in results if r.baseline == "only_video" and r.split != "official"])
    np.testing.assert_allclose(t.values[-1], folds.mean(axis=0))
    np.testing.assert_allclose(t.stds[-1], folds.std(axis=0, ddof=1))
    assert not t.bold[-1].any() and t.summary_from == 6
    assert np.isnan(t.stds[:-1]).all()


def test_another_training_recipe_is_a_row_of_its_own():
    """Runs record ``training`` only off the default recipe; Table 2 shows it in a column."""
    from harness.fusion_stage import TrainConfig
    from harness.runs import _training

    assert _training(TrainConfig(seed=3, device="cpu")) == {}
    sgd = _training(TrainConfig(optimizer="sgd", lr=0.02, batch_size=4))
    assert sgd == {"training": "lr 0.02, optimizer sgd, batch_size 4"}
    rows = [with_(make_result("concat_fusion", seed=t, created=f"2025-01-01T00:00:0{t}"),
                  features=feats, data_fingerprint="abaw5", run_id=f"r{t}")
            for t, feats in ((1, LIGHT), (2, {**LIGHT, **sgd}))]
    t = table2(rows, fingerprint="abaw5")
    assert t.labels == ("concat_fusion", "concat_fusion")
    assert "Training" in t.columns
    cells = dict(zip(t.feature_keys, zip(*t.features)))["training"]
    # empty: the default recipe (rows written before runs recorded it say nothing either)
    assert cells == ("", "lr 0.02, optimizer sgd, batch_size 4")


def test_table2_one_row_per_baseline_and_configuration():
    t = table2(config_rows(), fingerprint="abaw5", order=["current_face"])
    assert t.labels == ("current_face", "attention_fusion", "attention_fusion",
                        "attention_fusion")
    # face and audio always; face_fit because two rows differ in it; pose never differs
    assert t.feature_keys == ("face", "audio", "face_fit")
    assert t.columns[:5] == ("Modal", "Face", "Audio", "Face fit", "Neutral")
    assert len(set(t.names)) == 4 and t.names[3] == \
        "attention_fusion (emonet, deepspectrum, cross-fitted)"
    md = render_table(t, "markdown").splitlines()
    assert md[0].startswith("| Modal | Face | Audio | Face fit | Neutral |")
    assert md[1].startswith("|:---|:---|:---|:---|---:|")
    assert md[4].startswith("| attention_fusion | emonet | deepspectrum | in-sample | ")
    tex = render_table(t, "latex")
    assert tex.startswith(r"\begin{tabular}{llll" + "r" * 10 + "}")
    assert r"attention\_fusion & emonet & deepspectrum & cross-fitted & " in tex
    rows = list(csv.reader(io.StringIO(render_table(t, "csv"))))
    assert rows[0][:4] == ["Modal", "Face", "Audio", "Face fit"]
    assert len({tuple(r[:4]) for r in rows[1:]}) == 4  # no two rows look the same
    doc = json.loads(render_table(t, "json"))
    assert doc["rows"][2]["features"] == {"face": "emonet", "audio": "deepspectrum",
                                          "face_fit": "in-sample"}
    assert "emonet" in render_table(t, "rich") and "cross-fitted" in render_table(t, "rich")


def test_tables_hold_one_data_fingerprint():
    rows = config_rows()
    newest = table2(rows)  # default: the newest row's fingerprint (ABAW6)
    assert newest.run_ids == ("attention_fusion-abaw6-5",) and "data abaw6" in newest.title
    older = table2(rows, fingerprint="abaw5")
    assert len(older.labels) == 4 and all("abaw5" in rid for rid in older.run_ids)
    with pytest.raises(HarnessError, match="fingerprint nope"):
        table2(rows, fingerprint="nope")
    assert table1(rows, "attention_fusion").run_ids == ("attention_fusion-abaw6-5",)


def test_table1_holds_one_configuration():
    rows = [with_(make_result("only_video", s, seed=k, created=f"2025-01-0{k + 1}T00:00:00"),
                  features=LIGHT if k < 6 else EMONET, run_id=f"ov-{s}-{k}")
            for k, s in enumerate(["official", *(f"fold{i}" for i in range(1, 6)), "official"])]
    t = table1(rows, "only_video")  # the newest row's configuration: EMONET, official only
    assert t.run_ids == ("ov-official-6",) and "(emonet, deepspectrum" in t.title
    t = table1(with_features(rows, {"face": "light"}), "only_video")
    assert t.labels[-1] == "Folds mean ± std" and len(t.run_ids) == 7
    assert all(f[:2] == ("light", "logmel") for f in t.features)
    assert render_table(t, "latex").count(r"\midrule") == 2


def test_runs_that_read_different_stage1_models_are_never_one_row(tmp_path):
    """Same baseline, features and recipe, but another stage-1 model (another digest): two
    rows, told apart by a Face model column; one model: one row and no column."""
    from harness.records import append_result
    from harness.records.store import STORE_NAME
    from leaderboard.output import leaderboard_output

    def row(digest, t, seed=0):
        made = {"torch": "2.13.0+cpu", "cpu_capability": "AVX2", "threads": t, "seed": 0}
        return with_(make_result(seed=seed, created=f"2025-01-01T00:00:0{t}{seed}"),
                     features=LIGHT, run_id=f"af-{digest}-{seed}",
                     extra={"seed": seed, "recipe": "r",
                            "stage1_model": {"key": "k", "digest": digest * 16,
                                             "made_by": made}})

    same = table2([row("a", 1), row("a", 2)])
    assert same.labels == ("attention_fusion",) and "face_model" not in same.feature_keys
    two = table2([row("a", 1), row("b", 2)])
    assert two.labels == ("attention_fusion",) * 2
    cells = dict(zip(two.feature_keys, zip(*two.features)))["face_model"]
    assert sorted(cells) == ["a" * 8, "b" * 8] and "Face model" in two.columns
    pooled = table2([row("a", 1), row("b", 2), row("a", 1, seed=1)], over_seeds=True)
    assert sorted(c[-1] for c in pooled.features) == ["0", "0,1"]  # seeds of one model only
    assert len(with_features([row("a", 1), row("b", 2)], {"face_model": "b" * 8})) == 1
    work = tmp_path / "work"
    for r in (row("a", 1), row("a", 2)):
        append_result(work / STORE_NAME, r)
    plain = leaderboard_output(work, fmt="markdown", ci=False)
    assert "Face model" not in plain[0] and len(plain) == 1
    table, lines = leaderboard_output(work, fmt="markdown", ci=False, detail=True)
    assert "| Face model |" in table and "| aaaaaaaa |" in table
    assert f"stage 1 {'a' * 16}: torch 2.13.0+cpu, AVX2, 2 threads, seed 0" in lines
