"""The harness as Python functions: one a command, same defaults, same errors.

``harness.run("attention_fusion", split="all")`` does what ``harness run attention_fusion
--split all`` does and raises the ``HarnessError`` the command prints. Each function returns a
result object (a dataclass) that the command line renders (``harness.cli``); nothing here
prints tables. The modules that train nothing (``submit``, ``leaderboard``, ``data``) import
neither torch nor scikit-learn until a function needs them, so ``harness validate`` starts fast.

Modules: ``data`` (data_synth, data_info, splits, baselines), ``extract``, ``run``,
``submit`` (submit, validate), ``postprocess`` (smooth, ensemble), ``leaderboard``, ``bench``,
``tune``, ``recipes`` (recipes_list, recipes_show), ``mtl`` (mtl_info, mtl_splits,
mtl_validate: ``data info``, ``splits`` and ``validate`` with ``--task mtl``), ``report``
(report_results);
``common`` holds what they share (loading a release, rank 0, user modules, option values).
"""

from __future__ import annotations

import importlib

#: Public function -> the module that defines it (``harness.<name>`` resolves through this).
FUNCTIONS: dict[str, str] = {
    "data_synth": "harness.api.data",
    "data_info": "harness.api.data",
    "splits": "harness.api.data",
    "baselines": "harness.api.data",
    "extract": "harness.api.extract",
    "run": "harness.api.run",
    "submit": "harness.api.submit",
    "validate": "harness.api.submit",
    "smooth": "harness.api.postprocess",
    "ensemble": "harness.api.postprocess",
    "leaderboard": "harness.api.leaderboard",
    "bench": "harness.api.bench",
    "tune": "harness.api.tune",
    "recipes_list": "harness.api.recipes",
    "recipes_show": "harness.api.recipes",
    "mtl_info": "harness.api.mtl",
    "mtl_splits": "harness.api.mtl",
    "mtl_validate": "harness.api.mtl",
    "report_results": "harness.api.report",
}

__all__ = sorted(FUNCTIONS)


def __getattr__(name: str):
    if name in FUNCTIONS:
        return getattr(importlib.import_module(FUNCTIONS[name]), name)
    raise AttributeError(f"module 'harness.api' has no attribute {name!r}")
