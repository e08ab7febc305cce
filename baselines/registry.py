"""The baseline registry: the trainer asks it for models and never imports a baseline by name.

Modelled on timm's ``register_model``: each baseline lives in one file whose builder function is
decorated with :func:`register_baseline`; the decorator records the name, the module, the
modalities the baseline consumes and how the runner must treat it (``trains``, ``init_from``).
A user's own file registers the same way and is loaded with :func:`load_baseline_module`.

Example:
    >>> from baselines import create_baseline, get_baseline
    >>> get_baseline("attention_fusion").modalities
    ('face', 'audio', 'pose')
    >>> model = create_baseline("only_video", {"face": 256})
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from torch import nn

from harness.data.labels import NUM_CLASSES
from harness.errors import HarnessError
from harness.features.chunks import ChunkSpec, chunk  # noqa: F401  (re-exported)
from harness.features.modalities import MODALITIES
from harness.features.timeline import PAPER_WINDOW, WindowSpec
from harness.plugins import import_user_module
from harness.registry import DuplicateEntryError, Registry, UnknownEntryError
from harness.tasks import Task, get_task, task_names

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MODALITY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class UnknownBaselineError(UnknownEntryError):
    """No baseline has this name (a ``HarnessError`` and a ``KeyError``)."""


class DuplicateBaselineError(DuplicateEntryError):
    """Two different modules tried to register the same baseline name."""


@dataclass(frozen=True)
class BaselineSpec:
    """Everything the runner needs to know about a baseline, so it needs to know nothing else.

    ``trains=False`` means the weights come from an earlier stage (``init_from`` names which);
    ``window`` is where the steps of a frame's window fall (the paper's 12 steps by default);
    ``sequence`` (``chunk(L)``) makes it a sequence model: it reads chunks of ``L`` consecutive
    frames and returns logits for every frame, ``(B, L, C)`` (``harness.features.chunks``).
    ``tasks`` names the tasks whose output it can give (None: any task; its head is built
    ``task.output_size`` wide). ``optional`` names modalities it can run without: a task that
    has no such input (MTL's s-Aff-Wild2 is face images only) builds it without them.
    """

    name: str
    modalities: tuple[str, ...]
    builder: Callable[..., nn.Module]
    module: str
    description: str
    trains: bool = True
    init_from: str | None = None
    window: WindowSpec = PAPER_WINDOW
    sequence: ChunkSpec | None = None
    tasks: tuple[str, ...] | None = None
    optional: tuple[str, ...] = ()

    def slots(self, task: str | Task | None = None) -> tuple[str, ...]:
        """The modalities a run of ``task`` reads: the declared ones the task has (all, for a
        task that names none); a required one the task lacks is refused."""
        allowed = get_task(task).modalities
        if allowed is None:
            return self.modalities
        lacking = [m for m in self.modalities if m not in allowed and m not in self.optional]
        if lacking:
            raise HarnessError(f"baseline {self.name!r} needs {', '.join(lacking)} input(s); "
                               f"task {get_task(task).name} has {', '.join(allowed)} only")
        return tuple(m for m in self.modalities if m in allowed)

    def supports(self, task: str | Task | None = None) -> bool:
        return self.tasks is None or get_task(task).name in self.tasks

    def for_task(self, dims: Mapping[str, int], task: str | Task | None = None,
                 **kwargs) -> nn.Module:
        """This baseline with a head ``task.output_size`` wide whose outputs the task's
        ``activate`` brings into range (VA: tanh), as a forward hook: the state dict is the
        builder's own, so a stage-1 head still loads into ``current_face`` as is."""
        task = get_task(task)
        if not self.supports(task):
            raise HarnessError(f"baseline {self.name!r} gives no {task.name} output; it "
                               f"supports {', '.join(self.tasks or ())}")
        model = self.create(dims, task.output_size, **kwargs)
        if task.activation is not None:
            model.register_forward_hook(_activation_hook(task))
        return model

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


_REGISTRY: Registry[BaselineSpec] = Registry(
    "baseline", unknown=UnknownBaselineError, duplicate=DuplicateBaselineError)


def _normalise_modalities(name: str, modalities: object) -> tuple[str, ...]:
    """Check the declared modalities; the harness's own come first, in ``MODALITIES`` order.

    Any other name is a feature set the user imports (``harness extract --from DIR --as NAME``).
    """
    if isinstance(modalities, str) or not isinstance(modalities, (tuple, list)):
        raise ValueError(f"baseline {name!r}: modalities must be a tuple such as ('face',), "
                         f"got {modalities!r}")
    bad = [m for m in modalities if not isinstance(m, str) or not _MODALITY_RE.match(m)
           or m == "mask" or m.endswith("_mask")]
    if bad or not modalities or len(set(modalities)) != len(modalities):
        raise ValueError(f"baseline {name!r}: modalities must be distinct names of letters, "
                         f"digits and '_' (the harness extracts {MODALITIES}; other names are "
                         f"imported feature sets; 'mask' is reserved), got {tuple(modalities)!r}")
    return (tuple(m for m in MODALITIES if m in modalities)
            + tuple(m for m in modalities if m not in MODALITIES))


def _check_dims(spec: BaselineSpec, dims: Mapping[str, int]) -> dict[str, int]:
    """Return the dims of the declared modalities only, refusing missing or non-positive sizes."""
    if not isinstance(dims, Mapping):
        raise HarnessError(f"baseline {spec.name!r}: dims must be a mapping such as "
                           f"{{'face': 256}}, got {type(dims).__name__}")
    missing = [m for m in spec.modalities if m not in dims and m not in spec.optional]
    if missing:
        raise HarnessError(f"baseline {spec.name!r} needs feature sizes for {missing} "
                           f"(declares {spec.modalities}); dims has {sorted(dims)}")
    out: dict[str, int] = {}
    for m in spec.modalities:
        if m not in dims:  # an optional one (``optional``)
            continue
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
    window: WindowSpec = PAPER_WINDOW,
    sequence: ChunkSpec | None = None,
    tasks: tuple[str, ...] | None = None,
    optional: tuple[str, ...] = (),
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
                          trains, init_from, window, sequence, tasks, optional)
        _REGISTRY.add(spec.name, spec, owner=spec.module)
        return builder

    return decorate


