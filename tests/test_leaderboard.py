"""Leaderboard: concurrent store, Tables 1/2 in every format, bootstrap, per-video npz, plots."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.metrics import macro_f1_from_confusion, scores
from leaderboard import (
    FORMATS,
    PER_VIDEO_FILE,
    Result,
    append_result,
    append_results,
    best_run,
    bootstrap_ci,
    compare,
    load_per_video_confusion,
    one_data,
    paired_bootstrap,
    read_results,
    render_table,
    result_from_scores,
    rich_table,
    save_per_video_confusion,
    store_path,
    table1,
    table2,
    with_features,
)
from leaderboard.output import leaderboard_output
from leaderboard.plots import plot_confusion, plot_macro_f1, plot_per_class_f1
from leaderboard.queries import parse_features
from leaderboard.tables import result_row

EYE = tuple(tuple(int(i == j) for j in range(8)) for i in range(8))


def make_result(baseline="attention_fusion", split="official", seed=0, created=None,
                dataset="synth-seed0", run_id=None) -> Result:
    rng = np.random.default_rng(seed)
    f1 = rng.random(8)
    kw = {"created": created} if created else {}
    return Result(run_id=run_id or f"{baseline}-{split}-{seed}", baseline=baseline, split=split,
                  dataset=dataset, per_class_f1=tuple(float(x) for x in f1),
                  accuracy=float(rng.random()), macro_f1=float(f1.mean()), confusion=EYE,
                  config_hash="c0ffee", data_fingerprint="fp", run_dir="/runs/x",
                  n_frames=100, extra={"seed": seed}, **kw)


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


def _results() -> list[Result]:
    out = [make_result(b, s, seed=10 * i + j, created=f"2024-01-01T00:00:0{j}")
           for i, b in enumerate(["current_face", "only_video", "attention_fusion"])
           for j, s in enumerate(["official", "fold1", "fold2", "fold3", "fold4", "fold5"])]
    # an older and a newer re-run of current_face on official: the newest wins
    out.append(make_result("current_face", "official", seed=99, created="2023-01-01T00:00:00"))
    out.append(make_result("current_face", "official", seed=98, created="2025-01-01T00:00:00"))
    return out


def test_table2_values_latest_run_and_bold():
    results = _results()
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
    results = _results()
    t = table1(results, "only_video")
    assert t.labels == ("Official", "Split1", "Split2", "Split3", "Split4", "Split5",
                        "Folds mean ± std")
    folds = np.stack([100 * np.array([*r.per_class_f1, r.accuracy, r.macro_f1])
                      for r in results if r.baseline == "only_video" and r.split != "official"])
    np.testing.assert_allclose(t.values[-1], folds.mean(axis=0))
    np.testing.assert_allclose(t.stds[-1], folds.std(axis=0, ddof=1))
    assert not t.bold[-1].any() and t.summary_from == 6
    assert np.isnan(t.stds[:-1]).all()


def test_renders_paste_ready():
    t1, t2 = table1(_results(), "only_video"), table2(_results())
    for fmt in FORMATS:
        assert render_table(t2, fmt).strip() and render_table(t1, fmt).strip()
    md = render_table(t2, "markdown").splitlines()
    assert md[0].startswith("| Modal | Neutral |") and md[0].endswith("| Acc | Avg(F1) |")
    best = t2.values[:, -1].argmax()
    assert f"**{t2.values[best, -1]:.1f}**" in md[2 + best]
    tex = render_table(t1, "latex")
    assert tex.startswith(r"\begin{tabular}{l" + "r" * 10 + "}")
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"\textbf{" in tex
    assert r"Folds mean $\pm$ std" in tex and "±" not in tex
    assert r"only\_video" not in tex and r"current\_face" in render_table(t2, "latex")
    rows = list(csv.reader(io.StringIO(render_table(t2, "csv"))))
    assert rows[0][0] == "Modal" and float(rows[1][1]) == round(t2.values[0, 0], 1)
    doc = json.loads(render_table(t1, "json"))
    assert doc["rows"][-1]["std"]["Avg(F1)"] == pytest.approx(t1.stds[-1, -1], abs=1e-5)
    assert rich_table(t2).row_count == 3
    with pytest.raises(HarnessError, match="unknown table format"):
        render_table(t2, "html")


def _video_cms(n_videos: int, acc: float, seed: int, frames: int = 200) -> np.ndarray:
    """Per-video matrices of a classifier right with probability ``acc`` (else uniform)."""
    rng = np.random.default_rng(seed)
    cms = np.zeros((n_videos, 8, 8), dtype=np.int64)
    for v in range(n_videos):
        t = rng.integers(0, 8, frames)
        p = np.where(rng.random(frames) < acc, t, rng.integers(0, 8, frames))
        np.add.at(cms[v], (t, p), 1)
    return cms


def test_bootstrap_ci_contains_estimate_deterministic_and_narrows():
    cms = _video_cms(20, 0.5, seed=0)
    point = float(macro_f1_from_confusion(cms.sum(0)))
    low, high = bootstrap_ci(cms, n_boot=1000, seed=3)
    assert low < point < high
    assert bootstrap_ci(cms, n_boot=1000, seed=3) == (low, high)
    assert bootstrap_ci(cms, n_boot=1000, seed=4) != (low, high)
    many = _video_cms(200, 0.5, seed=1)
    low2, high2 = bootstrap_ci(many, n_boot=1000, seed=3)
    assert high2 - low2 < 0.6 * (high - low)


def test_paired_bootstrap():
    cms_b = _video_cms(30, 0.3, seed=5)
    cms_a = _video_cms(30, 0.6, seed=5)  # same truth, more right answers
    delta, p = paired_bootstrap(cms_a, cms_b, n_boot=1000, seed=0)
    assert delta > 0.1 and p < 0.01
    delta, p = paired_bootstrap(cms_b, cms_b, n_boot=1000, seed=0)
    assert delta == 0.0 and p == 1.0
    names = [f"v{i}" for i in range(30)]
    with pytest.raises(HarnessError, match="same videos"):
        paired_bootstrap(cms_a, cms_b, names_a=names, names_b=names[::-1])
    with pytest.raises(HarnessError, match="different video counts"):
        paired_bootstrap(cms_a, cms_b[:10])


def test_per_video_confusion_npz(tmp_path):
    names, cms = ["a_left", "b", "122-60-1920x1080-1"], _video_cms(3, 0.5, seed=0)
    path = tmp_path / "per_video_confusion.npz"
    save_per_video_confusion(path, names, cms)
    back_names, back = load_per_video_confusion(path)
    assert back_names == names and back.dtype == np.int64 and np.array_equal(back, cms)
    with np.load(path, allow_pickle=False) as z:
        assert z["names"].dtype.kind == "U"


def test_plots_write_png(tmp_path):
    magic = b"\x89PNG\r\n\x1a\n"
    cm = _video_cms(1, 0.5, seed=0)[0]
    cm[3] = 0  # a class with no truth frames must not break row normalisation
    paths = [
        plot_confusion(cm, tmp_path / "confusion.png"),
        plot_per_class_f1(np.linspace(0.1, 0.8, 8), tmp_path / "per_class_f1.png", "run x"),
        plot_macro_f1([("current_face", 0.33, 0.30, 0.36), ("attention_fusion", 0.36, 0.33, 0.4)],
                      tmp_path / "macro.png"),
    ]
    for p in paths:
        assert p.read_bytes()[:8] == magic
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["confusion.png", "macro.png", "per_class_f1.png"]


# --- feature configurations and data fingerprints (issue 12) ------------------------------

LIGHT = {"face": "light", "audio": "logmel", "pose": "coco18", "face_fit": "in-sample"}
EMONET = {"face": "emonet", "audio": "deepspectrum", "pose": "coco18", "face_fit": "in-sample"}


def with_(r: Result, **kw) -> Result:
    return Result.from_dict({**json.loads(r.to_json()), **kw})


def _configs() -> list[Result]:
    """Three systems on ABAW5 data, one newer run on ABAW6 data, all named "affwild2"."""
    def one(baseline, feats, fp, t, seed):
        return with_(make_result(baseline, seed=seed, dataset="affwild2",
                                 created=f"2025-01-01T00:00:0{t}"),
                     features=feats, data_fingerprint=fp, run_id=f"{baseline}-{fp}-{t}")
    return [one("current_face", LIGHT, "abaw5", 1, 1),
            one("attention_fusion", LIGHT, "abaw5", 2, 2),
            one("attention_fusion", EMONET, "abaw5", 3, 3),
            one("attention_fusion", {**EMONET, "face_fit": "cross-fitted"}, "abaw5", 4, 4),
            one("attention_fusion", EMONET, "abaw6", 5, 5)]


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


def test_table2_one_row_per_baseline_and_configuration():
    t = table2(_configs(), fingerprint="abaw5", order=["current_face"])
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
    rows = _configs()
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


def test_markdown_and_csv_text_is_pinned():
    """The exports are pandas/tabulate now; their text is exactly what it was by hand."""
    r1 = with_(make_result("a"), per_class_f1=[0.5] * 8, accuracy=0.25, macro_f1=0.5)
    r2 = with_(make_result("b|c", created="2030-01-01T00:00:00"), per_class_f1=[0.125] * 8,
               accuracy=0.75, macro_f1=0.125)
    t = table2([r1, r2])
    cells = " | ".join(["**50.0**"] * 8)
    assert render_table(t, "markdown") == (
        "| Modal | Neutral | Anger | Disgust | Fear | Happiness | Sadness | Surprise | Other "
        "| Acc | Avg(F1) |\n|:---|" + "---:|" * 10 + "\n"
        f"| a | {cells} | 25.0 | **50.0** |\n"
        f"| b\\|c | {' | '.join(['12.5'] * 8)} | **75.0** | 12.5 |\n")
    assert render_table(t, "csv").splitlines()[1] == "a," + ",".join(["50.0"] * 8) + ",25.0,50.0"


def _store_with_runs(tmp_path) -> Path:
    """The rows of ``_configs`` in a store, each with a run folder holding per-video matrices."""
    work = tmp_path / "work"
    for k, r in enumerate(_configs()):
        run_dir = work / "runs" / r.run_id
        run_dir.mkdir(parents=True)
        cms = _video_cms(12, 0.2 + 0.1 * k, seed=7)  # same truth in every run, better and better
        save_per_video_confusion(run_dir / PER_VIDEO_FILE, [f"v{i}" for i in range(12)], cms)
        append_result(store_path(work), with_(r, run_dir=str(run_dir),
                                              macro_f1=float(macro_f1_from_confusion(cms.sum(0)))))
    return work


def test_compare_refuses_runs_on_other_data(tmp_path):
    rows = read_results(store_path(_store_with_runs(tmp_path)))
    with pytest.raises(HarnessError, match="different data.*abaw6.*abaw5.*--fingerprint"):
        compare(rows, "attention_fusion", "current_face", "official")
    c = compare(one_data(rows, fingerprint="abaw5"), "attention_fusion", "current_face",
                "official", n_boot=200)
    assert c.a.run_id == "attention_fusion-abaw5-4" and c.delta > 0 and c.p_value < 0.05


def test_compare_takes_run_ids_and_refuses_a_run_against_itself(tmp_path):
    """Two feature sets (or recipes) of one baseline: compared by run id; the same run twice
    (``--compare B B`` picks B's latest run for both) is an error, not a difference of 0."""
    rows = one_data(read_results(store_path(_store_with_runs(tmp_path))), fingerprint="abaw5")
    c = compare(rows, "attention_fusion-abaw5-4", "attention_fusion-abaw5-2", "official",
                n_boot=200)
    assert (c.a.run_id, c.b.run_id) == ("attention_fusion-abaw5-4", "attention_fusion-abaw5-2")
    assert c.delta > 0
    with pytest.raises(HarnessError, match="picks run attention_fusion-abaw5-4 twice.*run ids"):
        compare(rows, "attention_fusion", "attention_fusion", "official")
    with pytest.raises(HarnessError, match="no result for baseline or run 'nope'"):
        compare(rows, "nope", "attention_fusion", "official")


def test_best_run_for_submit_stays_on_the_release_data(tmp_path):
    work = _store_with_runs(tmp_path)
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


def test_leaderboard_output(tmp_path):
    work = _store_with_runs(tmp_path)
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


def test_leaderboard_and_submissions_import_downstream_only():
    """Data flows runs -> submissions -> leaderboard: never back into the harness's top."""
    import ast

    root = Path(__file__).resolve().parents[1]
    banned = ("harness.publish", "harness.reports", "harness.api", "harness.runs", "harness.cli")
    for path in [*(root / "leaderboard").glob("*.py"), *(root / "submissions").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.startswith(banned)], (path.name, names)
