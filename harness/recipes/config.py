"""RunConfig to TOML (``best.toml``, recipes), and back through the house loader.

Reading is ``harness.config_files`` (the one typed loader of ``--config``); this module only
adds the writer, which the loader lacks: the nested keys of ``dataclasses.asdict(RunConfig)``
as TOML, so ``harness run --config best.toml`` reads back what ``harness tune`` wrote.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

#: RunConfig keys that say where and how a run happens, not what it is: ``best.toml`` and the
#: recipes leave them to the command line or the environment.
ENVIRONMENT_KEYS = ("data", "out", "resume", "quiet", "threads", "track")


def run_config_from_dict(keys: Mapping, source: str = "config"):
    """A ``RunConfig`` from nested keys through the house loader (``harness.config_files``):
    an unknown key or a wrong type is an error naming ``source`` (the file) and the key."""
    from harness.config_files import load_dataclass
    from harness.runs import RunConfig

    return load_dataclass(RunConfig, keys, source=source)


def config_toml(cfg, header: str = "", drop: tuple[str, ...] = ENVIRONMENT_KEYS) -> str:
    """``cfg`` (a RunConfig) as TOML with the nested keys; ``None`` values are left out (TOML
    has no null, and each is its field's default or a key the reader leaves at None)."""
    keys = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in drop}
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    return "\n".join([*lines, *_table(keys, "")]) + "\n"


def _table(keys: Mapping, name: str) -> list[str]:
    scalars = [f"{_key(k)} = {_toml(v)}" for k, v in keys.items()
               if v is not None and not isinstance(v, Mapping)]
    out = (["", f"[{name}]"] if name else []) + scalars
    for k, v in keys.items():
        if isinstance(v, Mapping):
            out += _table(v, f"{name}.{_key(k)}" if name else _key(k))
    return out


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))  # a TOML basic string is a JSON string
