"""Recipes: known systems as TOML files shipped inside the package (``harness recipes``).

A recipe is a run configuration in the nested keys of a run folder's ``config.json`` (what
``harness run --config`` reads), a comment citing where the system comes from, and a
``[recipe]`` table the run configuration does not hold: a title, the source, the splits the
system trains on and, in ``[recipe.post]``, the temporal filter applied after (to the five
fold models' averaged logits when the splits are the folds, else to the one run).

Real weights a recipe names (EmoNet, DenseNet121, an ONNX or Hugging Face model) are often not
on the machine, and never for the embedded corpus: ``load_recipe`` substitutes the embedded
defaults for what is missing and says what it substituted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from harness.config_files import read_config_file
from harness.errors import HarnessError
from harness.recipes.config import run_config_from_dict

#: The table of a recipe file that is not run configuration.
RECIPE_TABLE = "recipe"
_POST_KEYS = ("method", "window", "exclude_imputed")


@dataclass(frozen=True)
class Post:
    """The temporal filter a recipe applies after its runs (``harness smooth``/``ensemble``)."""

    method: str
    window: float
    exclude_imputed: bool = False


@dataclass
class Recipe:
    name: str
    path: Path
    title: str
    source: str
    splits: tuple[str, ...]
    post: Post | None
    config: Any  # RunConfig, as the file writes it (before any substitution)
    substituted: list[str] = field(default_factory=list)  # what load_recipe replaced, and why


def recipe_dir() -> Path:
    """Where the shipped recipes are (inside the installed package)."""
    return Path(str(resources.files("harness.recipes")))


def list_recipes() -> list[Recipe]:
    """Every shipped recipe, by name, with its file's path (``harness recipes``)."""
    return [read_recipe(p) for p in sorted(recipe_dir().glob("*.toml"))]


def recipe_path(name: str | Path) -> Path:
    """A shipped recipe's file by name (``ora10``), or a recipe file's path."""
    path = Path(name)
    if path.suffix == ".toml" and path.is_file():
        return path
    shipped = recipe_dir() / f"{name}.toml"
    if not shipped.is_file():
        known = ", ".join(p.stem for p in sorted(recipe_dir().glob("*.toml")))
        raise HarnessError(f"unknown recipe {str(name)!r}; known recipes: {known}")
    return shipped


def recipe_text(name: str | Path) -> str:
    """A recipe's file as written, comments and all (``harness recipes --show NAME``)."""
    return recipe_path(name).read_text(encoding="utf-8")


def read_recipe(name: str | Path) -> Recipe:
    """A recipe as its file writes it: the run configuration and the ``[recipe]`` table."""
    path = recipe_path(name)
    keys = read_config_file(path)
    meta = keys.pop(RECIPE_TABLE, None)
    if not isinstance(meta, Mapping):
        raise HarnessError(f"{path}: a recipe needs a [{RECIPE_TABLE}] table (title, source, "
                           "splits)")
    config = run_config_from_dict(keys, source=str(path))
    unknown = sorted(set(meta) - {"title", "source", "splits", "post"})
    if unknown:
        raise HarnessError(f"{path}: unknown key {RECIPE_TABLE}.{unknown[0]}")
    splits = meta.get("splits", [config.split])
    if not isinstance(splits, list) or not splits or not all(isinstance(s, str) for s in splits):
        raise HarnessError(f"{path}: {RECIPE_TABLE}.splits must be a list of split names")
    return Recipe(path.stem, path, str(meta.get("title", path.stem)), str(meta.get("source", "")),
                  tuple(splits), _post(path, meta.get("post")), config)


def _post(path: Path, post: Any) -> Post | None:
    if post is None:
        return None
    if not isinstance(post, Mapping) or set(post) - set(_POST_KEYS) or "method" not in post:
        raise HarnessError(f"{path}: [{RECIPE_TABLE}.post] takes method, window (seconds) and "
                           "exclude_imputed")
    from harness.postprocess import PostConfig

    cfg = PostConfig(method=post["method"], window=float(post.get("window", 3.4)),
                     exclude_imputed=bool(post.get("exclude_imputed", False)))
    return Post(cfg.method, cfg.window, cfg.exclude_imputed)


def load_recipe(name: str | Path, *, data: Path | None = None,
                overrides: Mapping[str, Any] | None = None, release=None) -> Recipe:
    """A recipe ready to run on ``data`` (None: the embedded corpus): ``overrides`` (nested
    keys as dotted names, ``{"train.max_epochs": 2}``) applied, then every weight file or
    model it names that is not there replaced by the embedded default, said in
    ``substituted``. ``release``: the one loaded from ``data``, if at hand."""
    recipe = read_recipe(name)
    keys = dataclasses.asdict(recipe.config)
    for dotted, value in (overrides or {}).items():
        *tables, last = dotted.split(".")
        node = keys
        for t in tables:
            node = node.setdefault(t, {})
        node[last] = value
    keys["data"] = None if data is None else str(data)
    keys = _jsonable(keys)
    notes = _substitute(keys, data, release)
    recipe.config = run_config_from_dict(keys, source=str(recipe.path))
    recipe.substituted = notes
    return recipe


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def _present(path: str | None) -> bool:
    return bool(path) and Path(path).expanduser().exists()


