"""Fine-tuning an ``hf:`` vision model in stage 1 (``--backbone hf:DIR --finetune``).

A tiny random DINOv2 (4 blocks) built here and saved with ``save_pretrained``; no socket may be
opened. It learns nothing on the tiny corpus: the tests check which weights train, at which lr,
that a killed fine-tune resumes to the same model, and what the keys depend on.
"""

from __future__ import annotations

import json
import shutil
import socket
import warnings
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from harness.data.release import load_release  # noqa: E402
from harness.data.splits import official_split  # noqa: E402
from harness.errors import HarnessError  # noqa: E402
from harness.features.face.config import FaceConfig, HfBackboneConfig  # noqa: E402
from harness.features.face.finetune import layout, param_groups  # noqa: E402
from harness.features.face.model import build_face_model, load_face_model  # noqa: E402
from harness.features.face.stage import face_stage_key, finetune_face  # noqa: E402
from harness.features.huggingface import create_hf_backbone, folder_digest  # noqa: E402
from tests.features.test_huggingface import harness  # noqa: E402

BLOCKS = 4


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    def refuse(*args, **kwargs):
        pytest.fail(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def dinov2(tmp_path_factory) -> Path:
    t = transformers
    folder = tmp_path_factory.mktemp("hf-ft") / "dinov2"
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t.Dinov2Model(t.Dinov2Config(hidden_size=32, num_hidden_layers=BLOCKS,
                                     num_attention_heads=2, intermediate_size=48, patch_size=14,
                                     image_size=28)).save_pretrained(folder)
        t.BitImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 28, "width": 28},
                            do_center_crop=True, resample=3, image_mean=[0.5] * 3,
                            image_std=[0.25] * 3).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    from harness.data.synth import synthesize

    root = tmp_path_factory.mktemp("hf-ft-synth") / "corpus"
    synthesize(root, seed=3, videos=3, seconds=3, progress=False)
    return root


def _cfg(folder: Path, **kw) -> FaceConfig:
    return FaceConfig(**{"backbone": f"hf:{folder}", "finetune": True, "device": "cpu",
                         "num_workers": 0, "batch_size": 16, "max_epochs": 2,
                         "lr_backbone": 1e-3} | kw)


def _names(params) -> set[str]:
    return {n for n, _ in params}


def test_lr_groups_follow_the_blocks_and_the_decay(dinov2):
    cfg = _cfg(dinov2, layer_decay=0.5)
    cfg.check()
    model = build_face_model(cfg)
    lay = layout(model.backbone)
    assert lay.where == "model.encoder.layer" and len(lay.blocks) == BLOCKS
    assert all(n.startswith("model.embeddings.") for n in _names(lay.stem))
    assert _names(lay.top) == {"model.layernorm.weight", "model.layernorm.bias"}
    groups = param_groups(model, cfg)
    # top block + final norm at the backbone lr, each block below x0.5, the embeddings x0.5^4
    assert [g.get("depth") for g in groups] == [0, 1, 2, 3, 4, None]
    assert [g["lr"] for g in groups] == [1e-3 * 0.5 ** d for d in range(5)] + [cfg.lr_head]
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))  # each one, once
    assert {id(p) for p in groups[0]["params"]} == {
        id(p) for _, p in lay.top + lay.blocks[-1]}

    last2 = build_face_model(_cfg(dinov2, finetune_blocks="last2", layer_decay=0.5))
    groups = param_groups(last2, _cfg(dinov2, finetune_blocks="last2", layer_decay=0.5))
    assert [g.get("depth") for g in groups] == [0, 1, None]  # frozen parameters: in no group
    trained = {id(p) for g in groups for p in g["params"]}
    assert trained == {id(p) for p in last2.parameters() if p.requires_grad}
    lay = layout(last2.backbone)
    assert not any(p.requires_grad for _, p in lay.stem + lay.blocks[0] + lay.blocks[1])

    registered = FaceConfig(lr_backbone=1e-3)  # the paper's two groups, as before
    light = build_face_model("light")
    assert [g["lr"] for g in param_groups(light, registered)] == [1e-3, registered.lr_head]


