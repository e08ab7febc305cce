"""Typed configuration from files: TOML or JSON into the harness's config dataclasses.

A recipe file holds the same nested keys a run folder's ``config.json`` holds (the
``dataclasses.asdict`` shape of the config), so ``harness run --config runs/<run>/config.json``
re-runs a run. One loader serves every config: it walks the dataclass's type hints (nested
dataclasses, ``X | None``, tuples, lists, dicts, ``Path``, numbers, strings, booleans) and
refuses an unknown key or a value of the wrong type with a ``HarnessError`` naming the file,
the key and what was expected, before any work is done. Keys a file leaves out keep the
dataclass's documented defaults.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")

#: File suffixes the loader reads; anything else is refused by name.
SUFFIXES = (".toml", ".json")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The top-level table of a TOML or JSON file, or an error naming the file."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise HarnessError(f"{path}: a config file is .toml or .json, not {path.suffix or 'none'}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".toml":
            data = _toml().loads(text)
        else:
            data = json.loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError and JSONDecodeError both are
        raise HarnessError(f"{path}: not valid {path.suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: the top level must be a table of keys, not "
                           f"{type(data).__name__}")
    return data


def _toml():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib


def load_dataclass(cls: type[T], data: Mapping[str, Any], *, source: str = "config",
                   base: T | None = None) -> T:
    """``cls`` built from ``data``; keys ``data`` lacks come from ``base`` (else the defaults).

    ``source`` names where ``data`` came from (a file) in every error message.
    """
    return _dataclass(cls, data, source, "", base)


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` laid over it, nested tables merged key by key."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"train.lr": 0.02}`` -> ``{"train": {"lr": 0.02}}`` (dotted keys to nested tables)."""
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        *parents, last = dotted.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


def _dataclass(cls: type, data: Any, source: str, where: str, base: Any) -> Any:
    if not isinstance(data, Mapping):
        raise _wrong(source, where, f"a table of {cls.__name__} keys", data)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = _key(where, unknown[0])
        raise HarnessError(f"{source}: unknown key {key!r}; {cls.__name__} takes "
                           f"{', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        default = getattr(base, name) if base is not None else _default(f)
        if name in data:
            kwargs[name] = _value(hints[name], data[name], source, _key(where, name), default)
        elif default is not dataclasses.MISSING:
            kwargs[name] = default
        else:
            raise HarnessError(f"{source}: missing key {_key(where, name)!r} "
                               f"({_describe(hints[name])})")
    return cls(**kwargs)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _value(tp: Any, value: Any, source: str, key: str, default: Any = None) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for option in options:
            try:
                return _value(option, value, source, key, default)
            except HarnessError:
                if len(options) == 1 and typing.get_origin(option) is not None \
                        or dataclasses.is_dataclass(option):
                    raise  # the error inside a table or list says more
        raise _wrong(source, key, _describe(tp), value)
    if dataclasses.is_dataclass(tp):
        base = default if dataclasses.is_dataclass(default) else None
        return _dataclass(tp, value, source, key, base)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _wrong(source, key, _describe(tp), value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], v, source, f"{key}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise _wrong(source, key, _describe(tp), value)
        return tuple(_value(a, v, source, f"{key}[{i}]") for i, (a, v) in
                     enumerate(zip(args, value)))
    if origin is list:
        if not isinstance(value, list | tuple):
            raise _wrong(source, key, _describe(tp), value)
        return [_value(args[0], v, source, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _wrong(source, key, _describe(tp), value)
        base = dict(default) if isinstance(default, Mapping) else {}
        return base | {_value(args[0], k, source, key): _value(args[1], v, source, f"{key}.{k}")
                       for k, v in value.items()}
    return _scalar(tp, value, source, key)


def _scalar(tp: Any, value: Any, source: str, key: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise _wrong(source, key, "a finite number", value)
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is Path:
        if isinstance(value, str | Path) and str(value):
            return Path(value)
    else:
        raise HarnessError(f"{source}: key {key!r} has a type the config loader does not "
                           f"read ({tp})")
    raise _wrong(source, key, _describe(tp), value)


def _describe(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null (none)" if a is type(None) else _describe(a) for a in args)
    if dataclasses.is_dataclass(tp):
        return f"a table of {tp.__name__} keys"
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0])}"
        return f"a list of {len(args)}: " + ", ".join(_describe(a) for a in args)
    if origin is list:
        return f"a list of {_describe(args[0])}"
    if origin is dict:
        return f"a table of {_describe(args[1])}"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            Path: "a path (string)"}.get(tp, str(tp))


def _wrong(source: str, key: str, expected: str, value: Any) -> HarnessError:
    return HarnessError(f"{source}: key {key!r} must be {expected}, not {value!r}")


def _key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def require(name: str, value: float | None, *, minimum: float | None = None,
            positive: bool = False) -> None:
    """Refuse an out-of-range config value by name (``None`` means "use the default").

    Configs call this from ``__post_init__``, so a bad value stops the command before any
    folder is made, from the command line, a file or Python alike.
    """
    if value is None:
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise HarnessError(f"{name} must be a finite number, got {value}")
    if positive and not value > 0:
        raise HarnessError(f"{name} must be positive, got {value}")
    if minimum is not None and value < minimum:
        raise HarnessError(f"{name} must be {minimum} or more, got {value}")
