"""Hugging Face models as frozen extractors (``--backbone hf:PATH``, ``--audio hf:PATH``).

Every model is a tiny random one built here with ``transformers`` and saved with
``save_pretrained`` into a temp folder; no test may open a socket (a guard fails it).
Tiny random models give features with no signal: the end-to-end test checks that the pipeline
runs and records what it ran, not a score.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")

from harness.errors import HarnessError  # noqa: E402
from harness.features.audio.windows import AudioTrack  # noqa: E402
from harness.features.huggingface import (  # noqa: E402
    create_hf_audio_extractor,
    create_hf_backbone,
    folder_digest,
)
from harness.features.huggingface.image import HfImageBackbone, HfImageConfig  # noqa: E402

SR = 16000


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Offline variables set and every socket connection a test failure."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(var, "1")

    def refuse(*args, **kwargs):
        pytest.fail(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _save(folder: Path, model, processor=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _quiet(model.save_pretrained, folder)
    if processor is not None:
        _quiet(processor.save_pretrained, folder)
    return folder


def _vit_kwargs(**kw):
    return dict(hidden_size=32, num_hidden_layers=5, num_attention_heads=2,
                intermediate_size=48) | kw


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Tiny random models and their processors, saved as a user would have them."""
    t = transformers
    root = tmp_path_factory.mktemp("hf-models")
    torch.manual_seed(0)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    vision = {
        # DINOv2: shortest edge then centre crop, bicubic (a downscale of the 112-pixel faces)
        "dinov2": (t.Dinov2Model(t.Dinov2Config(**_vit_kwargs(patch_size=14, image_size=56))),
                   _quiet(t.BitImageProcessor, size={"shortest_edge": 64},
                          crop_size={"height": 56, "width": 56}, do_center_crop=True,
                          resample=3, image_mean=mean, image_std=std)),
        # ViT: height/width, bilinear, an upscale; a pooler
        "vit": (t.ViTModel(t.ViTConfig(**_vit_kwargs(patch_size=16, image_size=128))),
                _quiet(t.ViTImageProcessor, size={"height": 128, "width": 128}, resample=2,
                       image_mean=[0.5] * 3, image_std=[0.5] * 3)),
        "clip": (t.CLIPVisionModel(t.CLIPVisionConfig(**_vit_kwargs(patch_size=8,
                                                                    image_size=48))),
                 _quiet(t.CLIPImageProcessor, size={"shortest_edge": 48},
                        crop_size={"height": 48, "width": 48})),
        "convnext": (t.ConvNextModel(t.ConvNextConfig(num_channels=3, hidden_sizes=[8, 16],
                                                      depths=[1, 1], num_stages=2)),
                     _quiet(t.ConvNextImageProcessor, size={"shortest_edge": 64},
                            crop_pct=0.875)),
    }
    speech = {
        # wav2vec2 with non-default strides (hop 4*2*2 = 16 samples: 1000 frames/s) and layer
        # norm in the feature encoder (group norm would normalise over the whole chunk)
        "wav2vec2": (t.Wav2Vec2Model(t.Wav2Vec2Config(
            **_vit_kwargs(), conv_dim=(16, 16, 16), conv_kernel=(8, 4, 4),
            conv_stride=(4, 2, 2), feat_extract_norm="layer", num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=2)), t.Wav2Vec2FeatureExtractor(do_normalize=True)),
        "wavlm": (t.WavLMModel(t.WavLMConfig(
            **_vit_kwargs(), conv_dim=(16, 16, 16), conv_kernel=(10, 8, 4), conv_stride=(5, 4, 4),
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, num_buckets=16)),
            t.Wav2Vec2FeatureExtractor(do_normalize=False)),
        # the published geometry (hop 320 samples: 50 frames/s), tiny layers: for the CLI
        "w2v-base-geometry": (t.Wav2Vec2Model(t.Wav2Vec2Config(
            **_vit_kwargs(num_hidden_layers=4), conv_dim=(16,) * 7,
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)),
            t.Wav2Vec2FeatureExtractor(do_normalize=True)),
    }
    out = {name: _save(root / name, model, proc)
           for name, (model, proc) in (vision | speech).items()}
    out["bert"] = _save(root / "bert", t.BertModel(t.BertConfig(**_vit_kwargs(vocab_size=64))))
    return out