def test_options_are_checked_and_keys_follow_them(dinov2, corpus):
    with pytest.raises(HarnessError, match="lastK"):
        _cfg(dinov2, finetune_blocks="first2").check()
    with pytest.raises(HarnessError, match="--layer-decay"):
        _cfg(dinov2, layer_decay=1.5).check()
    with pytest.raises(HarnessError, match="apply to --finetune"):
        FaceConfig(finetune_blocks="last2").check()  # a registered backbone
    with pytest.raises(HarnessError, match="apply to --finetune"):
        FaceConfig(backbone=f"hf:{dinov2}", layer_decay=0.75).check()  # frozen
    with pytest.raises(HarnessError, match=f"{dinov2}.*only {BLOCKS} blocks"):
        build_face_model(_cfg(dinov2, finetune_blocks=f"last{BLOCKS + 1}"))
    frozen = FaceConfig(backbone=f"hf:{dinov2}")
    assert frozen.frozen and "finetune_blocks" not in frozen.identity()
    assert not _cfg(dinov2).frozen and _cfg(dinov2).label() == "hf:dinov2-finetuned"
    release = load_release(corpus)
    split = official_split(release)
    keys = {face_stage_key(release, split, c) for c in (
        _cfg(dinov2), _cfg(dinov2, finetune_blocks="last2"), _cfg(dinov2, layer_decay=0.75),
        _cfg(dinov2, hf=HfBackboneConfig(pool="mean")))}
    assert len(keys) == 4 and all(k.startswith("hf-finetuned-official-") for k in keys)
    assert _cfg(dinov2).identity()["backbone"] == f"hf-sha256:{folder_digest(dinov2)}"


def _state(folder: Path) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = transformers.AutoModel.from_pretrained(folder, local_files_only=True)
    return {f"backbone.model.{k}": v for k, v in model.state_dict().items()}


def test_stage1_trains_only_the_chosen_blocks_and_resumes_exactly(dinov2, corpus, tmp_path,
                                                                  monkeypatch):
    import harness.features.face.stage as stage_module

    release = load_release(corpus)
    split = official_split(release)
    cfg = _cfg(dinov2, finetune_blocks="last1", layer_decay=0.75)
    full = finetune_face(release, split, cfg, tmp_path / "full", show_progress=False)
    assert [h["epoch"] for h in full.history] == [1, 2]
    assert full.history[0]["lr"] == pytest.approx(1e-3)  # the top group's
    trained = torch.load(full.checkpoint, weights_only=True)
    pretrained = _state(dinov2)
    changed = {k for k, v in pretrained.items() if not torch.equal(v, trained[k])}
    assert changed and all(k.startswith((f"backbone.model.encoder.layer.{BLOCKS - 1}.",
                                         "backbone.model.layernorm.")) for k in changed)
    torch.manual_seed(cfg.seed)  # the head stage 1 started from
    start = build_face_model(cfg).head.state_dict()
    assert any(not torch.equal(v, trained[f"head.{k}"]) for k, v in start.items()
               if v.is_floating_point())

    real_fit = stage_module.fit

    def killed_after_epoch_1(*args, **kwargs):
        def stop(history):
            if history[-1]["epoch"] == 1:
                raise KeyboardInterrupt
        return real_fit(*args, **kwargs, on_epoch=stop)

    monkeypatch.setattr(stage_module, "fit", killed_after_epoch_1)
    with pytest.raises(KeyboardInterrupt):
        finetune_face(release, split, cfg, tmp_path / "killed", show_progress=False)
    monkeypatch.setattr(stage_module, "fit", real_fit)
    assert len(list((tmp_path / "killed").glob("*.state.pt"))) == 1
    resumed = finetune_face(release, split, cfg, tmp_path / "killed", show_progress=False)
    def same(history):  # the rate is the machine's
        return [{k: v for k, v in h.items() if k != "images_per_s"} for h in history]
    assert same(resumed.history) == same(full.history)
    again = torch.load(resumed.checkpoint, weights_only=True)
    assert all(torch.equal(trained[k], again[k]) for k in trained)

    # runs.py loads it by name: the options come from the record beside the checkpoint
    by_name = load_face_model(cfg.backbone, full.checkpoint, torch.device("cpu"))
    by_cfg = load_face_model(cfg, full.checkpoint, torch.device("cpu"))
    faces = torch.rand(3, 3, 112, 112)
    with torch.inference_mode():
        a, b = by_name.backbone(faces), by_cfg.backbone(faces)
        frozen = create_hf_backbone(cfg.backbone)(faces)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.allclose(a, frozen)  # the fine-tuned weights, not the folder's


