"""Commands that train nothing pay for nothing: no torch, no scikit-learn at import time.

Each module is imported in a fresh interpreter, as ``harness validate`` would import it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

#: The CLI and API modules of validate, submit, leaderboard, splits and data info (and the
#: package facade and the CLI app itself, which every command loads).
LIGHT = ("harness", "harness.cli", "harness.cli.submit", "harness.api.submit",
         "harness.cli.leaderboard", "harness.api.leaderboard", "harness.cli.splits",
         "harness.cli.data", "harness.api.data", "harness.cli.tables")
HEAVY = ("torch", "sklearn")


def _loaded_after(code: str) -> list[str]:
    probe = (f"import sys\n{code}\n"
             f"print('loaded:', *[m for m in {HEAVY!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout.splitlines()[-1].split()[1:]


@pytest.mark.parametrize("module", LIGHT)
def test_module_imports_neither_torch_nor_sklearn(module):
    assert _loaded_after(f"import {module}") == []


def test_validate_runs_without_torch_or_sklearn(tmp_path):
    """Not only the import: a whole ``harness validate`` never loads them."""
    from tests.conftest import write_template

    tpl = write_template(tmp_path / "template.txt", {"a": 3, "b_left": 2})
    sub = tmp_path / "sub.txt"
    sub.write_text(tpl.read_text().replace(",\n", ",1\n"))
    code = ("from harness.cli import app\n"
            f"try:\n    app(['validate', {str(sub)!r}, '--template', {str(tpl)!r}])\n"
            "except SystemExit as e:\n    assert not e.code, e.code")
    assert _loaded_after(code) == []
