"""The Python API mirrors the CLI: same defaults, same errors, configs from files.

End to end on a tiny corpus with the pose-only ablation (``examples/single_modality.py``): no
face model to fine-tune, so six splits stay cheap.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness
from harness.errors import HarnessError
from tests.conftest import harness as cli

POSE_ONLY = str(Path(__file__).resolve().parents[2] / "examples" / "single_modality.py")
TINY = dict(epochs=1, batch_size=16, threads=1, quiet=True)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import os

    e = dict(os.environ)
    e["ABAW_HARNESS_HOME"] = os.environ["ABAW_HARNESS_HOME"]  # shares the session's caches
    e["COLUMNS"] = "200"
    return e


def test_every_command_is_a_function_of_the_facade():
    for name in ("extract", "run", "submit", "validate", "smooth", "ensemble", "leaderboard",
                 "bench", "splits", "data_info", "data_synth", "baselines"):
        assert callable(getattr(harness, name)), name
    with pytest.raises(AttributeError):
        harness.no_such_command  # noqa: B018


@pytest.mark.slow
def test_split_all_runs_six_splits_and_gives_table1(synth_root, tmp_path):
    done = harness.run("only_pose", split="all", data=synth_root, workdir=tmp_path,
                       baseline_module=[POSE_ONLY], **TINY)
    assert [r.split for r in done.results] == ["official", *(f"fold{k}" for k in range(1, 6))]
    assert done.table1 is not None
    assert done.table1.run_ids[:6] == tuple(r.run_dir.name for r in done.results)


def test_options_are_checked_before_any_folder_is_made(tmp_path):
    for bad, match in ((dict(split="fold9"), "unknown split 'fold9'; choose all or one of"),
                       (dict(batch_size=0), "--batch-size must be 1 or more, got 0"),
                       (dict(epochs=0), "--epochs must be 1 or more, got 0"),
                       (dict(lr=float("nan")), "'train.lr' must be a finite number"),
                       (dict(lr=-1.0), "--lr must be positive"),
                       (dict(workers=-1), "--workers must be 0 or more"),
                       (dict(onnx_mean="1,2"), "--onnx-mean takes 3 numbers"),
                       (dict(onnx_size=112), "apply to --backbone onnx:PATH, not light"),
                       (dict(optimizer="adam"), "unknown optimizer 'adam'")):
        with pytest.raises(HarnessError, match=match):
            harness.run("attention_fusion", workdir=tmp_path / "w", **bad)
    with pytest.raises(HarnessError, match="--shard takes i/n"):
        harness.extract(shard="2")
    with pytest.raises(HarnessError, match="--threads must be 1 or more"):
        harness.extract(threads=0)
    with pytest.raises(HarnessError, match="--from DIR and --as NAME go together"):
        harness.extract(import_from=tmp_path)
    with pytest.raises(HarnessError, match="--window must be positive"):
        harness.smooth("some-run", window=0)
    with pytest.raises(HarnessError, match="--windows takes seconds"):
        harness.ensemble(["a", "b"], windows="1,x")
    assert not (tmp_path / "w").exists()


def test_cli_refuses_bad_values_with_exit_2_and_no_traceback(tmp_path, env):
    for args, says in ((["--batch-size", 0], "--batch-size"),  # typer's range
                       (["--window-frames", 0], "--window-frames must be 1 or more, got 0")):
        proc = cli("run", "attention_fusion", "--workdir", tmp_path / "w", *args, env=env,
                   check=False)
        assert proc.returncode == 2 and says in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "w").exists()


def test_config_file_errors_name_file_key_and_expectation(tmp_path, env):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('baseline = "attention_fusion"\n[train]\nlr = "fast"\n')
    proc = cli("run", "--config", recipe, env=env, check=False)
    assert proc.returncode == 2
    assert f"{recipe}: key 'train.lr' must be a number, not 'fast'" in proc.stderr
    assert "Traceback" not in proc.stderr
    recipe.write_text('baseline = "attention_fusion"\n[train]\nlearning_rate = 0.1\n')
    with pytest.raises(HarnessError, match=f"{recipe}: unknown key 'train.learning_rate'"):
        harness.run(config=recipe)


def test_typed_options_override_the_file_and_defaults_do_not(tmp_path):
    from harness.api.run import run_recipe

    recipe = tmp_path / "recipe.toml"
    recipe.write_text('baseline = "only_video"\nsplit = "fold2"\nout = "elsewhere"\n'
                      '[train]\nlr = 0.02\nbatch_size = 4\n[features.face]\nbackbone = "light"\n')
    cfg, splits = run_recipe(config=recipe, batch_size=8)
    assert splits == ("fold2",) and cfg.out == Path("elsewhere")
    assert (cfg.train.lr, cfg.train.batch_size, cfg.baseline) == (0.02, 8, "only_video")
    cfg, splits = run_recipe("attention_fusion", "all", config=recipe)
    assert splits[0] == "official" and len(splits) == 6 and cfg.baseline == "attention_fusion"


def test_rerun_from_config_json_gives_identical_metrics(synth_root, tmp_path, env):
    """``harness run --config runs/<run>/config.json`` is the same run: metrics.json equal."""
    first, again = tmp_path / "first", tmp_path / "again"
    cli("run", "only_pose", "--baseline-module", POSE_ONLY, "--data", synth_root,
        "--workdir", first, "--epochs", 2, "--batch-size", 16, "--threads", 1, "--seed", 4,
        "--lr", 0.002, "--quiet", env=env)
    (run,) = (first / "runs").iterdir()
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["seed"] == 4 and config["threads"] == 1
    cli("run", "--config", run / "config.json", "--baseline-module", POSE_ONLY,
        "--workdir", again, env=env)
    (rerun,) = (again / "runs").iterdir()
    assert rerun.name.rsplit("-", 3)[0] == run.name.rsplit("-", 3)[0]  # same config hash
    assert (rerun / "metrics.json").read_text() == (run / "metrics.json").read_text()
    assert json.loads((rerun / "config.json").read_text()) == config | {"out": str(again)}


def test_validate_from_python(tmp_path):
    from tests.conftest import write_template

    tpl = write_template(tmp_path / "template.txt", {"a": 3})
    sub = tmp_path / "sub.txt"
    sub.write_text(tpl.read_text().replace(",\n", ",9\n"))
    done = harness.validate(sub, template=tpl)
    assert not done.valid and {p.message for p in done.problems} == {"label 9 is outside 0..7"}
    sub.write_text(tpl.read_text().replace(",\n", ",1\n"))
    assert harness.validate(sub, template=tpl).valid


def test_extract_smooth_and_ensemble_read_config_files(tmp_path):
    from harness.api.extract import extract_config
    from harness.api.postprocess import ensemble_config, smooth_config

    recipe = tmp_path / "extract.toml"
    recipe.write_text('modalities = ["pose"]\nshard = "1/2"\nthreads = 1\n'
                      '[features]\naudio = "egemaps"\n'
                      '[features.face]\nnum_workers = 0\n')
    cfg = extract_config(recipe, shard="2/2")
    assert cfg.modalities == ("pose",) and cfg.shard_range == (2, 2) and cfg.threads == 1
    assert extract_config(recipe, threads=2).threads == 2  # the option over the file
    assert (cfg.features.audio, cfg.features.face.num_workers) == ("egemaps", 0)
    post = tmp_path / "post.json"
    post.write_text(json.dumps({"run": "r1", "post": {"window": 2}, "timelines": {"val": False}}))
    cfg = smooth_config(config=post, tune_bias=True)
    assert (cfg.run, cfg.post.method, cfg.post.window, cfg.post.tune_bias) == \
        ("r1", "median", 2.0, True)  # smooth's default filter stays unless the file names one
    assert not cfg.timelines.val
    post.write_text(json.dumps({"baselines": ["a"], "combine": "vote", "post": {"sweep": True}}))
    cfg = ensemble_config(config=post, windows="1,2")
    assert cfg.baselines == ("a",) and cfg.combine == "vote" and cfg.post.windows == (1.0, 2.0)
    with pytest.raises(HarnessError, match="name a baseline"):
        harness.run()


def test_face_seed_is_stage1s_seed_and_leaves_the_default_key_alone():
    from harness.api.run import run_recipe
    from harness.features.cache import config_hash
    from harness.features.face.config import FaceConfig

    default, _ = run_recipe("attention_fusion")
    seeded, _ = run_recipe("attention_fusion", face_seed=2)
    assert seeded.features.face.seed == 2 and default.features.face.seed == 0
    assert config_hash(default.features.face.identity()) == "d87ab28e91f6"  # as before the option
    assert config_hash(FaceConfig().identity()) == "d87ab28e91f6"
    assert default.identity() != seeded.identity()
    assert run_recipe("attention_fusion", face_seed=0)[0].identity() == default.identity()
    # how cached things are made (their threads) is recorded beside keys, never in them
    assert default.features.feature_threads == 1
    other = run_recipe("attention_fusion", feature_threads=0, threads=2)[0]
    assert other.features.feature_threads == 0 and other.identity() == default.identity()