def test_the_frozen_encoder_and_the_trainable_one_agree(dinov2):
    """Same weights, eval, no gradients: ``HfFaceEncoder`` gives ``HfImageBackbone``'s features
    (so a fine-tuned model's features are the frozen path's forward on other weights)."""
    model = build_face_model(_cfg(dinov2)).eval()
    faces = torch.rand(4, 3, 112, 112)
    with torch.inference_mode():
        torch.testing.assert_close(model.backbone(faces),
                                   create_hf_backbone(f"hf:{dinov2}")(faces))


def test_cli_runs_current_face_on_a_finetuned_hf_backbone(dinov2, corpus, tmp_path):
    """``current_face`` takes stage 1's head: the runner loads the fine-tuned model by name."""
    home, work = tmp_path / "home", tmp_path / "work"
    harness("run", "current_face", "--data", corpus, "--workdir", work, "--backbone",
            f"hf:{dinov2}", "--finetune", "--finetune-blocks", "last2", "--layer-decay", "0.75",
            "--face-epochs", 1, "--epochs", 1, "--device", "cpu", "--workers", 0,
            "--threads", 1, "--quiet", home=home)
    (model,) = home.glob("cache/*/face_models/hf-finetuned-official-*.pt")
    record = json.loads(model.with_suffix(".json").read_text())
    assert record["config"]["finetune_blocks"] == "last2"
    assert record["config"]["layer_decay"] == 0.75
    assert len(list(home.glob("cache/*/face-hf-finetuned-*"))) == 1
    (run,) = (work / "runs").iterdir()
    info = json.loads((run / "run.json").read_text())
    assert info["features"]["face"] == "hf:dinov2-finetuned"
    assert info["features"]["face_fit"] != "frozen"
    code, err = harness("extract", "--data", corpus, "--modality", "face", "--backbone",
                        f"hf:{dinov2}", "--layer-decay", "0.75", home=home, check=False)
    assert code == 2 and "apply to --finetune" in err.replace("\n", " ")


def test_a_changed_weight_file_changes_the_cached_digest(dinov2, tmp_path):
    """The digest is kept per (path, size, inode, mtime, ctime) of each file: asking again
    reads no weights, and a rewritten weight file still gives a new digest."""
    import harness.features.huggingface.loading as loading

    folder = tmp_path / "copy"
    shutil.copytree(dinov2, folder)
    first = folder_digest(folder)
    hashed = []
    real = loading.files_digest
    try:
        loading.files_digest = lambda files: hashed.append(files) or real(files)
        assert folder_digest(folder) == first and not hashed  # from the memo
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = transformers.AutoModel.from_pretrained(folder, local_files_only=True)
        with torch.no_grad():
            model.embeddings.cls_token.add_(1.0)
        model.save_pretrained(folder)
        assert folder_digest(folder) != first and len(hashed) == 1
        weights = next(folder.glob("*.safetensors"))
        data = bytearray(weights.read_bytes())
        data[-1] ^= 1  # same size, rewritten in place
        weights.write_bytes(bytes(data))
        assert folder_digest(folder) not in (first,) and len(hashed) == 2
    finally:
        loading.files_digest = real


def test_face_extraction_counts_images_batch_by_batch(dinov2, corpus):
    """The extraction bar (images/s) advances after every batch by the faces it encoded."""
    from harness.features.face.features import _face_frames, _features

    release = load_release(corpus)
    names = sorted(official_split(release).train)[:2]
    faces = {n: _face_frames(release, n) for n in names}
    steps: list[int] = []
    cfg = FaceConfig(batch_size=16, num_workers=0)
    out = list(_features(release, names, create_hf_backbone(f"hf:{dinov2}"), cfg,
                         torch.device("cpu"), faces, steps.append))
    assert [name for name, *_ in out] == names
    assert sum(steps) == sum(f.size for f in faces.values()) and max(steps) <= 16
    assert len(steps) == sum(-(-f.size // 16) for f in faces.values())