def _faces(n=3, side=112, seed=0) -> torch.Tensor:
    """Smooth-ish random faces, uint8 RGB (B, H, W, 3)."""
    g = torch.Generator().manual_seed(seed)
    small = torch.randint(0, 256, (n, 3, side // 4, side // 4), generator=g).float()
    big = torch.nn.functional.interpolate(small, size=(side, side), mode="bilinear")
    noise = torch.randint(-20, 21, big.shape, generator=g)
    return (big + noise).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def _processor(folder: Path):
    return _quiet(transformers.AutoImageProcessor.from_pretrained, folder)


# --------------------------------------------------------------------------- faces


@pytest.mark.parametrize("name", ["dinov2", "vit", "clip", "convnext"])
def test_preprocessing_equals_the_image_processor(models, name):
    backbone = create_hf_backbone(f"hf:{models[name]}")
    faces = _faces()
    want = _processor(models[name])(images=list(faces.numpy()), return_tensors="pt")
    got = backbone.preprocess(faces)
    assert got.shape == want["pixel_values"].shape
    assert (got - want["pixel_values"]).abs().max() < 1e-2


@pytest.mark.parametrize("name", ["dinov2", "vit", "clip"])
def test_features_equal_a_direct_forward_on_the_same_input(models, name):
    backbone = create_hf_backbone(f"hf:{models[name]}")
    assert backbone.pool == "pooler"  # the default where the model has a pooled output
    pixels = backbone.preprocess(_faces())
    model = _quiet(transformers.AutoModel.from_pretrained, models[name]).eval()
    with torch.no_grad():
        want = model(pixel_values=pixels).pooler_output
    got = backbone.forward(pixels)
    assert got.dtype == torch.float32 and got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    # the harness's encoder input (RGB in [0, 1] at the face side) gives the same features
    enc = backbone(backbone_input(_faces()))
    torch.testing.assert_close(enc, backbone.features(_faces()), atol=1e-6, rtol=0)


def backbone_input(faces: torch.Tensor) -> torch.Tensor:
    return faces.permute(0, 3, 1, 2).float() / 255.0


def test_layer_choice_and_pooling(models):
    spec = f"hf:{models['dinov2']}"
    model = _quiet(transformers.AutoModel.from_pretrained, models["dinov2"]).eval()
    base = create_hf_backbone(spec)
    pixels = base.preprocess(_faces())
    with torch.no_grad():
        out = model(pixel_values=pixels, output_hidden_states=True)
    hidden = out.hidden_states
    assert len(hidden) == 6  # embeddings + 5 layers
    last4 = torch.stack(hidden[-4:]).mean(0)
    cases = {("cls", "last4"): last4[:, 0], ("mean", "last4"): last4[:, 1:].mean(1),
             ("cls", "last"): out.last_hidden_state[:, 0], ("cls", "2"): hidden[2][:, 0],
             ("mean", "0"): hidden[0][:, 1:].mean(1)}
    for (pool, layers), want in cases.items():
        got = create_hf_backbone(spec, pool=pool, layers=layers).forward(pixels)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0, msg=f"{pool} {layers}")
    assert create_hf_backbone(spec, layers="last4").pool == "cls"  # no pooled output there
    for layers in ("last6", "6"):
        with pytest.raises(HarnessError, match=f"{models['dinov2']}.*5 layers"):
            create_hf_backbone(spec, layers=layers)
    with pytest.raises(HarnessError, match="pooled output comes from the last layer"):
        create_hf_backbone(spec, pool="pooler", layers="last4")


def test_convolutional_model_pools_its_map(models):
    spec = f"hf:{models['convnext']}"
    backbone = create_hf_backbone(spec, pool="mean")
    pixels = backbone.preprocess(_faces())
    model = _quiet(transformers.AutoModel.from_pretrained, models["convnext"]).eval()
    with torch.no_grad():
        want = model(pixel_values=pixels).last_hidden_state.mean((2, 3))
    torch.testing.assert_close(backbone.forward(pixels), want, atol=1e-5, rtol=0)
    with pytest.raises(HarnessError, match=f"{models['convnext']}.*no class token"):
        create_hf_backbone(spec, pool="cls")
    with pytest.raises(HarnessError, match="differ in shape"):
        create_hf_backbone(spec, pool="mean", layers="last2")


def test_unknown_pooling_or_layers_name_the_folder(models):
    spec = f"hf:{models['vit']}"
    with pytest.raises(HarnessError, match=f"{models['vit']}.*--hf-pool"):
        HfImageBackbone(spec, HfImageConfig(pool="max"))
    with pytest.raises(HarnessError, match=f"{models['vit']}.*--hf-layers"):
        HfImageBackbone(spec, HfImageConfig(layers="first"))


def test_cache_key_changes_with_a_weight_file(models, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(models["vit"], folder)
    before = create_hf_backbone(f"hf:{folder}").identity()
    assert before == create_hf_backbone(f"hf:{folder}").identity()
    assert before != create_hf_backbone(f"hf:{folder}", pool="cls").identity()
    assert before != create_hf_backbone(f"hf:{folder}", layers="3", pool="mean").identity()
    digest = folder_digest(folder)
    model = _quiet(transformers.AutoModel.from_pretrained, folder)
    with torch.no_grad():
        model.embeddings.cls_token.add_(1.0)
    _quiet(model.save_pretrained, folder)
    assert folder_digest(folder) != digest
    assert create_hf_backbone(f"hf:{folder}").identity()["hf"] != before["hf"]


def test_bad_folders_are_errors_naming_the_folder(models, tmp_path):
    import shutil

    missing = tmp_path / "nowhere"
    with pytest.raises(HarnessError, match=f"{missing}.*never downloads"):
        create_hf_backbone(f"hf:{missing}")
    with pytest.raises(HarnessError, match="no model 'org/absent' in the local Hugging Face"):
        create_hf_backbone("hf:org/absent")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(HarnessError, match=f"{empty}: no config.json"):
        create_hf_backbone(f"hf:{empty}")
    cut = tmp_path / "cut"
    shutil.copytree(models["vit"], cut)
    weights = cut / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(HarnessError, match=f"{cut}: the weights do not load"):
        create_hf_backbone(f"hf:{cut}")
    noweights = tmp_path / "noweights"
    shutil.copytree(models["vit"], noweights)
    (noweights / "model.safetensors").unlink()
    with pytest.raises(HarnessError, match=f"{noweights}: no weights"):
        create_hf_backbone(f"hf:{noweights}")
    garbled = tmp_path / "garbled"
    shutil.copytree(models["vit"], garbled)
    (garbled / "config.json").write_text("{not json")
    with pytest.raises(HarnessError, match=f"{garbled}.*config.json: unreadable"):
        create_hf_backbone(f"hf:{garbled}")
    with pytest.raises(HarnessError, match=f"{models['bert']}.*text-only"):
        create_hf_backbone(f"hf:{models['bert']}")
    with pytest.raises(HarnessError, match=f"{models['wav2vec2']}.*--audio hf:PATH"):
        create_hf_backbone(f"hf:{models['wav2vec2']}")
    with pytest.raises(HarnessError, match=f"{models['vit']}.*--backbone hf:PATH"):
        create_hf_audio_extractor(f"hf:{models['vit']}")
    noproc = tmp_path / "noproc"
    shutil.copytree(models["vit"], noproc)
    (noproc / "preprocessor_config.json").unlink()
    with pytest.raises(HarnessError, match=f"{noproc}: no preprocessor_config.json"):
        create_hf_backbone(f"hf:{noproc}")


def test_weights_of_another_model_are_refused(models, tmp_path):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(models["vit"], other)
    shutil.copy(models["clip"] / "model.safetensors", other / "model.safetensors")
    with pytest.raises(HarnessError, match=f"{other}"):
        create_hf_backbone(f"hf:{other}")


# --------------------------------------------------------------------------- audio


def _track(seconds: float, seed: int = 0, **kw) -> AudioTrack:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SR)) / SR
    y = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    return AudioTrack(y.astype(np.float32), SR, True, seconds, **kw)


