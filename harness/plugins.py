"""Importing a user's own module (a baseline, say) by dotted name or by ``.py`` path.

Any failure while importing becomes one ``HarnessError`` naming the module, so the CLI reports a
user's broken file in one line instead of a traceback through the harness.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from harness.errors import HarnessError


def import_user_module(module_path: str, what: str = "plug-in") -> ModuleType:
    """Import ``"mypkg.mymodel"`` (found on ``sys.path``) or ``"path/to/model.py"``."""
    if looks_like_file(module_path):
        return _import_file(Path(module_path), what)
    return _import_dotted(module_path, what)


def looks_like_file(module_path: str) -> bool:
    """Paths end in .py or contain a separator; dotted module names do neither."""
    return module_path.endswith(".py") or "/" in module_path or "\\" in module_path


def _import_dotted(name: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise HarnessError(f"cannot import {what} module {name!r}: no such module on "
                               "sys.path (give a dotted module name or a path to a .py file)"
                               ) from exc
        raise HarnessError(f"{what} module {name!r} failed to import: {exc}") from exc
    except Exception as exc:
        raise HarnessError(f"{what} module {name!r} failed to import: "
                           f"{type(exc).__name__}: {exc}") from exc


def _import_file(path: Path, what: str) -> ModuleType:
    """Import a .py file under a name derived from its resolved path (stable across reloads)."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise HarnessError(f"{path}: no such {what} file")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    name = f"_user_{what}_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HarnessError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise HarnessError(f"{path}: {what} file failed to import: "
                           f"{type(exc).__name__}: {exc}") from exc
    return module