def _make_spec(name: str, builder: Callable[..., nn.Module], modalities: object,
               description: str, trains: bool, init_from: str | None,
               window: WindowSpec, sequence: ChunkSpec | None = None,
               tasks: tuple[str, ...] | None = None, optional: tuple[str, ...] = ()
               ) -> BaselineSpec:
    """Validate one registration; errors are raised at import time, where they are cheap to fix."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"baseline name {name!r} must be letters, digits, '_', '.', '-' "
                         "(it becomes a folder name in run outputs)")
    if not callable(builder):
        raise ValueError(f"baseline {name!r}: register_baseline decorates a builder function")
    if not trains and init_from is None:
        raise ValueError(f"baseline {name!r}: trains=False needs init_from, otherwise nothing "
                         "would ever set its weights")
    if sequence is not None and not isinstance(sequence, ChunkSpec):
        raise ValueError(f"baseline {name!r}: sequence takes chunk(L), got {sequence!r}")
    if tasks is not None:
        unknown = [t for t in tasks if t not in task_names()]
        if isinstance(tasks, str) or unknown or not tasks:
            raise ValueError(f"baseline {name!r}: tasks must be a tuple of task names "
                             f"({', '.join(task_names())}), got {tasks!r}")
        tasks = tuple(tasks)
    modalities = _normalise_modalities(name, modalities)
    optional = tuple(optional)
    if not set(optional) <= set(modalities) or set(optional) == set(modalities):
        raise ValueError(f"baseline {name!r}: optional modalities {optional!r} must be some "
                         f"of its modalities {modalities!r}, not all")
    doc = (builder.__doc__ or "").strip().splitlines()
    return BaselineSpec(
        name=name,
        modalities=modalities,
        builder=builder,
        module=getattr(builder, "__module__", None) or "?",
        description=description or (doc[0].strip() if doc else ""),
        trains=bool(trains),
        init_from=init_from,
        window=window,
        sequence=sequence,
        tasks=tasks,
        optional=optional,
    )


def _activation_hook(task: Task) -> Callable:
    """A forward hook replacing the model's output by ``task.activate(output)`` (the first
    item of a tuple output, e.g. ``attention_fusion``'s ``return_attention``)."""
    def hook(module: nn.Module, args: object, output: object) -> object:
        if isinstance(output, tuple):
            return (task.activate(output[0]), *output[1:])
        return task.activate(output)
    return hook


def unregister_baseline(name: str) -> BaselineSpec:
    """Remove a baseline (tests, notebooks re-defining a model); returns its spec."""
    return _REGISTRY.remove(name)


def get_baseline(name: str) -> BaselineSpec:
    """The spec of ``name``; an unknown name raises ``UnknownBaselineError`` listing known ones."""
    return _REGISTRY.get(name)


def create_baseline(name: str, dims: Mapping[str, int], num_classes: int = NUM_CLASSES,
                    **kwargs) -> nn.Module:
    """Build baseline ``name`` for features of sizes ``dims`` (only its modalities are passed on).

    Example:
        >>> model = create_baseline("attention_fusion", {"face": 256, "audio": 1024, "pose": 36})
        >>> sum(p.numel() for p in model.parameters()) > 0
        True
    """
    return get_baseline(name).create(dims, num_classes, **kwargs)


def list_baselines(pattern: str = "*") -> list[BaselineSpec]:
    """Specs whose name matches the shell-style ``pattern`` (case-sensitive), sorted by name."""
    return [_REGISTRY.get(n) for n in sorted(_REGISTRY.names(pattern))]


def load_baseline_module(module_path: str) -> list[str]:
    """Import a user's baseline module and return the names it registered.

    ``module_path`` is either an importable dotted name (``"mypkg.mymodel"``, found on
    ``sys.path``) or the path of a ``.py`` file.

    Example:
        >>> load_baseline_module("baselines.only_video")
        ['only_video']
    """
    before = {n: _REGISTRY.get(n) for n in _REGISTRY}
    module = import_user_module(module_path, what="baseline")
    prefix = module.__name__ + "."
    names = sorted(
        n for n in _REGISTRY
        if before.get(n) is not _REGISTRY.get(n) or _REGISTRY.owner(n) == module.__name__
        or _REGISTRY.owner(n).startswith(prefix)
    )
    if not names:
        raise HarnessError(f"{module_path}: imported, but it registered no baseline (decorate a "
                           "builder function with @baselines.register_baseline(...))")
    return names