def test_frame_rate_comes_from_the_conv_strides(models):
    ex = create_hf_audio_extractor(f"hf:{models['wav2vec2']}")
    assert (ex.geometry.hop, ex.geometry.field) == (16, 8 + 3 * 4 + 3 * 8)  # strides 4, 2, 2
    assert ex.frame_rate == 1000.0
    feat, times, flags = ex.timed(_track(0.5))
    model = _quiet(transformers.AutoModel.from_pretrained, models["wav2vec2"])
    n = int(model._get_feat_extract_output_lengths(torch.tensor(SR // 2)))
    assert feat.shape == (n, 32) and times.shape == flags.shape == (n,)
    np.testing.assert_allclose(np.diff(times), 16 / SR)  # never a hard-coded 20 ms
    assert times[0] == pytest.approx(ex.geometry.field / 2 / SR)
    wavlm = create_hf_audio_extractor(f"hf:{models['wavlm']}")
    assert wavlm.frame_rate == SR / 80


def test_audio_features_equal_a_direct_forward(models):
    ex = create_hf_audio_extractor(f"hf:{models['wav2vec2']}", layers="last4")
    track = _track(0.4)
    fe = transformers.Wav2Vec2FeatureExtractor.from_pretrained(models["wav2vec2"])
    x = fe(track.samples, sampling_rate=SR, return_tensors="pt")["input_values"]
    model = _quiet(transformers.AutoModel.from_pretrained, models["wav2vec2"]).eval()
    with torch.no_grad():
        hidden = model(input_values=x, output_hidden_states=True).hidden_states
    want = torch.stack(hidden[-4:]).mean(0)[0].numpy()
    np.testing.assert_allclose(ex(track), want, atol=1e-5, rtol=0)
    with pytest.raises(HarnessError, match="only 5 layers"):
        create_hf_audio_extractor(f"hf:{models['wav2vec2']}", layers="last9")


def test_chunked_audio_equals_one_pass_where_the_receptive_field_allows(models):
    """Layer 0 (conv features + the positional convolution, 16 frames) fits in 0.05 s of
    context: chunked equals one pass within 1e-5. Deeper layers attend to the whole chunk, so
    they only approach it; the last layer here stays within 0.5 of features of size ~1."""
    spec = f"hf:{models['wav2vec2']}"
    track = _track(1.0)
    one = create_hf_audio_extractor(spec, layers="0", chunk_s=10.0)(track)
    chunked = create_hf_audio_extractor(spec, layers="0", chunk_s=0.1, context_s=0.05,
                                        batch_size=3)(track)
    assert one.shape == chunked.shape
    np.testing.assert_allclose(chunked, one, atol=1e-5, rtol=0)
    last_one = create_hf_audio_extractor(spec, chunk_s=10.0)(track)
    last_chunked = create_hf_audio_extractor(spec, chunk_s=0.1, context_s=0.05)(track)
    assert np.abs(last_chunked - last_one).max() < 0.5


def test_audio_reports_its_progress_chunk_by_chunk(models):
    """The extraction bar (audio-seconds/s) advances after each forward pass, not per video."""
    ex = create_hf_audio_extractor(f"hf:{models['wav2vec2']}", chunk_s=0.25, context_s=0.05,
                                   batch_size=1)
    done: list[float] = []
    ex.report = done.append
    ex(_track(1.0))
    g = ex.geometry
    assert len(done) == 4 and all(s > 0 for s in done)
    assert sum(done) == pytest.approx(g.frames(SR) * g.hop / SR)  # 1 s, less one field


def test_audio_rows_are_timed_flagged_and_poolable(models):
    spec = f"hf:{models['wavlm']}"
    track = _track(2.0, spans=((1.2, 2.0),), audio_end=2.0)  # audio starts late, at 1.2 s
    feat, times, flags = create_hf_audio_extractor(spec).timed(track)
    assert flags[times < 1.2].all() and not flags[times >= 1.2].any()
    wfeat, wtimes, wflags = create_hf_audio_extractor(spec, rows="windows").timed(track)
    np.testing.assert_allclose(wtimes, np.arange(4) * 0.5 + 0.5)
    inside = (times >= 0.5) & (times < 1.5)
    np.testing.assert_allclose(wfeat[1], feat[inside].mean(0), atol=1e-5)
    assert wflags.tolist() == [True, False, False, False]  # [0, 1] s holds no audio
    silent = AudioTrack(np.zeros(SR, np.float32), SR, False, 1.0)
    assert create_hf_audio_extractor(spec).timed(silent)[2].all()


def test_audio_cache_key_follows_weights_and_options(models, tmp_path):
    import shutil

    folder = tmp_path / "w"
    shutil.copytree(models["wavlm"], folder)
    base = create_hf_audio_extractor(f"hf:{folder}").config()
    assert base != create_hf_audio_extractor(f"hf:{folder}", layers="last4").config()
    assert base != create_hf_audio_extractor(f"hf:{folder}", rows="windows").config()
    with open(folder / "model.safetensors", "r+b") as fh:  # one weight byte changed
        fh.seek(-3, os.SEEK_END)
        byte = fh.read(1)
        fh.seek(-3, os.SEEK_END)
        fh.write(bytes([byte[0] ^ 1]))
    assert create_hf_audio_extractor(f"hf:{folder}").config()["hf"] != base["hf"]


# --------------------------------------------------------------------------- the CLI


def harness(*args, home: Path, check: bool = True) -> tuple[int, str]:
    """``harness ARGS`` through the console entry point, in this process (the interpreter and
    transformers are loaded once for the module, not once per command): exit code, stderr."""
    import contextlib
    import io

    from harness import cli

    err = io.StringIO()
    code = 0
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(err):
        mp.setenv("ABAW_HARNESS_HOME", str(home))
        mp.setenv("COLUMNS", "200")
        mp.setattr(sys, "argv", ["harness", *map(str, args)])
        mp.setattr(warnings, "showwarning", warnings.showwarning)  # main() replaces it
        threads = torch.get_num_threads()
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (exc.code is not None)
        finally:
            torch.set_num_threads(threads)  # --threads 1 is the run's, not the suite's
    if check and code != 0:
        raise AssertionError(f"harness {args} exited {code}\n{err.getvalue()}")
    return code, err.getvalue()


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    """Three 3-second videos: enough for a split, a run and little work."""
    from harness.data.synth import synthesize

    root = tmp_path_factory.mktemp("hf-synth") / "corpus"
    synthesize(root, seed=3, videos=3, seconds=3, progress=False)
    return root


def test_extract_and_run_end_to_end_on_hf_models(models, tiny_corpus, tmp_path):
    """Tiny random models: the run must complete and record its features (no signal)."""
    home = tmp_path / "home"
    face, audio = f"hf:{models['dinov2']}", f"hf:{models['w2v-base-geometry']}"
    hf = ("--backbone", face, "--audio", audio, "--hf-layers", "last4",
          "--hf-audio-layers", "last4", "--device", "cpu", "--workers", 0)
    harness("extract", "--data", tiny_corpus, "--modality", "face", "--modality", "audio",
            "--quiet", *hf, home=home)
    (audio_dir,) = home.glob("cache/*/audio-hf-*")
    entry = next(p for p in audio_dir.iterdir() if p.is_dir())
    times = np.load(entry / "time.npy")
    np.testing.assert_allclose(np.diff(times), 0.02, atol=1e-9)  # the model's frame rate
    work = tmp_path / "work"
    harness("run", "dense_temporal", "--data", tiny_corpus, "--workdir", work, "--epochs", 1,
            "--batch-size", 16, "--threads", 1, "--quiet", *hf, home=home)
    (run,) = (work / "runs").iterdir()
    info = json.loads((run / "run.json").read_text())
    assert info["features"]["face"] == "hf:dinov2"
    assert info["features"]["audio"] == "hf:w2v-base-geometry"
    assert info["features"]["face_fit"] == "frozen"
    assert len(list(home.glob("cache/*/face-hf-*"))) == 1  # extract's cache was reused
    assert len(list(home.glob("cache/*/audio-hf-*"))) == 1
    code, err = harness("extract", "--data", tiny_corpus, "--modality", "face", "--backbone",
                        face, "--hf-pool", "max", home=home, check=False)
    assert code == 2 and str(models["dinov2"]) in err.replace("\n", "")
    code, err = harness("extract", "--data", tiny_corpus, "--modality", "audio",
                        "--audio", f"hf:{models['bert']}", home=home, check=False)
    assert code == 2 and "text-only" in err


def test_hf_options_without_an_hf_model_are_refused(tiny_corpus, tmp_path):
    code, err = harness("extract", "--data", tiny_corpus, "--hf-audio-rows", "windows",
                        home=tmp_path / "home", check=False)
    assert code == 2 and "apply to --audio hf:PATH" in err.replace("\n", " ")


def test_default_keys_are_unchanged_and_hf_keys_follow_content(models, tmp_path):
    import shutil

    from harness.features.extract import FeatureConfig, HfAudioOptions
    from harness.features.face.config import FaceConfig, HfBackboneConfig
    from harness.runs import RunConfig

    plain = RunConfig("attention_fusion").identity()
    assert "hf_audio" not in plain["features"] and "hf" not in plain["features"]["face"]
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(models["wavlm"], a)
    shutil.copytree(models["wavlm"], b)
    face = FaceConfig(backbone=f"hf:{models['vit']}")
    assert face.frozen and face.label() == "hf:vit"
    assert face.identity()["backbone"].startswith("hf-sha256:")
    assert face.identity()["hf"] == {"pool": None, "layers": "last"}
    last4 = FaceConfig(backbone=face.backbone, hf=HfBackboneConfig(layers="last4"))
    assert last4.identity() != face.identity()
    tuned = FaceConfig(backbone=f"hf:{models['vit']}", finetune=True)  # stage 1 fine-tunes it
    tuned.check()
    assert not tuned.frozen and tuned.label() == "hf:vit-finetuned"
    assert tuned.identity()["finetune"] is True and tuned.identity()["hf"] == face.identity()["hf"]
    with pytest.raises(HarnessError, match=str(models["vit"])):
        FaceConfig(backbone=face.backbone, hf=HfBackboneConfig(pool="max")).check()
    ids = [RunConfig("attention_fusion", features=FeatureConfig(
        face=face, audio=f"hf:{folder}", hf_audio=HfAudioOptions(layers="last4"))).identity()
        for folder in (a, b)]
    assert ids[0] == ids[1]  # same content in another folder: same run key
    assert ids[0]["features"]["audio"].startswith("hf-sha256:")
    assert ids[0]["features"]["hf_audio"] == {"layers": "last4", "rows": "frames"}


def test_hf_registers_itself_as_a_scheme_and_an_audio_extractor(models, tiny_corpus):
    from harness.data.release import load_release
    from harness.features.audio.extractor import list_audio_extractors
    from harness.features.extract import FeatureConfig, HfAudioOptions
    from harness.features.extractors import extractor_for
    from harness.features.face.config import FaceConfig, HfBackboneConfig
    from harness.features.face.frozen import frozen_cache, frozen_encoder

    synth_release = _quiet(load_release, tiny_corpus)
    assert "hf:" in list_audio_extractors()
    cfg = FeatureConfig(audio=f"hf:{models['wavlm']}", hf_audio=HfAudioOptions(rows="windows"))
    entry = extractor_for("audio", cfg)
    assert entry.name == "hf:" and entry.label(cfg) == "hf:wavlm"
    from harness.features.audio.extractor import _cache
    from harness.features.extractors import ExtractRequest

    extractor, cache = _cache(ExtractRequest(synth_release, None, [], [], cfg))
    assert extractor.cfg.rows == "windows" and cache.dir.name.startswith("audio-hf-")
    face = FaceConfig(backbone=f"hf:{models['dinov2']}", hf=HfBackboneConfig(pool="mean"))
    encoder = frozen_encoder(face, torch.device("cpu"))
    assert isinstance(encoder, HfImageBackbone) and encoder.pool == "mean"
    assert frozen_cache(synth_release, face, encoder).dir.name.startswith("face-hf-")


def test_a_model_id_resolves_only_in_the_local_cache(models, tmp_path, monkeypatch):
    import shutil

    hub = pytest.importorskip("huggingface_hub")
    cache = tmp_path / "hub"
    repo = cache / "models--org--tiny-vit"
    shutil.copytree(models["vit"], repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(hub.constants, "HF_HUB_CACHE", str(cache))
    backbone = create_hf_backbone("hf:org/tiny-vit")
    assert backbone.folder == (repo / "snapshots" / "abc123").resolve()
    from harness.features.huggingface import hf_label

    assert hf_label("hf:org/tiny-vit") == "hf:org/tiny-vit"
    with pytest.raises(HarnessError, match="no model 'org/other' in the local"):
        create_hf_backbone("hf:org/other")  # the socket guard fails the test on a download


def test_config_files_hold_the_hf_options(models, tmp_path):
    from harness.api.extract import check_features, extract_config
    from harness.errors import HarnessError as Error

    toml = tmp_path / "hf.toml"
    toml.write_text(f'[features]\naudio = "hf:{models["wavlm"]}"\n'
                    f'[features.hf_audio]\nrows = "windows"\n'
                    f'[features.face]\nbackbone = "hf:{models["vit"]}"\n'
                    f'[features.face.hf]\nlayers = "last4"\npool = "mean"\n')
    cfg = extract_config(toml, hf_layers="2").features  # the command line overrides the file
    assert (cfg.face.hf.pool, cfg.face.hf.layers, cfg.hf_audio.rows) == ("mean", "2", "windows")
    check_features(cfg)
    with pytest.raises(Error, match="apply to --backbone hf:PATH"):
        check_features(extract_config(None, hf_pool="cls").features)
    with pytest.raises(Error, match="apply to --audio hf:PATH"):
        check_features(extract_config(None, hf_audio_rows="windows").features)
