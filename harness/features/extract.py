"""The extraction driver: every modality a run reads, through its registered extractor, cached
once and shared by every baseline.

Each modality is served by an extractor that registered itself
(``harness.features.extractors``): the face backbone (``features.face``), an audio extractor
(``features.audio``, chosen by ``FeatureConfig.audio``), OpenPose (``features.pose``), or one a
user registered. The driver cuts the names into this rank's shard, asks each extractor for its
features and makes every rank wait until all shards are cached. Face features depend on the
split (stage 1 is fine-tuned on its training names); audio and pose do not, so every split and
run shares them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness import distributed
from harness.config_files import require
from harness.data.release import Release
from harness.data.splits import Split
from harness.data.videos import video_of
from harness.errors import HarnessError
from harness.features.cache import FeatureCache, set_provenance
from harness.features.extractors import (
    Alignment,
    Extracted,
    Extractor,
    ExtractRequest,
    extractor_for,
)
from harness.features.extractors import modalities as known_modalities
from harness.features.face.config import FaceConfig
from harness.features.imported import imported_source
from harness.features.sources import FeatureSource
from harness.provenance import producing


@dataclass
class HfAudioOptions:
    """``--audio hf:DIR``'s options (see ``harness.features.huggingface.audio``)."""

    layers: str = "last"  # last | lastN (the mean of the last N hidden states) | K (layer K)
    rows: str = "frames"  # frames: timed, at the model's frame rate; windows: mean per window


@dataclass
class FeatureConfig:
    face: FaceConfig = field(default_factory=FaceConfig)
    audio: str = "logmel"  # ours offline; the paper's is "deepspectrum" (needs --audio-weights)
    audio_weights: str | None = None
    device: str = "auto"
    # Training names' face features: 0 = in-sample (the paper's: from the face model fine-tuned
    # on them), K = cross-fitted over K recording groups (see harness.features.face.oof).
    # In-sample, chosen by measurement on the version-2 embedded corpus, seed 0 (README):
    # cross-fitted (K=5) features lost 7 to 21 points of hidden-test macro F1 for the three
    # baselines that read them and cost 5 more stage-1 fine-tunes per split.
    face_oof: int = 0
    allow_missing_faces: bool = False  # names with no face image: zeros + a warning, not an error
    hf_audio: HfAudioOptions = field(default_factory=HfAudioOptions)  # --audio hf:DIR only
    # ``--face-from TASK``: face features from that task's stage-1 model (fine-tuned on its
    # training names of the same split) instead of the run's own task's; refused while any
    # validation or test name of the run was one of them (harness.features.face.transfer).
    face_from: str | None = None
    # CPU threads of whatever is cached (stage-1 fine-tune, feature extraction); 0: the run's.
    # Fixed, because a cached model is reused by every later run whatever its --threads: a
    # stage-1 model trained with 2 threads differed from one trained with 1 (docs/results.md),
    # so without it a run's numbers depended on which earlier run filled the cache. Not in any
    # key (it says how, not what); every model and entry records it (``made_by``).
    feature_threads: int = 1

    def __post_init__(self) -> None:
        require("--face-oof", self.face_oof, minimum=0)
        require("--feature-threads", self.feature_threads, minimum=0)


def all_names(release: Release) -> list[str]:
    """Every name that needs features: annotated ones and test ones."""
    names = sorted(set(release.train) | set(release.val))
    if release.layout.template is not None:
        names += [n for n in release.template.names if n not in set(names)]
    return names


def shard_names(names: list[str], shard: tuple[int, int] | None) -> list[str]:
    """Names of shard i of n, cut by underlying video so a video's work stays in one shard."""
    if shard is None:
        return names
    i, n = shard
    videos = sorted({video_of(x) for x in names})
    mine = set(videos[i - 1 :: n])
    return [x for x in names if video_of(x) in mine]


