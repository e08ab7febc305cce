"""Feature extraction for the three modalities, cached once and shared by every baseline.

Face features depend on the split (stage 1 is fine-tuned on the split's training names), so
their cache key carries the stage-1 checkpoint; audio and pose do not, so every split and run
shares them. With ``face_oof`` the training names' face features are cross-fitted
(``harness.features.face_oof``) and cached apart from the in-sample ones. Before any face work,
every name must have face images (``harness.data.coverage.check_faces``): a name without any
would otherwise get all-zero features in silence. Audio is cached per underlying video
(``x_left`` and ``x_right`` share their video's audio); face and pose per annotation name (the
person matters).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness import distributed
from harness.config_files import require
from harness.console import err, progress
from harness.data.coverage import check_faces
from harness.data.release import Release
from harness.data.splits import Split
from harness.data.videos import annotated_side, video_of
from harness.errors import HarnessError
from harness.features.cache import FeatureCache, cache_root
from harness.features.face_features import extract_face_features
from harness.features.face_oof import CrossFitCache, face_fit, oof_splits
from harness.features.face_stage import (
    FaceConfig,
    FaceStage,
    face_stage_key,
    finetune_face,
    warn_if_not_paper,
)
from harness.features.frozen import FROZEN, extract_frozen
from harness.features.imported import imported_source
from harness.features.modalities import MODALITIES
from harness.features.sources import FeatureSource

POSE_RATE_HZ = 2.0


@dataclass
class FeatureConfig:
    face: FaceConfig = field(default_factory=FaceConfig)
    audio: str = "logmel"  # ours offline; the paper's is "deepspectrum" (needs --audio-weights)
    audio_weights: str | None = None
    device: str = "auto"
    # Training names' face features: 0 = in-sample (the paper's: from the face model fine-tuned
    # on them), K = cross-fitted over K recording groups (see harness.features.face_oof).
    # In-sample, chosen by measurement on the version-2 embedded corpus, seed 0 (README):
    # cross-fitted (K=5) features lost 7 to 21 points of hidden-test macro F1 for the three
    # baselines that read them and cost 5 more stage-1 fine-tunes per split.
    face_oof: int = 0
    allow_missing_faces: bool = False  # names with no face image: zeros + a warning, not an error

    def __post_init__(self) -> None:
        require("--face-oof", self.face_oof, minimum=0)


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


# --------------------------------------------------------------------------- face

def face_stage(release: Release, split: Split, cfg: FeatureConfig, *, quiet=False) -> FaceStage:
    cfg.face.device = cfg.device
    warn_if_not_paper(cfg.face)
    return finetune_face(release, split, cfg.face, _models_dir(release), show_progress=not quiet)


def _models_dir(release: Release) -> Path:
    return cache_root(release) / "face_models"


def face_cache(release: Release, stage: FaceStage, cfg: FeatureConfig) -> FeatureCache:
    """In-sample features: every name through the face model of ``stage``."""
    return FeatureCache(cache_root(release), f"face-{cfg.face.backbone}",
                        {"stage": stage.key})


def extract_face(release: Release, names: list[str], stage: FaceStage, cfg: FeatureConfig,
                 split: Split, *, quiet=False) -> FeatureCache | CrossFitCache:
    """Face features of ``names``: in-sample, or cross-fitted for the training names.

    Under torchrun each rank extracts its own shard of ``names``, but every rank takes part in
    training each cross-fitting model that any rank needs (training is collective).
    """
    full = face_cache(release, stage, cfg)
    mine = shard_names(names, distributed.shard())
    if not cfg.face_oof:
        extract_face_features(release, mine, stage, cfg.face, full, show_progress=not quiet)
        return full
    folds = oof_splits(release, split, cfg.face_oof)
    fit = face_fit(len(folds))
    oof = FeatureCache(cache_root(release), f"face-{cfg.face.backbone}", {
        "stage": stage.key, "fit": fit,
        "folds": [face_stage_key(release, fold, cfg.face) for fold, _ in folds]})
    cache = CrossFitCache(full, oof, split.train, fit)
    others = [n for n in mine if n not in cache.train]
    extract_face_features(release, others, stage, cfg.face, full, show_progress=not quiet)
    wanted, my_names = set(names), set(mine)
    for i, (fold, group) in enumerate(folds, start=1):
        todo = oof.missing([n for n in group if n in wanted])
        if not todo:
            continue
        todo = [n for n in todo if n in my_names]
        if not quiet:
            err.print(f"Cross-fitting: face model {i} of {len(folds)} (without {len(group)} "
                      f"training name(s)) for their features")
        fold_stage = finetune_face(release, fold, cfg.face, _models_dir(release),
                                   show_progress=not quiet)
        extract_face_features(release, todo, fold_stage, cfg.face, oof, show_progress=not quiet)
    return cache


def _frozen_face(release: Release, names: list[str], cfg: FeatureConfig, *, quiet=False
                 ) -> FeatureCache:
    """A frozen backbone's features: nothing is fine-tuned, so nothing is cross-fitted."""
    if cfg.face_oof and not quiet:
        err.print(f"Frozen face backbone: no stage-1 fine-tune, so the training names' face "
                  f"features are not cross-fitted (--face-oof {cfg.face_oof} has no effect; "
                  f"face_fit: {FROZEN})")
    return extract_frozen(release, names, cfg.face, quiet=quiet)


# --------------------------------------------------------------------------- audio

