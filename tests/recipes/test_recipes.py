"""Shipped recipes: listed with their paths, shown as written, loaded as RunConfig, and run
(``harness run --config NAME``) on a 4-video corpus with their epochs cut."""

from __future__ import annotations

import json

import pytest
import tomllib

from harness.config_files import read_config_file
from harness.errors import HarnessError
from harness.recipes import list_recipes, load_recipe, read_recipe, recipe_text
from harness.recipes.config import config_toml, run_config_from_dict
from tests.season_tools import cli, load, tiny_corpus

NAMES = ["hsemotion", "ora10", "rt-iai-fixed", "rt-iai-paper"]
CUT = {"train.max_epochs": 1, "train.batch_size": 16, "features.face.max_epochs": 1,
       "features.device": "cpu"}


def test_recipes_are_listed_with_their_files_and_cite_a_source():
    recipes = list_recipes()
    assert [r.name for r in recipes] == NAMES
    for r in recipes:
        assert r.path.is_file() and r.path.parent.name == "recipes"
        text = recipe_text(r.name)
        assert text.startswith("# ") and r.source and r.title
        assert tomllib.loads(text)["baseline"] == r.config.baseline
    ora10 = read_recipe("ora10")
    assert ora10.splits == tuple(f"fold{k}" for k in range(1, 6))
    assert (ora10.post.method, ora10.post.window, ora10.post.exclude_imputed) == (
        "median", 3.4, True)
    paper = read_recipe("rt-iai-paper")
    assert (paper.config.train.lr, paper.config.train.batch_size) == (0.02, 4)
    with pytest.raises(HarnessError, match="unknown recipe 'ora9'; known recipes: hsemotion"):
        read_recipe("ora9")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """4 videos of 3 s: the official split (4 train, 1 validation) is all a recipe run needs."""
    root = tiny_corpus(tmp_path_factory.mktemp("recipes") / "corpus", videos=4)
    return root, load(root)


def test_missing_weights_are_substituted_and_said(tiny):
    root, release = tiny
    recipe = load_recipe("rt-iai-paper", data=root, overrides={"train.max_epochs": 2},
                         release=release)
    assert recipe.config.features.face.backbone == "light"
    assert recipe.config.features.face.weights is None and recipe.config.features.audio == "logmel"
    assert recipe.config.train.max_epochs == 2 and recipe.config.train.optimizer == "sgd"
    assert any("emonet needs its weights" in n for n in recipe.substituted)
    assert any("deepspectrum needs DenseNet121" in n for n in recipe.substituted)
    hse = load_recipe("hsemotion", data=root, release=release)
    assert hse.config.features.face.image_set == "cropped_aligned"
    assert any("onnx:enet_b0_8_best_vgaf.onnx is not on this machine" in n
               for n in hse.substituted)


def test_the_config_reader_names_the_file_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('baseline = "only_video"\n[train]\nlr = "fast"\n')
    with pytest.raises(HarnessError,
                       match=r"bad.toml: key 'train.lr' must be a number, not 'fast'"):
        run_config_from_dict(read_config_file(path), str(path))
    path.write_text('baseline = "only_video"\n[trian]\nlr = 1\n')
    with pytest.raises(HarnessError, match="bad.toml: unknown key 'trian'"):
        run_config_from_dict(read_config_file(path), str(path))
    cfg = load_recipe("ora10").config
    again = run_config_from_dict(tomllib.loads(config_toml(cfg)), "again")
    assert again.identity() == cfg.identity()


def test_ora10_reads_hf_faces_and_the_last_four_layers_of_hf_audio(tiny):
    """ORA10's extractors: DINOv2 faces and wav2vec2 audio (mean of its last four layers);
    without the model folders, both are substituted and the notes say so."""
    features = read_recipe("ora10").config.features
    assert features.face.backbone.startswith("hf:") and features.audio.startswith("hf:")
    assert features.hf_audio.layers == "last4"
    root, release = tiny
    recipe = load_recipe("ora10", data=root, overrides=CUT, release=release)
    assert recipe.config.features.audio == "logmel"
    assert recipe.config.features.hf_audio.layers == "last"
    assert any(n.startswith("audio: hf:") and "not on this machine" in n
               for n in recipe.substituted)


@pytest.mark.parametrize("name", NAMES)
def test_each_recipe_loads_with_its_epochs_cut(name, tiny):
    """Every recipe's config, cut and substituted, is a valid run (features checked too);
    running all four would train four systems: one runs end to end below."""
    from harness.api.extract import check_features

    root, release = tiny
    recipe = load_recipe(name, data=root, overrides=CUT, release=release)
    check_features(recipe.config.features)
    assert recipe.config.train.max_epochs == 1 and recipe.config.features.face.max_epochs == 1
    assert recipe.config.baseline == read_recipe(name).config.baseline


def test_harness_run_config_runs_a_recipe_and_its_filter(tiny, tmp_path, capsys):
    """hsemotion on one split: its ONNX model substituted (said on stderr), the run, then its
    box filter on that run alone (five folds would be five runs)."""
    root, _ = tiny
    code, out, err = cli(capsys, "run", "--config", "hsemotion", "--split", "official",
                         "--data", root, "--workdir", tmp_path, "--epochs", 1,
                         "--face-epochs", 1, "--batch-size", 16, "--device", "cpu",
                         "--threads", 1, "--quiet")
    assert code == 0, err
    assert "recipe hsemotion:" in err and "is not on this machine" in err
    runs = sorted((tmp_path / "runs").iterdir())
    (run,) = [p for p in runs if "+" not in p.name]
    config = json.loads((run / "config.json").read_text())
    assert config["baseline"] == read_recipe("hsemotion").config.baseline
    assert config["features"]["face"]["backbone"] == "light"
    (derived,) = [p for p in runs if p != run]
    post = read_recipe("hsemotion").post
    assert derived.name.startswith(f"{config['baseline']}+{post.method}-")
    assert (derived / "metrics.json").is_file()


def test_harness_recipes_lists_and_shows(capsys):
    code, out, _ = cli(capsys, "recipes")
    assert code == 0
    for r in list_recipes():
        assert r.name in out and str(r.path) in out
    code, out, _ = cli(capsys, "recipes", "--show", "ora10")
    assert code == 0 and out == recipe_text("ora10")
    code, _, err = cli(capsys, "recipes", "--show", "ora9")
    assert code == 2 and "unknown recipe 'ora9'" in err
