"""The one registry of feature extractors: each is one file that registers itself here.

An extractor turns a modality of the release into cached rows (``harness.features.cache``). It
registers, in its own module, an ``Extractor``: its name, the modality it serves, how its rows
line up with frames (``Alignment``), the cache its configuration selects (the cache key: the
extractor's config identity, so a change of anything the features depend on makes a new
folder) and the function that fills that cache. The driver (``harness.features.extract``) and
the run code look extractors up by modality; no code outside an extractor's file knows its name.

Adding an extractor is one file:

>>> from harness.features.cache import FeatureCache, cache_root
>>> def _cache(req):                                     # doctest: +SKIP
...     return FeatureCache(cache_root(req.release), "gaze-v1", {"version": 1})
>>> def _extract(req):                                   # doctest: +SKIP
...     cache = _cache(req)
...     for name in cache.missing(req.mine):
...         cache.save(name, ...)
...     return Extracted(cache)
>>> register_extractor(Extractor("gaze-v1", "gaze", Alignment.TIMED, _cache, _extract,
...                              label=lambda cfg: "gaze-v1"), owner=__name__)  # doctest: +SKIP

A modality with several extractors (audio) picks one with the ``FeatureConfig`` field named after
the modality (``audio="logmel"``); a modality with one extractor needs no field.

The built-in extractors are the modality packages listed in ``BUILTIN_PACKAGES``; importing one
registers its extractors (timm's ``models/__init__`` does the same for its models).
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.registry import Registry

if TYPE_CHECKING:
    from harness.data.release import Release
    from harness.data.splits import Split
    from harness.features.cache import FeatureCache
    from harness.features.extract import FeatureConfig

#: Packages whose import registers the harness's own extractors (each lists its modules).
BUILTIN_PACKAGES = ("harness.features.face", "harness.features.audio", "harness.features.pose")


class Alignment(str, enum.Enum):
    """How an extractor's rows line up with the frames of a name."""

    PER_FRAME = "per_frame"  # one row per frame 1..N of a name, aligned by frame number
    TIMED = "timed"  # rows of a name at their own times, aligned by time
    BY_VIDEO = "by_video"  # timed rows stored once per video (``x_left``/``x_right`` share them)


@dataclass
class ExtractRequest:
    """What an extractor is asked: features of ``mine`` (this rank's share of ``names``)."""

    release: Release
    split: Split
    names: list[str]  # every name the caller needs (all ranks)
    mine: list[str]  # this rank's shard of ``names`` (all of them outside torchrun)
    cfg: FeatureConfig
    quiet: bool = False


@dataclass
class Extracted:
    """A filled cache, and anything a later stage reuses (stage 1's face model)."""

    cache: Any  # FeatureCache, or a view with the same reading methods (CrossFitCache)
    stage: Any = None


@dataclass(frozen=True)
class Extractor:
    """One registered extractor.

    ``cache(req)`` is the cache its configuration selects (the cache key) without extracting;
    ``extract(req)`` fills it for ``req.mine`` (entries already cached are skipped) and returns
    it; ``label(cfg)`` is what ``run.json`` and the leaderboard call the features; ``record(cfg,
    cache)`` adds any further ``run.json`` entries (how face features were fitted, say).
    """

    name: str
    modality: str
    alignment: Alignment
    cache: Callable[[ExtractRequest], FeatureCache]
    extract: Callable[[ExtractRequest], Extracted]
    label: Callable[[FeatureConfig], str]
    record: Callable[[FeatureConfig, Any], dict[str, str]] = field(default=lambda cfg, cache: {})


EXTRACTORS: Registry[Extractor] = Registry("feature extractor")
_loaded = False


def register_extractor(extractor: Extractor, *, owner: str) -> Extractor:
    """Register ``extractor`` (``owner``: the registering module's ``__name__``)."""
    EXTRACTORS.add(extractor.name, extractor, owner=owner)
    return extractor


def load_builtin() -> None:
    """Import the built-in modality packages once, so their extractors are registered."""
    global _loaded
    if not _loaded:
        _loaded = True
        for package in BUILTIN_PACKAGES:
            importlib.import_module(package)


def get_extractor(name: str) -> Extractor:
    load_builtin()
    return EXTRACTORS.get(name)


def extractors_of(modality: str) -> list[Extractor]:
    """The extractors of ``modality``, in registration order."""
    load_builtin()
    return [e for e in (EXTRACTORS.get(n) for n in EXTRACTORS) if e.modality == modality]


def modalities() -> list[str]:
    """Every modality some extractor serves: the paper's three in their usual order (the one
    of windows, batches and tables), then the others in registration order."""
    from harness.features.modalities import MODALITIES

    load_builtin()
    served = dict.fromkeys(EXTRACTORS.get(n).modality for n in EXTRACTORS)
    return [m for m in MODALITIES if m in served] + [m for m in served if m not in MODALITIES]


def unknown_extractor(modality: str, name: object) -> HarnessError:
    """The error for a ``name`` that is no extractor of ``modality`` (with the known ones)."""
    known = Registry(f"{modality} extractor")
    for e in extractors_of(modality):
        known.add(e.name, e, owner="")
    try:
        known.get(name)  # type: ignore[arg-type]
    except HarnessError as exc:
        return exc
    return HarnessError(f"{name!r} is not a {modality} extractor")


def extractor_for(modality: str, cfg: FeatureConfig) -> Extractor:
    """The extractor that serves ``modality`` under ``cfg``.

    A string field of ``cfg`` named after the modality names the extractor (``audio``), or
    starts with the name of one that ends with ``:`` (``hf:`` serves ``hf:DIR``); a modality
    with a single extractor needs none.
    """
    candidates = extractors_of(modality)
    if not candidates:
        raise HarnessError(f"unknown modality {modality!r}; known: {', '.join(modalities())}")
    chosen = getattr(cfg, modality, None)
    if isinstance(chosen, str):
        match = [e for e in candidates if e.name == chosen] or [
            e for e in candidates if e.name.endswith(":") and chosen.startswith(e.name)]
        if not match:
            raise unknown_extractor(modality, chosen)
        return match[0]
    if len(candidates) > 1:
        raise HarnessError(f"modality {modality!r} has several extractors "
                           f"({', '.join(e.name for e in candidates)}); choose one")
    return candidates[0]
