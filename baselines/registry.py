"""The baseline registry: the trainer asks it for models and never imports a baseline by name.

Modelled on timm's ``register_model``: each baseline lives in one file whose builder function is
decorated with :func:`register_baseline`; the decorator records the name, the module, the
modalities the baseline consumes and how the runner must treat it (``trains``, ``init_from``,
``temporal``). A user's own file registers the same way and is loaded with
:func:`load_baseline_module`.

Example:
    >>> from baselines import create_baseline, get_baseline
    >>> get_baseline("attention_fusion").modalities
    ('face', 'audio', 'pose')
    >>> model = create_baseline("only_video", {"face": 256})
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from torch import nn

from harness.data.labels import NUM_CLASSES
from harness.errors import HarnessError

__all__ = [
    "MODALITIES",
    "BaselineSpec",
    "DuplicateBaselineError",
    "UnknownBaselineError",
    "count_parameters",
    "create_baseline",
    "get_baseline",
    "list_baselines",
    "load_baseline_module",
    "register_baseline",
    "unregister_baseline",
]

#: Every modality a baseline may declare, in the one order used everywhere.
MODALITIES: tuple[str, ...] = ("face", "audio", "pose")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_REGISTRY: dict[str, BaselineSpec] = {}


class UnknownBaselineError(HarnessError, KeyError):
    """No baseline has this name. Also a ``KeyError``, so ``except KeyError`` keeps working."""

    def __str__(self) -> str:  # KeyError would repr() the message, quotes and all
        return str(self.args[0]) if self.args else ""


class DuplicateBaselineError(HarnessError, ValueError):
    """Two different modules tried to register the same baseline name."""


@dataclass(frozen=True)
class BaselineSpec:
    """Everything the runner needs to know about a baseline, so it needs to know nothing else.

    ``trains=False`` means the weights come from an earlier stage (``init_from`` names which);
    ``temporal=False`` means the model reads only the current step (``CURRENT_STEP``) of a window.
    """

    name: str
    modalities: tuple[str, ...]
    builder: Callable[..., nn.Module]
    module: str
    description: str
    trains: bool = True
    init_from: str | None = None
    temporal: bool = True

    def create(self, dims: Mapping[str, int], num_classes: int = NUM_CLASSES,
               **kwargs) -> nn.Module:
        """Build this baseline; same as ``create_baseline(self.name, ...)``."""
        dims = _check_dims(self, dims)
        if not isinstance(num_classes, int) or num_classes < 2:
            raise HarnessError(f"baseline {self.name!r}: num_classes must be an int >= 2, "
                               f"got {num_classes!r}")
        model = self.builder(dims, num_classes=num_classes, **kwargs)
        if not isinstance(model, nn.Module):
            raise HarnessError(f"baseline {self.name!r}: builder {self.module}."
                               f"{getattr(self.builder, '__name__', '?')} returned "
                               f"{type(model).__name__}, not an nn.Module")
        return model


def _normalise_modalities(name: str, modalities: object) -> tuple[str, ...]:
    """Check the declared modalities and put them in the canonical ``MODALITIES`` order."""
    if isinstance(modalities, str) or not isinstance(modalities, (tuple, list)):
        raise ValueError(f"baseline {name!r}: modalities must be a tuple such as ('face',), "
                         f"got {modalities!r}")
    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown or not modalities or len(set(modalities)) != len(modalities):
        raise ValueError(f"baseline {name!r}: modalities must be a non-empty subset of "
                         f"{MODALITIES} without repeats, got {tuple(modalities)!r}")
    return tuple(m for m in MODALITIES if m in modalities)


def _check_dims(spec: BaselineSpec, dims: Mapping[str, int]) -> dict[str, int]:
    """Return the dims of the declared modalities only, refusing missing or non-positive sizes."""
    if not isinstance(dims, Mapping):
        raise HarnessError(f"baseline {spec.name!r}: dims must be a mapping such as "
                           f"{{'face': 256}}, got {type(dims).__name__}")
    missing = [m for m in spec.modalities if m not in dims]
    if missing:
        raise HarnessError(f"baseline {spec.name!r} needs feature sizes for {missing} "
                           f"(declares {spec.modalities}); dims has {sorted(dims)}")
    out: dict[str, int] = {}
    for m in spec.modalities:
        size = dims[m]
        if isinstance(size, (bool, str, bytes)) or not _is_positive_int(size):
            raise HarnessError(f"baseline {spec.name!r}: dims[{m!r}] must be a positive int, "
                               f"got {size!r}")
        out[m] = int(size)
    return out


def _is_positive_int(value: object) -> bool:
    """True for 256, np.int64(256) and 256.0; False for 0, -1, 2.5, None."""
    try:
        return int(value) == value and int(value) >= 1  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return False


def register_baseline(
    name: str | None = None,
    *,
    modalities: tuple[str, ...],
    description: str = "",
    trains: bool = True,
    init_from: str | None = None,
    temporal: bool = True,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorate a builder ``fn(dims, num_classes=8, **kwargs) -> nn.Module`` to register it.

    The name defaults to the function's name and the description to its docstring's first line.
    Registering a name twice raises ``DuplicateBaselineError`` (a ``ValueError``) unless the
    second registration comes from the same module, i.e. the module was re-imported or reloaded.

    Example:
        >>> from torch import nn
        >>> @register_baseline("doc_linear", modalities=("face",))
        ... def doc_linear(dims, num_classes=8):
        ...     '''A linear probe on the face sequence.'''
        ...     return nn.Linear(dims["face"], num_classes)
        >>> get_baseline("doc_linear").description
        'A linear probe on the face sequence.'
        >>> _ = unregister_baseline("doc_linear")
    """

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        spec = _make_spec(name or builder.__name__, builder, modalities, description,
                          trains, init_from, temporal)
        existing = _REGISTRY.get(spec.name)
        if existing is not None and existing.module != spec.module:
            raise DuplicateBaselineError(
                f"baseline {spec.name!r} is already registered by module {existing.module!r}; "
                f"{spec.module!r} cannot register it again (choose another name)")
        _REGISTRY[spec.name] = spec
        return builder

    return decorate