def _substitute(keys: dict, data: Path | None, release) -> list[str]:
    """Replace what is not on this machine by the embedded defaults; say each replacement."""
    from harness.features.extract import FeatureConfig

    face, feats, notes = keys["features"]["face"], keys["features"], []
    defaults = FeatureConfig()  # its face config: FaceConfig's module moves (issue 23)
    default_face, default_audio = defaults.face, defaults.audio
    backbone = str(face.get("backbone", default_face.backbone))
    missing = None
    if backbone == "emonet" and not _present(face.get("weights")):
        missing = f"emonet needs its weights ({face.get('weights') or 'features.face.weights'})"
    elif backbone.startswith(("hf:", "onnx:")) and not _present(backbone.split(":", 1)[1]):
        missing = f"{backbone} is not on this machine"
    if missing:
        face.update(backbone=default_face.backbone, weights=None, finetune=None,
                    lr_backbone=None)
        for key in ("hf", "finetune_blocks", "layer_decay"):  # the hf: model's own options
            face.pop(key, None)
        notes.append(f"face backbone: {missing}; substituted {default_face.backbone!r} "
                     "fine-tuned from scratch (the embedded default)")
    image_set = face.get("image_set", default_face.image_set)
    if image_set != default_face.image_set and not _has_crops(data, release):
        where = "the embedded corpus" if data is None else str(data)
        notes.append(f"face images: {where} has no {image_set!r} faces; substituted "
                     f"{default_face.image_set!r}")
        face["image_set"] = default_face.image_set
    if feats.get("audio") == "deepspectrum" and not _present(feats.get("audio_weights")):
        notes.append(f"audio: deepspectrum needs DenseNet121 weights "
                     f"({feats.get('audio_weights') or 'features.audio_weights'}); substituted "
                     f"{default_audio!r} (the embedded default)")
        feats.update(audio=default_audio, audio_weights=None)
    audio = str(feats.get("audio", default_audio))
    if audio.startswith("hf:") and not _present(audio.split(":", 1)[1]):
        notes.append(f"audio: {audio} is not on this machine; substituted {default_audio!r} "
                     "(the embedded default)")
        feats.update(audio=default_audio)
        feats.pop("hf_audio", None)  # the hf: model's own options
    return notes


def _has_crops(data: Path | None, release) -> bool:
    """Whether the release holds the non-aligned ``cropped`` faces."""
    if release is None:
        from harness.data.release import load_release

        release = load_release(data)
    return bool(release.layout.cropped_roots)


@dataclass
class RecipeResult:
    recipe: Recipe
    runs: list  # RunResult per split
    derived: Any = None  # the post-processed run (harness.postprocess.Derived), if any


def run_recipe(name: str | Path, *, data: Path | None = None, workdir: Path = Path("harness-out"),
               overrides: Mapping[str, Any] | None = None, splits: Sequence[str] | None = None,
               quiet: bool = False, threads: int | None = None, release=None,
               on_result: Callable[[Any], None] | None = None) -> RecipeResult:
    """Run a recipe: each of its splits (``splits`` overrides them), then its filter: on the
    fold models' averaged logits when the runs are the five folds, else on each run alone
    (the last run's is returned). ``on_result`` is called as each run finishes."""
    from harness.console import err
    from harness.data.release import load_release
    from harness.postprocess import PostConfig, Where, ensemble, smooth
    from harness.runs import run_config

    release = release if release is not None else load_release(data)
    recipe = load_recipe(name, data=data, overrides=overrides, release=release)

    for note in recipe.substituted:
        err.print(f"[yellow]recipe {recipe.name}:[/yellow] {note}")
    runs = []
    for split in (tuple(splits) if splits else recipe.splits):
        cfg = dataclasses.replace(recipe.config, split=split, out=Path(workdir), quiet=quiet,
                                  threads=threads)
        cfg = run_config_from_dict(_jsonable(dataclasses.asdict(cfg)), str(recipe.path))
        runs.append(run_config(cfg, release))
        if on_result is not None:
            on_result(runs[-1])
    derived = None
    if recipe.post is not None:
        post = PostConfig(method=recipe.post.method, window=recipe.post.window,
                          exclude_imputed=recipe.post.exclude_imputed)
        where = Where(workdir=Path(workdir), data=data, release=release, quiet=quiet,
                      track=recipe.config.track)
        if {r.split for r in runs} >= {f"fold{k}" for k in range(1, 6)}:
            derived = ensemble([r.run_dir for r in runs], post=post, where=where)
        else:
            for r in runs:
                derived = smooth(r.run_dir, post, where)
    return RecipeResult(recipe, runs, derived)


__all__ = ["RECIPE_TABLE", "Post", "Recipe", "RecipeResult", "list_recipes", "load_recipe",
           "read_recipe", "recipe_dir", "recipe_path", "recipe_text", "run_recipe"]
