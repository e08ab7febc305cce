"""Frozen face backbones chosen by a scheme: ``--backbone <scheme>:<location>``.

A registered backbone (``light``, ``emonet``) is built from code and may be fine-tuned; a scheme
reads a whole pretrained model from somewhere (``onnx:model.onnx`` today, ``hf:folder`` next) and
always serves it frozen. Each scheme is one module that registers a ``BackboneScheme``; nothing
else knows its prefix. The interface a scheme provides:

- ``prefix``: the text before ``:`` (``"onnx"``); also names its feature cache
  (``face-<prefix>-<hash>``).
- ``locate(rest) -> Path``: the model's file or folder from the text after ``:``; an error
  naming it when it is missing.
- ``digest(path) -> str``: the model's content identity, for the run's config hash
  (``FaceConfig.identity``): the same model anywhere gives the same hash, another one another.
- ``load(path, cfg, device) -> encoder``: the frozen model, ready on ``device``. The encoder is
  a callable from a face batch ``(B, 3, S, S)`` float32 RGB in [0, 1] (the face data path's
  uint8 crops resized to ``S`` and scaled, on the run's device) to features ``(B, D)`` (float, any
  device), with attributes ``input_size`` (S), ``feature_dim`` (D), and ``identity() -> dict``
  (JSON-able: the model's content and every preprocessing option its features depend on),
  which keys the feature cache. Its own preprocessing (channel order, mean, std, size) comes
  from ``cfg.onnx`` (``OnnxBackboneConfig``: the one set of preprocessing options of a frozen
  backbone, ``--onnx-*`` on the command line) or from the model's own files.
- ``shown(rest) -> str`` (optional): how run.json and tables name the model (default: the
  name of the file or folder ``locate`` finds).
- ``check(cfg)``: refuse, before any data is read, options that cannot work with the scheme.
- ``require()``: fail fast, with how to install it, when an optional dependency is missing.
- ``trainable(path, cfg) -> nn.Module`` (optional): the model as a module stage 1 can fine-tune
  (``--finetune``; CPU, float32, the same features as ``load``'s in eval mode). A scheme without
  it is always frozen. See ``harness.features.face.finetune`` for what a module must offer.

The built-in schemes are the modules of ``BUILTIN_SCHEMES`` (those present are imported on the
first look-up); a scheme elsewhere registers when its module is imported.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.registry import Registry

#: Modules whose import registers a scheme (absent ones are skipped).
BUILTIN_SCHEMES = ("harness.features.face.onnx", "harness.features.huggingface")
SEPARATOR = ":"


@dataclass(frozen=True)
class BackboneScheme:
    prefix: str
    locate: Callable[[str], Path]
    digest: Callable[[Path], str]
    load: Callable[[Path, Any, Any], Any]  # (path, FaceConfig, torch.device) -> encoder
    check: Callable[[Any], None] = field(default=lambda cfg: None)
    require: Callable[[], None] = field(default=lambda: None)
    shown: Callable[[str], str] | None = None  # (rest) -> the model's name in tables
    trainable: Callable[[Path, Any], Any] | None = None  # (path, FaceConfig) -> nn.Module

    def label(self, rest: str) -> str:
        return self.shown(rest) if self.shown is not None else self.locate(rest).name


SCHEMES: Registry[BackboneScheme] = Registry("backbone scheme")
_loaded = False


def register_scheme(scheme: BackboneScheme, *, owner: str) -> BackboneScheme:
    SCHEMES.add(scheme.prefix, scheme, owner=owner)
    return scheme


def _load_builtin() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_SCHEMES:
            try:
                found = importlib.util.find_spec(module) is not None
            except ModuleNotFoundError:
                found = False
            if found:
                importlib.import_module(module)


def scheme_of(backbone: str) -> BackboneScheme | None:
    """The scheme of ``<scheme>:<location>``; None for a registered backbone's plain name.

    A prefix that is no scheme is refused with the known ones.
    """
    if SEPARATOR not in backbone:
        return None
    _load_builtin()
    return SCHEMES.get(backbone.split(SEPARATOR, 1)[0])


def location(backbone: str) -> Path:
    """The model file or folder of ``<scheme>:<location>`` (an error when it is missing)."""
    scheme = scheme_of(backbone)
    if scheme is None:
        raise ValueError(f"{backbone!r} names no backbone scheme")
    return scheme.locate(backbone.split(SEPARATOR, 1)[1])


def schemes() -> list[str]:
    _load_builtin()
    return SCHEMES.names()