def audio_cache(release: Release, cfg: FeatureConfig):
    from harness.features.audio import DECODER_VERSION, create_audio_extractor

    extractor = create_audio_extractor(cfg.audio, weights=cfg.audio_weights, device=cfg.device)
    config = extractor.config() | {"decoder": DECODER_VERSION}
    return extractor, FeatureCache(cache_root(release), f"audio-{cfg.audio}", config)


def extract_audio(release: Release, names: list[str], cfg: FeatureConfig,
                  *, quiet=False) -> FeatureCache:
    from harness.features.audio import load_audio, window_centres, window_flags

    extractor, cache = audio_cache(release, cfg)
    videos = cache.missing(sorted({video_of(n) for n in names}))
    with progress("s of audio", disable=quiet or not videos) as bar:
        seconds = {v: release.video_info(v).duration for v in videos}
        task = bar.add_task(f"audio {cfg.audio}", total=sum(seconds.values()), info="")
        for video in videos:
            info = release.video_info(video)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore" if quiet else "default")
                track = load_audio(info.path, duration_hint=info.duration)
            feat = extractor(track)
            times = window_centres(track.duration)
            cache.save(video, feat, times, window_flags(track))
            bar.update(task, advance=seconds[video], info=video)
    return cache


# --------------------------------------------------------------------------- pose

def pose_cache(release: Release) -> FeatureCache:
    from harness.features.pose import CONF_MIN

    # bump "reader" when the parsing, person choice or normalisation in features.pose changes
    return FeatureCache(cache_root(release), "pose-coco18",
                        {"normalised": True, "dim": 36, "conf_min": CONF_MIN, "reader": 2})


def extract_pose(release: Release, names: list[str], *, quiet=False) -> FeatureCache:
    """Pose rows of each name: the annotated person, picked by side (see ``annotated_side``)."""
    from harness.features.pose import read_pose_track

    cache = pose_cache(release)
    everyone = all_names(release)  # siblings decide a plain name's side, whatever the shard
    todo = cache.missing(names)
    with progress("names", disable=quiet or not todo) as bar:
        task = bar.add_task("pose", total=len(todo), info="")
        for name in todo:
            info = release.video_info(name)
            folder = release.layout.pose_dir
            if folder is None or not (folder / video_of(name)).is_dir():
                warnings.warn(f"no OpenPose output for {video_of(name)}: pose set to zeros",
                              stacklevel=2)
                times = np.arange(0.0, max(info.duration, 1 / POSE_RATE_HZ), 1 / POSE_RATE_HZ)
                cache.save(name, np.zeros((times.size, 36), np.float32), times,
                           np.ones(times.size, bool))
            else:
                track = read_pose_track(folder, video_of(name), info.fps,
                                        annotated_side(name, everyone), info.width)
                cache.save(name, track.feats, track.times, track.flags)
            bar.update(task, advance=1, info=name)
    return cache


# --------------------------------------------------------------------------- all

def builtin_source(modality: str, cache: FeatureCache) -> FeatureSource:
    """How the harness's own extractors store features: faces per frame of a name, audio per
    video every 0.5 s, OpenPose per name twice a second."""
    return FeatureSource(modality, cache, per_frame=modality == "face",
                         by_video=modality == "audio")


def extract_all(release: Release, split: Split, modalities: tuple[str, ...],
                cfg: FeatureConfig, *, names: list[str] | None = None,
                quiet: bool = False) -> tuple[dict[str, FeatureCache], FaceStage | None]:
    """Make sure every feature the modalities need is cached; returns the caches."""
    unknown = set(modalities) - set(MODALITIES)
    if unknown:
        raise HarnessError(f"unknown modality {sorted(unknown)}; known: {', '.join(MODALITIES)}")
    names = all_names(release) if names is None else names
    distributed.setup(cfg.device)
    mine = shard_names(names, distributed.shard())  # torchrun: each rank its own videos
    caches: dict[str, FeatureCache] = {}
    stage = None
    if "face" in modalities:
        cfg.face.device = cfg.device
        cfg.face.check()
        faces = release.with_image_set(cfg.face.image_set)
        check_faces(faces, sorted({*names, *split.train, *split.val}),
                    allow_missing=cfg.allow_missing_faces)
        if cfg.face.frozen:
            caches["face"] = _frozen_face(faces, mine, cfg, quiet=quiet)
        else:
            stage = face_stage(faces, split, cfg, quiet=quiet)
            caches["face"] = extract_face(faces, names, stage, cfg, split, quiet=quiet)
    if "audio" in modalities:
        caches["audio"] = extract_audio(release, mine, cfg, quiet=quiet)
    if "pose" in modalities:
        caches["pose"] = extract_pose(release, mine, quiet=quiet)
    distributed.barrier()  # every rank's shard is cached before anyone reads the others'
    return caches, stage


def feature_sources(release: Release, split: Split, slots: tuple[str, ...], cfg: FeatureConfig,
                    *, inputs: dict[str, str] | None = None, names: list[str] | None = None,
                    quiet: bool = False) -> tuple[dict[str, FeatureSource], FaceStage | None]:
    """The source of each modality slot a baseline reads, its features made sure of.

    A slot reads the feature set ``inputs[slot]`` (default: the slot's own name): the harness's
    own ``face``/``audio``/``pose`` extractors (run now if not cached), or a feature set the user
    imported under that name. Returns the sources and the stage-1 face model, if one was used.
    """
    wanted = {slot: (inputs or {}).get(slot, slot) for slot in slots}
    builtin = tuple(m for m in MODALITIES if m in wanted.values())
    caches, stage = extract_all(release, split, builtin, cfg, names=names, quiet=quiet)
    return {slot: builtin_source(src, caches[src]) if src in caches
            else imported_source(release, src) for slot, src in wanted.items()}, stage
