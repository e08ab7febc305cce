"""What ``harness tune`` searches: parameters named by their RunConfig key, a default space per
baseline family, and the TOML space file.

A space file holds one table per parameter under ``[params]``, named by the nested RunConfig
key it sets (``train.lr``, ``model.width``, ``window_frames``) or by ``post.method`` /
``post.window`` (the temporal filter applied to each fold's validation outputs before they are
pooled: what ``harness smooth`` would then apply)::

    [params."train.lr"]
    type = "float"          # float, int or categorical
    low = 1e-4
    high = 1e-2
    log = true              # draw on a log scale (float and int)

    [params."train.batch_size"]
    type = "categorical"
    choices = [64, 128, 256]

    [params."model.width"]  # a keyword argument of the baseline's builder
    type = "int"
    low = 32
    high = 128
    step = 32

A parameter the user fixes (a run option given on the command line) is left out of the search.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config_files import read_config_file
from harness.errors import HarnessError

KINDS = ("float", "int", "categorical")
#: Post-processing keys of a space: the filter ("none": no filter) and its window in seconds.
POST_METHOD, POST_WINDOW = "post.method", "post.window"
NO_FILTER = "none"


@dataclass(frozen=True)
class Param:
    """One searched parameter."""

    key: str  # nested RunConfig key ("train.lr"), or post.method / post.window
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    def suggest(self, trial) -> Any:
        """Draw this parameter for an Optuna trial."""
        if self.kind == "categorical":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log,
                                     step=int(self.step or 1))
        return trial.suggest_float(self.key, self.low, self.high, log=self.log, step=self.step)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` can be drawn (a default is enqueued only then)."""
        if self.kind == "categorical":
            return value in self.choices
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and self.low <= value <= self.high
                and (self.step is None or ((value - self.low) / self.step).is_integer()))

    def to_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, (), False)}


def default_space(baseline: str) -> list[Param]:
    """The search every trained baseline gets, plus what its family exposes.

    All: learning rate, batch size, weight decay, frame stride and the temporal filter.
    Dense-window baselines (``dense_temporal``): the window length in frames. Builder
    keyword arguments, where the builder takes them: ``width``, ``heads``, ``hidden``,
    ``dropout``.
    """
    from baselines import get_baseline

    spec = get_baseline(baseline)
    if not spec.trains:
        raise HarnessError(f"{baseline} takes its weights from {spec.init_from}: it has no "
                           "fusion training to tune; give a --space of post.* keys, or tune "
                           "the stage-1 face model's features.face.* keys")
    space = [
        Param("train.lr", "float", 1e-4, 1e-2, log=True),
        Param("train.batch_size", "categorical", choices=(64, 128, 256)),
        Param("train.weight_decay", "float", 1e-5, 1e-2, log=True),
        Param("train.frame_stride", "categorical", choices=(2, 5, 10)),
        Param(POST_METHOD, "categorical", choices=(NO_FILTER, "median", "mean")),
        Param(POST_WINDOW, "float", 0.5, 6.0),
    ]
    if spec.window.step_s is None:  # a dense window: its length is a choice
        space.append(Param("window_frames", "int", 25, 125, step=25))
    args = inspect.signature(spec.builder).parameters
    family = {"width": Param("model.width", "int", 32, 128, step=32),
              "hidden": Param("model.hidden", "int", 64, 256, step=64),
              "heads": Param("model.heads", "categorical", choices=(1, 2, 4, 8)),
              "dropout": Param("model.dropout", "float", 0.0, 0.5)}
    space += [p for name, p in family.items() if name in args]
    return space


def load_space(path: Path) -> list[Param]:
    """A space file (see the module docstring), or an error naming the file and parameter."""
    keys = read_config_file(path)
    unknown = sorted(set(keys) - {"params"})
    if unknown or not isinstance(keys.get("params"), Mapping) or not keys["params"]:
        extra = f" and nothing else (found {unknown[0]!r})" if unknown else ""
        raise HarnessError(f"{path}: a space file holds one [params.\"KEY\"] table per "
                           f"parameter{extra}")
    return [_param(str(path), key, d) for key, d in keys["params"].items()]


def _param(source: str, key: str, d: Any) -> Param:
    where = f"{source}: params.{key!r}"
    if not isinstance(d, Mapping) or d.get("type") not in KINDS:
        raise HarnessError(f"{where}: needs type = one of {', '.join(KINDS)}")
    known = {"type", "low", "high", "log", "step", "choices"}
    if set(d) - known:
        raise HarnessError(f"{where}: unknown key {sorted(set(d) - known)[0]!r} "
                           f"(known: {', '.join(sorted(known))})")
    if d["type"] == "categorical":
        choices = d.get("choices")
        if not isinstance(choices, list) or not choices:
            raise HarnessError(f"{where}: a categorical parameter needs choices = [...]")
        return Param(key, "categorical", choices=tuple(choices))
    low, high = d.get("low"), d.get("high")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) \
            or low >= high:
        raise HarnessError(f"{where}: needs numbers low < high, got low={low!r} high={high!r}")
    if d.get("log") and low <= 0:
        raise HarnessError(f"{where}: log = true needs low > 0")
    return Param(key, d["type"], float(low), float(high), bool(d.get("log", False)),
                 d.get("step"))


def searched(space: Iterable[Param], fixed: Mapping[str, Any]) -> list[Param]:
    """The space without what the user fixed (a fixed ``post.method`` fixes its window too
    when it is "none")."""
    out = [p for p in space if p.key not in fixed]
    if fixed.get(POST_METHOD) == NO_FILTER:
        out = [p for p in out if p.key != POST_WINDOW]
    return out
