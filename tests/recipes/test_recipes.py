"""Shipped recipes: listed with their paths, shown as written, loaded as RunConfig, and run."""

from __future__ import annotations

import pytest
import tomllib

from harness.config_files import read_config_file
from harness.errors import HarnessError
from harness.recipes import list_recipes, load_recipe, read_recipe, recipe_text, run_recipe
from harness.recipes.config import config_toml, run_config_from_dict

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


def test_missing_weights_are_substituted_and_said():
    recipe = load_recipe("rt-iai-paper", overrides={"train.max_epochs": 2})
    assert recipe.config.features.face.backbone == "light"
    assert recipe.config.features.face.weights is None and recipe.config.features.audio == "logmel"
    assert recipe.config.train.max_epochs == 2 and recipe.config.train.optimizer == "sgd"
    assert any("emonet needs its weights" in n for n in recipe.substituted)
    assert any("deepspectrum needs DenseNet121" in n for n in recipe.substituted)
    hse = load_recipe("hsemotion")
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


@pytest.mark.parametrize("name", NAMES)
def test_each_recipe_runs_with_epochs_cut(name, synth_root, synth_release, tmp_path):
    """One split each (ORA10's fold set would be five runs): the recipe's filter then runs
    on that run alone."""
    done = run_recipe(name, data=synth_root, workdir=tmp_path, overrides=CUT,
                      splits=["official"], quiet=True, threads=1, release=synth_release)
    (result,) = done.runs
    assert result.baseline == read_recipe(name).config.baseline
    assert (result.run_dir / "metrics.json").is_file()
    recipe = done.recipe
    if recipe.post is not None:
        assert done.derived.folder.is_finished
        assert f"+{recipe.post.method}(" in done.derived.label
    else:
        assert done.derived is None
