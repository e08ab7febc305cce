"""abaw-harness: reproduce, compare and submit Aff-Wild2 expression (EXPR) systems.

The package follows the data flow of the challenge, one way:
``harness.data`` (release reader, embedded corpus, splits) -> ``harness.features`` (face, audio,
pose, cache, time windows) -> ``baselines`` -> ``harness.runs`` (the one loop in
``harness.train``, run folders) -> ``submissions`` -> ``leaderboard``. ``harness.api`` holds one
function a command, and ``harness.cli`` is a thin typer layer over it.

Every command is a function here, with the command's defaults and errors (``HarnessError``)::

    import harness
    harness.run("attention_fusion", split="all", epochs=2)
    harness.validate("submission.txt", template="template.txt").valid

They are loaded on first use (module ``__getattr__``), so ``import harness`` stays light and
no module deep in the flow imports this facade.
"""

from __future__ import annotations

import importlib

from harness.api import FUNCTIONS
from harness.version import __version__

#: Public name -> the module that defines it (the commands' functions live in ``harness.api``).
_LAZY: dict[str, str] = FUNCTIONS | {"load_release": "harness.data.release"}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # once found, an ordinary attribute
        return value
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