def _make_spec(name: str, builder: Callable[..., nn.Module], modalities: object,
               description: str, trains: bool, init_from: str | None,
               temporal: bool) -> BaselineSpec:
    """Validate one registration; errors are raised at import time, where they are cheap to fix."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"baseline name {name!r} must be letters, digits, '_', '.', '-' "
                         "(it becomes a folder name in run outputs)")
    if not callable(builder):
        raise ValueError(f"baseline {name!r}: register_baseline decorates a builder function")
    if not trains and init_from is None:
        raise ValueError(f"baseline {name!r}: trains=False needs init_from, otherwise nothing "
                         "would ever set its weights")
    doc = (builder.__doc__ or "").strip().splitlines()
    return BaselineSpec(
        name=name,
        modalities=_normalise_modalities(name, modalities),
        builder=builder,
        module=getattr(builder, "__module__", None) or "?",
        description=description or (doc[0].strip() if doc else ""),
        trains=bool(trains),
        init_from=init_from,
        temporal=bool(temporal),
    )


def unregister_baseline(name: str) -> BaselineSpec:
    """Remove a baseline (tests, notebooks re-defining a model); returns its spec."""
    spec = get_baseline(name)
    del _REGISTRY[name]
    return spec


def get_baseline(name: str) -> BaselineSpec:
    """The spec of ``name``; an unknown name raises ``UnknownBaselineError`` listing known ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(_REGISTRY)) or "(none)"
        raise UnknownBaselineError(
            f"unknown baseline {name!r}; known baselines: {known}") from None


def create_baseline(name: str, dims: Mapping[str, int], num_classes: int = NUM_CLASSES,
                    **kwargs) -> nn.Module:
    """Build baseline ``name`` for features of sizes ``dims`` (only its modalities are passed on).

    Example:
        >>> model = create_baseline("attention_fusion", {"face": 256, "audio": 1024, "pose": 36})
        >>> count_parameters(model) > 0
        True
    """
    return get_baseline(name).create(dims, num_classes, **kwargs)


def list_baselines(pattern: str = "*") -> list[BaselineSpec]:
    """Specs whose name matches the shell-style ``pattern`` (case-sensitive), sorted by name."""
    return [_REGISTRY[n] for n in sorted(_REGISTRY) if fnmatch.fnmatchcase(n, pattern)]


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (buffers such as BatchNorm statistics are not counted)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def load_baseline_module(module_path: str) -> list[str]:
    """Import a user's baseline module and return the names it registered.

    ``module_path`` is either an importable dotted name (``"mypkg.mymodel"``, found on
    ``sys.path``) or the path of a ``.py`` file. Any failure while importing becomes a
    ``HarnessError`` naming the module, so the CLI can report it in one line.

    Example:
        >>> load_baseline_module("baselines.only_video")
        ['only_video']
    """
    before = dict(_REGISTRY)
    if _looks_like_file(module_path):
        module = _import_file(Path(module_path))
    else:
        module = _import_dotted(module_path)
    prefix = module.__name__ + "."
    names = sorted(
        n for n, s in _REGISTRY.items()
        if before.get(n) is not s or s.module == module.__name__ or s.module.startswith(prefix)
    )
    if not names:
        raise HarnessError(f"{module_path}: imported, but it registered no baseline (decorate a "
                           "builder function with @baselines.register_baseline(...))")
    return names


def _looks_like_file(module_path: str) -> bool:
    """Paths end in .py or contain a separator; dotted module names do neither."""
    return module_path.endswith(".py") or "/" in module_path or "\\" in module_path


def _import_dotted(name: str) -> ModuleType:
    """``importlib.import_module`` with every failure turned into a one-line HarnessError."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise HarnessError(f"cannot import baseline module {name!r}: no such module on "
                               "sys.path (give a dotted module name or a path to a .py file)"
                               ) from exc
        raise HarnessError(f"baseline module {name!r} failed to import: {exc}") from exc
    except Exception as exc:
        raise HarnessError(f"baseline module {name!r} failed to import: "
                           f"{type(exc).__name__}: {exc}") from exc


def _import_file(path: Path) -> ModuleType:
    """Import a .py file under a name derived from its resolved path (stable across reloads)."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise HarnessError(f"{path}: no such baseline file")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    name = f"_user_baseline_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HarnessError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise HarnessError(f"{path}: baseline file failed to import: "
                           f"{type(exc).__name__}: {exc}") from exc
    return module
