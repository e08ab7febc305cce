"""The registry of feature extractors: adding one is this one file, and the driver, the run
record and the windows find it; the built-in extractors keep their cache keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from harness.data.splits import official_split
from harness.errors import HarnessError
from harness.features.audio.extractor import (
    create_audio_extractor,
    list_audio_extractors,
    register_audio_extractor,
    takes_no_weights,
)
from harness.features.cache import FeatureCache, cache_root, config_hash
from harness.features.extract import (
    FeatureConfig,
    all_names,
    extract_all,
    feature_record,
    feature_sources,
)
from harness.features.extractors import (
    EXTRACTORS,
    Alignment,
    Extracted,
    Extractor,
    ExtractRequest,
    extractor_for,
    get_extractor,
    modalities,
    register_extractor,
)
from harness.features.face.config import FaceConfig
from harness.features.face.extractor import face_cache
from harness.features.face.schemes import SCHEMES, BackboneScheme, register_scheme
from harness.features.timeline import frame_times
from harness.features.windows import build_windows
from harness.paths import file_digest

# --------------------------------------------------------------------------- a new modality
# Everything a new modality needs, in one place: the mean brightness of each name's frames,
# one row per frame (here from the frame number alone, to stay fast).

TOY = "toy_brightness"


def _toy_cache(req: ExtractRequest) -> FeatureCache:
    return FeatureCache(cache_root(req.release), "toy-brightness", {"version": 1})


def _toy_extract(req: ExtractRequest) -> Extracted:
    cache = _toy_cache(req)
    for name in cache.missing(req.mine):
        n = req.release.n_frames(name)
        frames = np.arange(1, n + 1)
        feat = np.stack([frames / n, np.full(n, len(name))], axis=1).astype(np.float32)
        cache.save(name, feat, frame_times(frames, req.release.fps(name)), np.zeros(n, bool))
    return Extracted(cache)


register_extractor(Extractor(TOY, TOY, Alignment.PER_FRAME, _toy_cache, _toy_extract,
                             label=lambda cfg: "toy-v1"), owner=__name__)


def test_a_new_modality_is_extracted_cached_and_read_back(synth_release):
    split = official_split(synth_release)
    names = all_names(synth_release)[:3]
    assert TOY in modalities() and extractor_for(TOY, FeatureConfig()).name == TOY
    caches, stage = extract_all(synth_release, split, (TOY,), FeatureConfig(device="cpu"),
                                names=names, quiet=True)
    assert stage is None and set(caches) == {TOY}
    for name in names:
        back = caches[TOY].load(name)
        n = synth_release.n_frames(name)
        assert back.feat.shape == (n, 2)
        np.testing.assert_allclose(back.feat[:, 0], np.arange(1, n + 1) / n)
        assert not back.flag.any()
    # a baseline slot reads it like any modality: the windows line it up by frame
    sources, _ = feature_sources(synth_release, split, ("face",), FeatureConfig(device="cpu"),
                                 inputs={"face": TOY}, names=names, quiet=True)
    assert sources["face"].per_frame and not sources["face"].by_video
    ws = build_windows(synth_release, names[:1], sources, labelled_only=False)
    assert ws.dims["face"] == 2
    assert feature_record(sources, FeatureConfig()) == {"face": "toy-v1"}


def test_a_second_registration_of_a_name_by_another_module_is_refused():
    clash = Extractor(TOY, "other", Alignment.TIMED, _toy_cache, _toy_extract, label=str)
    with pytest.raises(HarnessError, match="already registered"):
        register_extractor(clash, owner="somewhere.else")


def test_unknown_modality_lists_the_known_ones(synth_release):
    with pytest.raises(HarnessError, match=r"unknown modality \['gaze'\].*face, audio, pose"):
        extract_all(synth_release, official_split(synth_release), ("gaze",), FeatureConfig())


# --------------------------------------------------------------------------- a new audio one

class _Loudness:
    """RMS of each window: the smallest audio extractor there is."""

    name, dim = "toy_loudness", 1

    def config(self) -> dict:
        return {"name": self.name, "version": 1}

    def __call__(self, track) -> np.ndarray:
        from harness.features.audio.windows import padded

        y, rows = padded(track)
        hop = len(y) // max(rows, 1)
        return np.array([[np.sqrt(np.mean(y[r * hop:(r + 1) * hop] ** 2))] for r in range(rows)],
                        np.float32)


@pytest.fixture
def loudness():
    """Registered for the test only: the built-in list stays the three of test_audio."""
    register_audio_extractor("toy_loudness", takes_no_weights("toy_loudness", _Loudness),
                             owner=__name__)
    yield "toy_loudness"
    EXTRACTORS.remove("toy_loudness")


def test_a_new_audio_extractor_is_chosen_by_name_and_cached_per_video(synth_release, loudness):
    assert list_audio_extractors()[-1] == loudness
    cfg = FeatureConfig(audio=loudness, device="cpu")
    names = all_names(synth_release)[:2]
    caches, _ = extract_all(synth_release, official_split(synth_release), ("audio",), cfg,
                            names=names, quiet=True)
    cache = caches["audio"]
    assert cache.key.startswith(f"audio-{loudness}-")
    assert cache.config == {"name": loudness, "version": 1, "decoder": 2}
    from harness.data.videos import video_of

    back = cache.load(video_of(names[0]))
    assert back.feat.shape[1] == 1 and np.isfinite(back.feat).all()
    assert feature_record(
        {"audio": feature_sources(synth_release, official_split(synth_release), ("audio",), cfg,
                                  names=names, quiet=True)[0]["audio"]}, cfg) == {
        "audio": loudness}


def test_an_unknown_audio_extractor_lists_the_known_ones():
    with pytest.raises(HarnessError, match="unknown audio extractor 'mfcc'.*logmel"):
        extractor_for("audio", FeatureConfig(audio="mfcc"))
    with pytest.raises(HarnessError, match="known audio extractors: logmel"):
        create_audio_extractor("face-backbone")  # a face extractor is no audio one


# --------------------------------------------------------------------------- a new scheme

class _MeanColour(torch.nn.Module):
    """A 'pretrained model' read from a folder: the mean of each channel, times a scale."""

    input_size, feature_dim = 16, 3

    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3)) * self.scale

    def identity(self) -> dict:
        return {"toy": self.scale}


@pytest.fixture
def toy_scheme():
    def locate(rest: str) -> Path:
        path = Path(rest)
        if not (path / "scale.txt").is_file():
            raise HarnessError(f"no toy model in {path}")
        return path

    register_scheme(BackboneScheme(
        prefix="toy", locate=locate, digest=lambda p: "toy:" + file_digest(p / "scale.txt"),
        load=lambda p, cfg, device: _MeanColour(float((p / "scale.txt").read_text())),
    ), owner=__name__)
    yield
    SCHEMES.remove("toy")


def test_a_backbone_scheme_plugs_in_with_one_registration(tmp_path, synth_release, toy_scheme):
    model = tmp_path / "model"
    model.mkdir()
    (model / "scale.txt").write_text("2.0")
    face = FaceConfig(backbone=f"toy:{model}", device="cpu", num_workers=0, batch_size=16)
    assert face.frozen and face.label() == "toy:model"
    assert face.identity()["backbone"] == "toy:" + file_digest(model / "scale.txt")
    names = all_names(synth_release)[:1]
    caches, stage = extract_all(synth_release, official_split(synth_release), ("face",),
                                FeatureConfig(face=face, device="cpu"), names=names, quiet=True)
    cache = caches["face"]
    assert stage is None and cache.key.startswith("face-toy-")
    assert cache.config == {"fit": "frozen", "backbone": {"toy": 2.0}, "images": "cropped_aligned"}
    back = cache.load(names[0])
    assert back.feat.shape == (synth_release.n_frames(names[0]), 3)
    assert back.feat[~back.flag].min() >= 0 and back.feat.max() <= 2.0
    with pytest.raises(HarnessError, match="cannot be fine-tuned"):
        FaceConfig(backbone=f"toy:{model}", finetune=True).check()
    with pytest.raises(HarnessError, match="unknown backbone scheme 'nope'.*onnx"):
        FaceConfig(backbone="nope:x").label()


# --------------------------------------------------------------------------- keys unchanged

def test_default_cache_keys_and_config_hashes_are_unchanged(synth_release):
    """Literal values computed on main before the features moved into one package per
    modality: a cache made before must still be found after, and a run keep its config hash.
    Change them only with a deliberate version bump (every user's cache is rebuilt)."""
    req = ExtractRequest(synth_release, official_split(synth_release), [], [], FeatureConfig())
    assert get_extractor("logmel").cache(req).key == "audio-logmel-01f0efb7b5f2"
    assert extractor_for("pose", req.cfg).cache(req).key == "pose-coco18-bea3e71f2ac3"
    stage = "light-official-0123456789"
    assert face_cache(synth_release, stage, "light", req.split).key == "face-light-dc272c506a61"
    assert config_hash(FaceConfig().identity()) == "d87ab28e91f6"
    assert config_hash(FaceConfig(backbone="emonet").identity()) == "f08dc17e095b"


def test_each_modality_keeps_its_alignment():
    cfg = FeatureConfig()
    assert extractor_for("face", cfg).alignment == Alignment.PER_FRAME
    assert extractor_for("audio", cfg).alignment == Alignment.BY_VIDEO
    assert extractor_for("pose", cfg).alignment == Alignment.TIMED
    assert [extractor_for(m, cfg).label(cfg) for m in ("face", "audio", "pose")] == [
        "light", "logmel", "coco18"]
