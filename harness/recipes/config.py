"""RunConfig from nested keys (TOML or JSON, as a run folder's ``config.json``) and back to TOML.

A small stand-in for the ``--config`` loader of the CLI (issue 23): the same nested keys as
``dataclasses.asdict(RunConfig)``, an unknown key or a wrong type is an error naming the file
and the key. Recipes and ``harness tune``'s ``best.toml`` are read and written with it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomllib

from harness.errors import HarnessError

#: RunConfig keys that say where and how a run happens, not what it is: ``best.toml`` and the
#: recipes leave them to the command line or the environment.
ENVIRONMENT_KEYS = ("data", "out", "resume", "quiet", "threads", "track")


def read_nested(path: Path) -> dict:
    """The keys of a TOML (``.toml``) or JSON file, or an error naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise HarnessError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}"
                           f" ({exc})") from None


def run_config_from_dict(keys: Mapping, source: str = "config"):
    """A ``RunConfig`` from nested keys; ``source`` names the file in errors."""
    from harness.runs import RunConfig

    if "baseline" not in keys:
        raise HarnessError(f"{source}: no 'baseline' key (which baseline to run)")
    return _build(RunConfig, keys, source, "")


def _build(cls, keys: Mapping, source: str, prefix: str):
    if not isinstance(keys, Mapping):
        raise HarnessError(f"{source}: {prefix.rstrip('.') or 'the file'} must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in keys if k not in fields]
    if unknown:
        raise HarnessError(f"{source}: unknown key {prefix}{unknown[0]} (known: "
                           f"{', '.join(fields)})")
    defaults = cls(**({"baseline": keys["baseline"]} if "baseline" in fields else {}))
    values = {}
    for name, value in keys.items():
        default = getattr(defaults, name)
        key = f"{prefix}{name}"
        if dataclasses.is_dataclass(default):
            values[name] = _build(type(default), value, source, key + ".")
        else:
            values[name] = _value(value, default, fields[name].type, source, key)
    try:
        return dataclasses.replace(defaults, **values)
    except (TypeError, ValueError) as exc:
        raise HarnessError(f"{source}: {prefix.rstrip('.') or 'run'}: {exc}") from None


def _value(value: Any, default: Any, annotation: str, source: str, key: str) -> Any:
    """Check ``value`` against the field's declared type (annotations are strings here)."""
    text = str(annotation)
    if value is None and "None" in text:
        return None
    expected: tuple[type, ...]
    if "Path" in text:
        expected, convert = (str,), Path
    elif text.startswith(("dict", "Mapping")):
        expected, convert = (dict,), dict
    elif text.startswith("tuple"):
        expected, convert = (list, tuple), tuple
    elif text.startswith("bool"):
        expected, convert = (bool,), bool
    elif text.startswith("int"):
        expected, convert = (int,), int
    elif text.startswith("float"):
        expected, convert = (int, float), float
    elif text.startswith("str"):
        expected, convert = (str,), str
    else:  # a type this reader does not know: take it as given
        return value
    if isinstance(value, bool) and bool not in expected:
        expected = ()
    if not isinstance(value, expected):
        raise HarnessError(f"{source}: {key} = {value!r}: expected {text} "
                           f"(default {default!r})")
    return convert(value)


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
