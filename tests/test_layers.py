"""The import order written in docs/architecture.md, enforced: no module imports a later layer.

The layer list is read from the document itself (the first fenced block under "## Layers"), so
the page and the code cannot drift apart. Lazy imports inside functions count like module-level
ones: they still make the lower layer depend on the upper one. Only imports under
``if TYPE_CHECKING:`` are exempt (they never run).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "baselines", "submissions", "leaderboard")


def read_layers() -> list[tuple[str, tuple[str, ...]]]:
    """``[(layer name, (path entries...)), ...]`` in import order, from the architecture page."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("\n## Layers\n", 1)[1]
    block = re.search(r"```[^\n]*\n(.*?)```", section, re.S)
    assert block, "docs/architecture.md: no fenced layer block under '## Layers'"
    layers = []
    for line in block.group(1).splitlines():
        if line.strip():
            name, *entries = line.split()
            layers.append((name, tuple(entries)))
    return layers


def layer_of(path: str, layers: list[tuple[str, tuple[str, ...]]]) -> int | None:
    """A file's layer: the entry naming the file itself, else the deepest folder holding it."""
    best, depth = None, -1
    for i, (_, entries) in enumerate(layers):
        for entry in entries:
            if entry == path:
                return i
            if entry.endswith("/") and path.startswith(entry) and len(entry) > depth:
                best, depth = i, len(entry)
    return best


def module_file(module: str) -> str | None:
    """The repository file a dotted module name is, or None when it is not one of ours."""
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    while parts:
        base = Path(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if (ROOT / candidate).is_file():
                return candidate.as_posix()
        parts.pop()  # ``from package import name``: name is an attribute, not a module
    return None


def is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[str, int]]:
    """Every module ``path`` imports, wherever the import statement is, with its line."""
    rel = path.relative_to(root).with_suffix("").parts
    package = rel[:-1]  # a module's package; for __init__.py, the package itself
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if is_type_checking(child):
                for other in child.orelse:
                    visit_node(other)
            else:
                visit_node(child)

    def visit_node(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.extend((f"{module}.{alias.name}", node.lineno) for alias in node.names)
        visit(node)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def sources() -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix()
                  for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_every_module_has_a_layer_and_every_entry_exists():
    layers = read_layers()
    assert [name for name, _ in layers][0] == "foundation"
    missing = [path for path in sources() if layer_of(path, layers) is None]
    assert missing == [], "modules in no layer of docs/architecture.md"
    stale = [e for _, entries in layers for e in entries if not (ROOT / e).exists()]
    assert stale == [], "layer entries that name nothing"


def test_no_module_imports_a_later_layer():
    layers = read_layers()
    upward = []
    for path in sources():
        mine = layer_of(path, layers)
        for module, line in imported_modules(ROOT / path):
            target = module_file(module)
            theirs = None if target is None else layer_of(target, layers)
            if theirs is not None and mine is not None and theirs > mine:
                upward.append(f"{path}:{line} ({layers[mine][0]}) imports {module} "
                              f"({layers[theirs][0]})")
    assert upward == []


def test_the_checker_sees_lazy_imports_and_skips_type_checking(tmp_path):
    """The checker itself: a function-level import is found, a TYPE_CHECKING one is not."""
    source = tmp_path / "harness" / "probe.py"
    source.parent.mkdir()
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    import harness.cli\nelse:\n    import harness.api\n"
                      "def f():\n    from .runs import run\n")
    found = [m for m, _ in imported_modules(source, tmp_path)]
    assert found == ["typing.TYPE_CHECKING", "harness.api", "harness.runs.run"]
