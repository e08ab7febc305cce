"""Audio extractors: each is one file that registers a builder here, and becomes a feature
extractor of the ``audio`` modality (chosen with ``FeatureConfig.audio``, ``--audio NAME``).

An audio extractor maps a decoded track (``AudioTrack``) to one row per window (see
``harness.features.audio.windows``); it has a ``name``, a ``dim`` and a ``config()`` that holds
everything its features depend on (its cache key, with the decoder's version). Audio is cached
per underlying video: ``x_left`` and ``x_right`` share their video's soundtrack. An extractor
with a ``timed(track) -> (rows, times, flags)`` method gives rows at its own times instead (a
speech model's frames); the cache keeps the times, and the windows align them by time.

An extractor registered with ``prefix=True`` serves every ``--audio NAME:LOCATION`` (a model
named by where it lies, ``hf:DIR``): it registers as ``NAME:``, its builder gets the whole text
(``spec``) and the ``FeatureConfig`` (``cfg``) for its own options, its cache folder is
``audio-NAME``, and its ``identity(spec)`` (the model's content, not its path) stands for the
text in a run's config hash.

>>> class Loudness:                                                  # doctest: +SKIP
...     name, dim = "loudness", 1
...     def config(self): return {"name": self.name, "version": 1}
...     def __call__(self, track): ...                               # (rows, 1)
>>> register_audio_extractor("loudness", takes_no_weights("loudness", Loudness),
...                          owner=__name__)                          # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from harness.console import progress
from harness.data.videos import video_of
from harness.errors import HarnessError
from harness.features.audio.windows import AudioTrack
from harness.features.cache import FeatureCache, cache_root
from harness.features.extractors import (
    Alignment,
    Extracted,
    Extractor,
    ExtractRequest,
    extractor_for,
    extractors_of,
    register_extractor,
    unknown_extractor,
)
from harness.features.inputs import Inputs, files_part

MODALITY = "audio"


@runtime_checkable
class AudioExtractor(Protocol):
    name: str
    dim: int

    def config(self) -> dict: ...

    def __call__(self, track: AudioTrack) -> np.ndarray: ...


#: ``(weights, device, **kwargs) -> AudioExtractor``
AudioBuilder = Callable[..., AudioExtractor]
_BUILDERS: dict[str, AudioBuilder] = {}
#: Prefixed extractors (``NAME:``): spec -> content identity for a run's config hash.
_IDENTITIES: dict[str, Callable[[str], str]] = {}
PREFIX_END = ":"


def takes_no_weights(name: str, build: Callable[[], AudioExtractor]) -> AudioBuilder:
    """A builder for an extractor that needs no weights file (and refuses one)."""
    def builder(weights: str | Path | None, device: str, **kwargs: Any) -> AudioExtractor:
        if weights is not None:
            raise HarnessError(f"audio extractor {name!r} takes no weights (got {weights})")
        return build()
    return builder


def register_audio_extractor(name: str, builder: AudioBuilder, *, owner: str,
                             prefix: bool = False, label: Callable[[Any], str] | None = None,
                             identity: Callable[[str], str] | None = None) -> Extractor:
    """Register the audio extractor ``name``, built by ``builder(weights, device=...)``
    (``prefix``: ``NAME:LOCATION``, see above; ``label(cfg)``: its name in run.json)."""
    key = name + PREFIX_END if prefix else name
    entry = register_extractor(Extractor(
        name=key, modality=MODALITY, alignment=Alignment.BY_VIDEO,
        cache=lambda req: _cache(req)[1], extract=_extract,
        label=label or (lambda cfg: cfg.audio),
    ), owner=owner)
    _BUILDERS[key] = builder
    if prefix:
        _IDENTITIES[key] = identity or (lambda spec: spec)
    return entry


def _prefixed(name: str) -> str | None:
    """The prefixed extractor (``NAME:``) serving ``name``, if any."""
    if PREFIX_END not in name:
        return None
    key = name.split(PREFIX_END, 1)[0] + PREFIX_END
    return key if key in _BUILDERS else None


def audio_identity(name: str) -> str:
    """What a run's config hash holds for ``--audio name``: the name, or a prefixed
    extractor's content identity of its model."""
    key = _prefixed(name)
    return _IDENTITIES[key](name) if key is not None else name


def list_audio_extractors() -> list[str]:
    return [e.name for e in extractors_of(MODALITY)]


def create_audio_extractor(
    name: str, *, weights: str | Path | None = None, device: str = "cpu", **kwargs: Any
) -> AudioExtractor:
    """Build an audio extractor by name; only ``deepspectrum`` takes (and needs) weights."""
    key = _prefixed(name) if name not in list_audio_extractors() else None
    if key is not None:
        return _BUILDERS[key](weights, device=device, spec=name, **kwargs)
    if name not in list_audio_extractors():
        raise unknown_extractor(MODALITY, name)
    return _BUILDERS[name](weights, device=device, **kwargs)


def _cache(req: ExtractRequest) -> tuple[AudioExtractor, FeatureCache]:
    """The configured extractor and its cache: its config plus the decoder's version."""
    from harness.features.audio.decoding import DECODER_VERSION

    cfg = req.cfg
    name = extractor_for(MODALITY, cfg).name
    if name.endswith(PREFIX_END):  # NAME:LOCATION: built from the whole text and the config
        extractor = create_audio_extractor(cfg.audio, weights=cfg.audio_weights,
                                           device=cfg.device, cfg=cfg)
    else:
        extractor = create_audio_extractor(name, weights=cfg.audio_weights, device=cfg.device)
    config = extractor.config() | {"decoder": DECODER_VERSION}
    release = req.release

    def inputs(video: str) -> Inputs:  # entries are per video: its file is the input
        path = release.video_path(video)
        return Inputs({"video": files_part([path] if path is not None else [])})
    folder = f"{MODALITY}-{name.removesuffix(PREFIX_END)}"
    return extractor, FeatureCache(cache_root(release), folder, config, inputs=inputs)


def _extract(req: ExtractRequest) -> Extracted:
    from harness.features.audio.decoding import load_audio
    from harness.features.audio.windows import window_centres, window_flags

    release, quiet = req.release, req.quiet
    extractor, cache = _cache(req)
    videos = cache.missing(sorted({video_of(n) for n in req.mine}))
    with progress("s of audio", disable=quiet or not videos) as bar:
        seconds = {v: release.video_info(v).duration for v in videos}
        label = f"audio {extractor_for(MODALITY, req.cfg).label(req.cfg)}"
        task = bar.add_task(label, total=sum(seconds.values()), info="")
        if hasattr(extractor, "report"):  # a slow model reports each chunk it has done
            extractor.report = lambda s: bar.advance(task, s)
        done = 0.0
        for video in videos:
            info = release.video_info(video)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore" if quiet else "default")
                track = load_audio(info.path, duration_hint=info.duration)
            if hasattr(extractor, "timed"):  # rows at the extractor's own times
                cache.save(video, *extractor.timed(track))
            else:
                cache.save(video, extractor(track), window_centres(track.duration),
                           window_flags(track))
            done += seconds[video]
            bar.update(task, completed=done, info=video)
    return Extracted(cache)
