"""End to end through the real command line: synth -> run -> submit -> validate -> leaderboard.

Each step is a subprocess running ``python -m harness`` so exit codes and messages are exactly
what a user sees.
"""

import json
import subprocess
import sys

import pytest

from tests.conftest import EXPR, cli_env, harness


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return cli_env(tmp_path_factory)


def test_help_and_version():
    out = harness("--help").stdout
    for cmd in ("data", "splits", "extract", "run", "baselines", "submit", "validate",
                "leaderboard", "bench"):
        assert cmd in out
    assert harness("--version").stdout.startswith("abaw-harness ")


def test_bad_annotation_is_one_red_line_and_exit_2(tmp_path, env):
    from tests.conftest import make_release

    root = make_release(tmp_path / "r")
    bad = root / EXPR / "Train_Set" / "vid1.txt"
    n_lines = len(bad.read_text().splitlines())
    bad.write_text(bad.read_text() + "8\n")
    proc = harness("data", "info", "--data", root, env=env, check=False)
    assert proc.returncode == 2
    assert f"vid1.txt:{n_lines + 1}" in proc.stderr and "Traceback" not in proc.stderr
    proc = harness("data", "info", "--data", tmp_path / "missing", env=env, check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_end_to_end(tmp_path, env):
    data, work = tmp_path / "corpus", tmp_path / "work"
    harness("data", "synth", "--out", data, "--videos", 8, "--seconds", 6, "--seed", 1, env=env)
    harness("splits", "--data", data, "--write", work / "folds.json", env=env)
    folds = json.loads((work / "folds.json").read_text())
    assert [s["name"] for s in folds["splits"]] == ["official"] + [f"fold{k}" for k in range(1, 6)]
    common = ["--data", data, "--workdir", work, "--epochs", 2, "--face-epochs", 2,
              "--batch-size", 32, "--quiet"]
    for baseline in ("current_face", "attention_fusion"):
        out = harness("run", baseline, *common, env=env).stdout
        assert "macro F1" in out
    runs = sorted((work / "runs").iterdir())
    assert len(runs) == 2
    trained = {}
    digests = set()
    for run in runs:  # in-sample face features by default (the paper's)
        info = json.loads((run / "run.json").read_text())
        features = info["features"]
        digests.add(info["stage1_model"]["digest"])  # provenance of what it read
        assert info["feature_sets"]["face"]["made_by"][0]["stage1"] in digests
        assert features["face_fit"] == "in-sample"
        trained[run.name.split("-")[0]] = features.get("training")
        for f in ("metrics.json", "config.json", "run.json", "epochs.csv", "checkpoint.pt",
                  "per_video_confusion.npz", "confusion.png", "per_class_f1.png"):
            assert (run / f).is_file(), f
        assert any((run / "predictions" / "val").iterdir())
        assert any((run / "predictions" / "test").iterdir())
    assert len(digests) == 1  # both runs read one stage-1 model
    # current_face is stage 1's own head: the fusion recipe (--epochs, --batch-size) never ran
    assert trained == {"current_face": None, "attention_fusion": "batch_size 32, max_epochs 2"}
    sub = work / "sub.txt"
    out = harness("submit", "--data", data, "--workdir", work, "--out", sub, env=env).stdout
    assert "validates" in out and sub.is_file()
    assert harness("validate", sub, "--data", data, env=env).returncode == 0
    lines = sub.read_text().splitlines()
    broken = tmp_path / "broken.txt"
    broken.write_text("\n".join(lines[:3] + [lines[3].rsplit(",", 1)[0] + ",8"] + lines[4:])
                      + "\n")
    proc = harness("validate", broken, "--data", data, env=env, check=False)
    assert proc.returncode == 1 and f"{broken}:4" in proc.stderr
    table = harness("leaderboard", "--workdir", work, "--format", "markdown", env=env).stdout
    assert "| attention_fusion |" in table and "| current_face |" in table
    assert "Avg(F1)" in table
    # another training seed: its own row in the store, pooled with seed 0 by --over-seeds
    harness("run", "attention_fusion", *common, "--seed", 1, env=env)
    infos = [json.loads((r / "run.json").read_text())
             for r in sorted((work / "runs").glob("attention_fusion-*"))]
    assert sorted(i["seed"] for i in infos) == [0, 1]
    assert infos[0]["recipe"] == infos[1]["recipe"]
    assert infos[0]["config_hash"] != infos[1]["config_hash"]
    pooled = harness("leaderboard", "--workdir", work, "--format", "markdown", "--over-seeds",
                     env=env).stdout
    row = next(line for line in pooled.splitlines() if line.startswith("| attention_fusion"))
    assert "| 0,1 |" in row and row.count(" ± ") == 10
    assert "| current_face |" in pooled  # one run: its interval stays, pooled rows have none
    assert "  current_face (" in pooled and "  attention_fusion (" not in pooled


def _to_file(path, *args, env):
    """Run the CLI with stdout redirected to a file, as `harness ... > out.txt` does."""
    env = {k: v for k, v in env.items() if k != "COLUMNS"}  # a plain pipe: no width hint
    with open(path, "w") as fh:
        proc = subprocess.run([sys.executable, "-m", "harness", *map(str, args)], stdout=fh,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return path.read_text()


def test_tables_are_whole_in_a_file(tmp_path, env):
    """Rich used to cut every cell to fit 80 columns in files and CI logs ('1,…', 'Neut…')."""
    import re

    from harness.data.labels import CLASSES
    from leaderboard import Result, append_result

    data = tmp_path / "corpus"
    harness("data", "synth", "--out", data, "--videos", 8, "--seconds", 6, "--seed", 2, env=env)
    text = _to_file(tmp_path / "splits.txt", "splits", "--data", data, env=env)
    assert "…" not in text
    from harness.data.release import load_release
    from harness.data.splits import SPLIT_NAMES, get_split, split_summary

    release = load_release(data)
    for name in SPLIT_NAMES:
        summary = split_summary(release, get_split(release, name))
        for part in ("train", "val"):
            counts = [summary[part]["frames"], *summary[part]["class_counts"]]
            row = next(line for line in text.splitlines()
                       if f" {part} " in line and all(f"{c:,}" in line for c in counts))
            assert row
    work = tmp_path / "work"
    for k, baseline in enumerate(("current_face", "attention_fusion")):
        append_result(work / "leaderboard.jsonl", Result(
            run_id=f"r{k}", baseline=baseline, split="official", dataset="synth-seed2",
            per_class_f1=[0.1234 * (k + 1)] * 8, accuracy=0.4567, macro_f1=0.1234 * (k + 1),
            confusion=[[1] * 8] * 8, data_fingerprint="f" * 16,
            features={"face": "light", "audio": "logmel", "pose": "coco18"}))
    text = _to_file(tmp_path / "lb.txt", "leaderboard", "--workdir", work, "--no-ci", env=env)
    assert "…" not in text
    for word in (*CLASSES, "Avg(F1)", "current_face", "attention_fusion", "logmel"):
        assert word in text, word
    assert len(re.findall(r"\b12\.3\b", text)) >= 9 and len(re.findall(r"\b24\.7\b", text)) >= 9


def test_bring_your_own_features(tmp_path, env):
    """A peer's per-frame files -> import -> attention_fusion and dense_temporal run on them."""
    from pathlib import Path

    data, work, peer = tmp_path / "corpus", tmp_path / "work", tmp_path / "peer"
    harness("data", "synth", "--out", data, "--videos", 8, "--seconds", 6, "--seed", 4, env=env)
    script = Path(__file__).parents[2] / "examples" / "peer_features.py"
    subprocess.run([sys.executable, script, "--data", data, "--out", peer], check=True,
                   env=env, timeout=600)
    harness("extract", "--data", data, "--from", peer / "face", "--as", "peerface", env=env)
    harness("extract", "--data", data, "--from", peer / "audio", "--as", "peeraudio", env=env)
    common = ["--data", data, "--workdir", work, "--epochs", 1, "--batch-size", 32, "--quiet",
              "--face-features", "peerface", "--audio-features", "peeraudio"]
    harness("run", "attention_fusion", *common, env=env)
    harness("run", "dense_temporal", *common, "--window-frames", 15, "--frame-stride", 2,
            "--cpu-bf16", "--optimizer", "sgd", env=env)
    infos = [json.loads((run / "run.json").read_text()) for run in (work / "runs").iterdir()]
    strides = {json.loads((run / "config.json").read_text())["baseline"]:
               json.loads((run / "config.json").read_text())["train"]["frame_stride"]
               for run in (work / "runs").iterdir()}
    assert strides == {"attention_fusion": 5, "dense_temporal": 2}
    bf16 = {json.loads((run / "config.json").read_text())["baseline"]:
            json.loads((run / "config.json").read_text())["train"]["cpu_bf16"]
            for run in (work / "runs").iterdir()}
    assert bf16 == {"attention_fusion": False, "dense_temporal": True}
    optimizers = {json.loads((run / "config.json").read_text())["baseline"]:
                  json.loads((run / "config.json").read_text())["train"]["optimizer"]
                  for run in (work / "runs").iterdir()}
    assert optimizers == {"attention_fusion": "adamw", "dense_temporal": "sgd"}
    assert {i["baseline"] for i in infos} == {"attention_fusion", "dense_temporal"}
    for info in infos:
        assert info["features"]["face"] == "import:peerface"
        assert info["features"]["audio"] == "import:peeraudio"
    assert {i["window"] for i in infos} == {"12 steps every 0.5 s", "dense 15 frames"}
    home = Path(env["ABAW_HARNESS_HOME"])
    assert list(home.glob("cache/synth-seed4-*/import-peerface-*"))
    assert not list(home.glob("cache/synth-seed4-*/face_models/*.pt"))  # no stage 1 needed
    table = harness("leaderboard", "--workdir", work, "--format", "markdown", env=env).stdout
    assert "import:peerface" in table and "| dense_temporal |" in table
    bad = next((peer / "face").glob("*.npz"))
    np = pytest.importorskip("numpy")
    np.savez(bad, feat=np.ones((3, 5)), frame=np.array([1, 2, 3]))
    proc = harness("extract", "--data", data, "--from", peer / "face", "--as", "other",
                   env=env, check=False)
    assert proc.returncode == 2 and bad.name in proc.stderr and "nothing was written" in proc.stderr


def test_missing_faces_stop_a_run_unless_allowed(tmp_path, env):
    """One validation name's faces removed: data info shows it, a run stops naming it (exit 2),
    ``--allow-missing-faces`` runs with a warning; cross-fitted and --folds runs record it."""
    import shutil

    data, work = tmp_path / "corpus", tmp_path / "work"
    harness("data", "synth", "--out", data, "--videos", 8, "--seconds", 6, "--seed", 2, env=env)
    gone = sorted(p.stem for p in (data / EXPR / "Validation_Set").glob("*.txt"))[0]
    shutil.rmtree(data / "cropped_aligned" / gone)
    info = harness("data", "info", "--data", data, env=env).stdout
    assert "frames with a face" in info and f"no face image for 1 name(s): {gone}" in info
    common = ["--data", data, "--workdir", work, "--face-epochs", 1, "--epochs", 1,
              "--batch-size", 32, "--quiet"]
    proc = harness("run", "current_face", *common, env=env, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"no face image at all: {gone}" in proc.stderr and "cropped_aligned" in proc.stderr
    assert not (work / "runs").exists()
    proc = harness("run", "current_face", *common, "--allow-missing-faces", "--face-oof", 0,
                   env=env)
    assert f"{gone}: no face image" in proc.stderr
    harness("run", "only_video", *common, "--allow-missing-faces", "--face-oof", 2, env=env)
    harness("splits", "--data", data, "--write", work / "folds.json", env=env)
    harness("run", "current_face", *common, "--allow-missing-faces", "--split", "fold2",
            "--folds", work / "folds.json", "--face-oof", 0, env=env)
    fits = {}
    for run in (work / "runs").iterdir():
        info = json.loads((run / "run.json").read_text())
        fits[(info["baseline"], info["split"])] = info["features"]["face_fit"]
        if info["split"] == "fold2":
            written = json.loads((work / "folds.json").read_text())["splits"][2]
            assert json.loads((run / "split.json").read_text()) == written
    assert fits == {("current_face", "official"): "in-sample",
                    ("only_video", "official"): "oof2", ("current_face", "fold2"): "in-sample"}