def extract_all(release: Release, split: Split, modalities: tuple[str, ...],
                cfg: FeatureConfig, *, names: list[str] | None = None,
                quiet: bool = False) -> tuple[dict[str, Any], Any]:
    """Make sure every feature the modalities need is cached; returns the caches (by modality)
    and the stage-1 face model, if one was fine-tuned."""
    known = known_modalities()
    unknown = set(modalities) - set(known)
    if unknown:
        raise HarnessError(f"unknown modality {sorted(unknown)}; known: {', '.join(known)}")
    extractors = {m: extractor_for(m, cfg) for m in known if m in modalities}
    names = all_names(release) if names is None else names
    distributed.setup(cfg.device)
    mine = shard_names(names, distributed.shard())  # torchrun: each rank its own videos
    request = ExtractRequest(release, split, names, mine, cfg, quiet)
    caches: dict[str, Any] = {}
    stage = None
    from harness.device import cpu_threads

    device = _device_name(cfg.device)
    threads = cfg.feature_threads if device == "cpu" else 0  # a GPU's results do not vary so
    for modality, extractor in extractors.items():
        with producing(device=device), cpu_threads(threads):  # what each entry records
            done: Extracted = extractor.extract(request)
        caches[modality] = done.cache
        stage = stage if done.stage is None else done.stage
    distributed.barrier()  # every rank's shard is cached before anyone reads the others'
    return caches, stage


def _device_name(name: str) -> str:
    from harness.device import resolve_device

    return str(resolve_device(name))


def source_of(extractor: Extractor, modality: str, cache: FeatureCache) -> FeatureSource:
    """How an extractor's rows line up with frames, as the windows read them."""
    return FeatureSource(modality, cache, per_frame=extractor.alignment == Alignment.PER_FRAME,
                         by_video=extractor.alignment == Alignment.BY_VIDEO)


def builtin_source(modality: str, cache: FeatureCache,
                   cfg: FeatureConfig | None = None) -> FeatureSource:
    """The source of a modality's cache made by its extractor under ``cfg`` (default config)."""
    return source_of(extractor_for(modality, cfg or FeatureConfig()), modality, cache)


def feature_sources(release: Release, split: Split, slots: tuple[str, ...], cfg: FeatureConfig,
                    *, inputs: dict[str, str] | None = None, names: list[str] | None = None,
                    quiet: bool = False) -> tuple[dict[str, FeatureSource], Any]:
    """The source of each modality slot a baseline reads, its features made sure of.

    A slot reads the feature set ``inputs[slot]`` (default: the slot's own name): a modality of
    a registered extractor (run now if not cached), or a feature set the user imported under
    that name. Returns the sources and the stage-1 face model, if one was used.
    """
    wanted = {slot: (inputs or {}).get(slot, slot) for slot in slots}
    known = set(known_modalities())
    builtin = tuple(m for m in dict.fromkeys(wanted.values()) if m in known)
    caches, stage = extract_all(release, split, builtin, cfg, names=names, quiet=quiet)
    return {slot: builtin_source(src, caches[src], cfg) if src in caches
            else imported_source(release, src) for slot, src in wanted.items()}, stage


def feature_record(sources: dict[str, FeatureSource], cfg: FeatureConfig) -> dict[str, str]:
    """What made each feature set, for ``run.json``: the extractor's label per slot (or
    ``import:NAME``), then what each extractor adds (how face features were fitted, say)."""
    known = set(known_modalities())
    out, extra = {}, {}
    for slot, src in sources.items():
        if src.name not in known:
            out[slot] = f"import:{src.name}"
            continue
        extractor = extractor_for(src.name, cfg)
        out[slot] = extractor.label(cfg)
        extra |= extractor.record(cfg, src.cache)
    return out | extra


def feature_provenance(sources: dict[str, FeatureSource], names: list[str]
                       ) -> dict[str, dict[str, Any]]:
    """What each slot read for ``names``, for ``run.json``: its cache folder, one digest of
    the entries and who made them (``harness.features.cache.set_provenance``)."""
    return {slot: set_provenance(src.cache, [src.key(n) for n in names])
            for slot, src in sources.items()}
