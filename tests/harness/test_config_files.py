"""The one loader of typed configs from TOML/JSON files (harness.config_files)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from harness.config_files import load_dataclass, merge, nest, read_config_file, require
from harness.errors import HarnessError


@dataclass
class Inner:
    size: int | None = None
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    names: tuple[str, ...] = ()


@dataclass
class Outer:
    name: str
    rate: float = 1e-3
    on: bool = False
    where: Path | None = None
    inner: Inner = field(default_factory=Inner)
    tags: dict[str, str] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)


def test_nested_optional_tuple_path_dict_round_trip(tmp_path):
    made = Outer("x", 0.02, True, tmp_path, Inner(3, (1.0, 2.0, 3.0), ("a", "b")),
                 {"face": "peer"}, [1, 2])
    path = tmp_path / "c.json"
    path.write_text(json.dumps(asdict(made), default=str))  # as a run's config.json is written
    assert load_dataclass(Outer, read_config_file(path), source=str(path)) == made


def test_toml_and_defaults(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('name = "y"\nrate = 1\n[inner]\nsize = 7\n')
    got = load_dataclass(Outer, read_config_file(path), source=str(path))
    assert got == Outer("y", 1.0, inner=Inner(size=7))
    assert isinstance(got.rate, float)


@pytest.mark.parametrize("data, match", [
    ({"name": "x", "nope": 1}, r"f\.toml: unknown key 'nope'; Outer takes name, rate"),
    ({"name": "x", "inner": {"sise": 1}}, r"unknown key 'inner\.sise'"),
    ({"name": "x", "rate": "fast"}, r"key 'rate' must be a number, not 'fast'"),
    ({"name": "x", "on": 1}, r"key 'on' must be true or false, not 1"),
    ({"name": "x", "inner": {"size": 2.5}}, r"'inner\.size' must be an integer or null"),
    ({"name": "x", "inner": {"mean": [1, 2]}}, r"'inner\.mean' must be a list of 3"),
    ({"name": "x", "inner": {"names": ["a", 3]}}, r"'inner\.names\[1\]' must be a string"),
    ({"name": "x", "inner": 3}, r"'inner' must be a table of Inner keys"),
    ({"name": "x", "tags": {"face": 1}}, r"'tags\.face' must be a string"),
    ({"rate": 1.0}, r"missing key 'name' \(a string\)"),
])
def test_errors_name_the_file_the_key_and_what_was_expected(data, match):
    with pytest.raises(HarnessError, match=match):
        load_dataclass(Outer, data, source="f.toml")


def test_base_and_overrides():
    base = Outer("x", inner=Inner(size=3), tags={"face": "a"})
    got = load_dataclass(Outer, nest({"inner.names": ["n"], "tags.audio": "b"}), base=base)
    assert got.inner == Inner(size=3, names=("n",)) and got.name == "x"
    assert got.tags == {"face": "a", "audio": "b"}  # tables merge key by key
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(HarnessError, match="bad.toml: not valid TOML"):
        read_config_file(bad)
    with pytest.raises(HarnessError, match=r"is \.toml or \.json"):
        read_config_file(tmp_path / "x.yaml")
    with pytest.raises(HarnessError, match="cannot read config file"):
        read_config_file(tmp_path / "missing.json")
    listed = tmp_path / "list.json"
    listed.write_text("[1]")
    with pytest.raises(HarnessError, match="top level must be a table"):
        read_config_file(listed)


def test_require():
    require("--x", None, minimum=1)
    require("--x", 1, minimum=1)
    with pytest.raises(HarnessError, match="--x must be 1 or more, got 0"):
        require("--x", 0, minimum=1)
    with pytest.raises(HarnessError, match="--lr must be positive, got 0"):
        require("--lr", 0.0, positive=True)
    with pytest.raises(HarnessError, match="finite"):
        require("--lr", float("nan"), positive=True)


def test_real_configs_load_from_their_own_asdict(tmp_path):
    """RunConfig as runs.py writes it to config.json loads back equal (every field typed)."""
    from harness.api.extract import ExtractConfig
    from harness.api.postprocess import EnsembleConfig, SmoothConfig
    from harness.runs import RunConfig

    for cfg in (RunConfig("attention_fusion", split="fold2", out=tmp_path,
                          inputs={"face": "peer"}, threads=1),
                ExtractConfig(modalities=("pose",), shard="1/2"), SmoothConfig(run="r"),
                EnsembleConfig(runs=("a", "b"))):
        text = json.dumps(asdict(cfg), default=str)
        assert load_dataclass(type(cfg), json.loads(text), source="c.json") == cfg
