"""``harness.recipes_list`` and ``harness.recipes_show``: the shipped recipes (known systems as
TOML files inside the package) and one recipe's file as written. ``harness.run(config=NAME)``
runs one (``harness.api.run``)."""

from __future__ import annotations

from pathlib import Path

from harness.recipes import Recipe, list_recipes, recipe_path, recipe_text


def recipes_list() -> list[Recipe]:
    """Every shipped recipe: name, title, source and its file's path (``harness recipes``)."""
    return list_recipes()


def recipes_show(name: str | Path) -> tuple[Path, str]:
    """A recipe's file (by name, or a recipe file's path) and its text, comments and all
    (``harness recipes --show NAME``)."""
    return recipe_path(name), recipe_text(name)
