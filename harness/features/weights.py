"""The one safe way to load weights into a model (face backbones, the audio DenseNet).

Weights are only ever read as state dicts (``torch.load(..., weights_only=True)``): a pickled
whole model runs arbitrary code when unpickled and breaks when module paths move (defect 13 of
the seed release), so such a file is refused with a message saying how to re-save it.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from harness.errors import HarnessError

#: Wrapper keys under which training scripts commonly nest the state dict.
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")
_PREFIX = "module."


@dataclass
class LoadReport:
    missing: list[str]
    unexpected: list[str]
    loaded: int = field(default=0)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from ``path``: unwrap ``{"state_dict": ...}``, strip ``module.``.

    Refuses, with a message naming the file, anything that is not a mapping of names to tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"weights file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "unsupported global" not in str(exc).lower():  # random bytes, not a pickled class
            raise _unreadable(path, exc) from None
        raise HarnessError(
            f"{path}: refused: this file is not a plain state dict (it looks like a pickled "
            "whole model, which could run code when loaded). Re-save it with "
            "torch.save(model.state_dict(), path)."
        ) from exc
    except Exception as exc:  # noqa: BLE001 -- IndexError, KeyError, RuntimeError...: all mean
        raise _unreadable(path, exc) from None  # a file torch cannot read as weights
    return _as_state_dict(obj, path)


def _unreadable(path: Path, exc: BaseException) -> HarnessError:
    text = " ".join(str(exc).split())
    text = text.split("WeightsUnpickler error:")[-1].split(" Check the documentation")[0].strip()
    detail = f"{type(exc).__name__}: {text[:120]}".strip().rstrip(":")
    return HarnessError(f"{path}: not a PyTorch weights file torch can read ({detail}); "
                        "give a state dict saved with torch.save(model.state_dict(), path)")


def _as_state_dict(obj: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping):
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj:
        raise HarnessError(f"{path}: refused: expected a state dict (names -> tensors), "
                           f"got {type(obj).__name__}")
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise HarnessError(f"{path}: refused: not a state dict; entry {bad[0]!r} is not a tensor")
    return {_strip_prefix(str(k)): v for k, v in obj.items()}


def _strip_prefix(key: str) -> str:
    return key[len(_PREFIX):] if key.startswith(_PREFIX) else key


def apply_state_dict(
    model: nn.Module, state: Mapping[str, torch.Tensor], source: str | Path
) -> LoadReport:
    """Load ``state`` with ``strict=False`` after checking shapes; return what did not match."""
    own = model.state_dict()
    for key, value in state.items():
        if key in own and own[key].shape != value.shape:
            raise HarnessError(
                f"{source}: shape mismatch for {key!r}: file {tuple(value.shape)}, "
                f"model {tuple(own[key].shape)}"
            )
    result = model.load_state_dict(dict(state), strict=False)
    loaded = sum(1 for k in state if k in own)
    return LoadReport(list(result.missing_keys), list(result.unexpected_keys), loaded)


def load_state_dict_flexible(model: nn.Module, path: str | Path) -> LoadReport:
    """Load a local state dict into ``model`` (prefix and wrapper tolerant, shape strict)."""
    return apply_state_dict(model, read_state_dict(path), source=path)
