"""The leaderboard and the file formats import only downstream of the runs."""

from __future__ import annotations

from pathlib import Path


def test_leaderboard_and_submissions_import_downstream_only():
    """Data flows runs -> submissions -> leaderboard: never back into the harness's top."""
    import ast

    root = Path(__file__).resolve().parents[2]
    banned = ("harness.publish", "harness.reports", "harness.api", "harness.runs", "harness.cli")
    for path in [*(root / "leaderboard").glob("*.py"), *(root / "submissions").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.startswith(banned)], (path.name, names)
