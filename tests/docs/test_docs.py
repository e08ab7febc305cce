"""The README stays a landing page and every documentation page is reachable from the site's nav.

`mkdocs build --strict` (run by `.ci/run`) catches broken links and anchors; these checks are the
fast part of the same promise, so a page added without a nav entry fails here first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README_MAX_LINES = 220

# The README's first two commands: set up and run the main job on the embedded corpus; set up
# and run the tests (.ci/run runs the second one).
FIRST_COMMANDS = [
    "pip install torch==2.13.0 && pip install -e . "
    "&& harness run attention_fusion --split official",
    'pip install torch==2.13.0 && pip install -e ".[dev]" && python -m ruff check . '
    "&& python -m pytest",
]


class _Loader(yaml.SafeLoader):
    """Reads mkdocs.yml, whose `!!python/name:` tags (some extensions need them) are not data."""


_Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def _nav_pages(node) -> list[str]:
    if isinstance(node, str):
        return [node] if node.endswith(".md") else []
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    return []


def _config() -> dict:
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)


def test_readme_is_a_landing_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move details to docs/")


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```[a-z]*\n(.*?)\n```", text, flags=re.S)
    assert blocks[:2] == FIRST_COMMANDS
    before = text[: text.index("```")].strip().splitlines()
    assert len(before) == 1 and before[0].startswith("# "), "only the title comes before them"


def test_every_docs_page_is_in_the_nav():
    config = _config()
    assert config.get("strict") is True
    nav = _nav_pages(config["nav"])
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(set(pages) - set(nav)) == [], "pages missing from mkdocs.yml's nav"
    assert sorted(set(nav) - set(pages)) == [], "nav entries without a page"
    assert len(nav) == len(set(nav)), "a page listed twice in the nav"


def test_readme_links_into_docs_exist():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\((docs/[^)#\s]+)", text)
    assert targets, "the README links into the docs"
    missing = sorted({t for t in targets if not (ROOT / t).is_file()})
    assert missing == []
