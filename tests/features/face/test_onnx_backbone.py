"""Frozen ONNX face backbones (``--backbone onnx:PATH``) and the ``cropped`` image set.

The tests build their ONNX models themselves (examples/tiny_onnx_backbone.py, onnx.helper) and
compare ONNX Runtime's features with the same network run in torch on the same pixels.
"""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from harness.data.release import load_release  # noqa: E402
from harness.errors import HarnessError  # noqa: E402
from harness.features.face.config import FaceConfig  # noqa: E402
from harness.features.face.frozen import FROZEN, extract_frozen  # noqa: E402
from harness.features.face.onnx import (  # noqa: E402
    OnnxBackbone,
    OnnxBackboneConfig,
    import_onnxruntime,
)

_spec = importlib.util.spec_from_file_location(
    "tiny_onnx_backbone", Path(__file__).parents[3] / "examples" / "tiny_onnx_backbone.py")
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)

NAMES = 2  # names extracted in the API tests: enough to cover two folders, fast


def _cfg(path: Path, **onnx) -> FaceConfig:
    return FaceConfig(backbone=f"onnx:{path}", onnx=OnnxBackboneConfig(**onnx), device="cpu",
                      num_workers=0, batch_size=16)


def _reference(net, release, name: str, size: int, onnx: OnnxBackboneConfig) -> tuple:
    """The torch twin on the harness's documented pixels: cv2.imread, INTER_AREA to the model
    side, RGB / 255, then the model's channel order and (x - mean) / std."""
    frames = release.faces.frames(name)
    frames = frames[frames <= release.n_frames(name)]
    imgs = [cv2.resize(cv2.imread(str(release.faces.path(name, f))), (size, size),
                       interpolation=cv2.INTER_AREA) for f in frames.tolist()]
    x = torch.from_numpy(np.stack(imgs)[..., ::-1].copy()).permute(0, 3, 1, 2).float() / 255
    if onnx.channels == "bgr":
        x = x.flip(1)
    x = (x - torch.tensor(onnx.mean).view(1, 3, 1, 1)) / torch.tensor(onnx.std).view(1, 3, 1, 1)
    with torch.no_grad():
        return frames, net(x).numpy()


def test_onnx_features_equal_the_torch_net(tmp_path, synth_release):
    net = tiny.tiny_net(dim=24, seed=1)
    path = tiny.write_onnx(net, tmp_path / "tiny.onnx", size=40)
    onnx = dict(channels="bgr", mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3))
    cfg = _cfg(path, **onnx)
    names = sorted(synth_release.train)[:NAMES]
    cache = extract_frozen(synth_release, names, cfg, quiet=True)
    assert cache.config["fit"] == FROZEN and cache.config["backbone"]["size"] == 40
    for name in names:
        frames, want = _reference(net, synth_release, name, 40, OnnxBackboneConfig(**onnx))
        got = cache.load(name)
        assert got.feat.shape == (synth_release.n_frames(name), 24)
        np.testing.assert_allclose(got.feat[frames - 1], want, atol=1e-4, rtol=1e-4)
        assert not got.flag[frames - 1].any()


def test_input_side_is_read_from_the_model_and_checked(tmp_path):
    net = tiny.tiny_net()
    static = tiny.write_onnx(net, tmp_path / "s.onnx", size=48)
    dynamic = tiny.write_onnx(net, tmp_path / "d.onnx", size=0)
    assert OnnxBackbone(static).input_size == 48
    assert OnnxBackbone(dynamic).input_size == 224  # HSEmotion's side by default
    assert OnnxBackbone(dynamic, OnnxBackboneConfig(size=64)).input_size == 64
    assert OnnxBackbone(static).feature_dim == 32
    with pytest.raises(HarnessError, match=r"s\.onnx.*48x48.*--onnx-size 64"):
        OnnxBackbone(static, OnnxBackboneConfig(size=64))


def test_cache_is_reused_and_a_changed_file_or_preprocessing_re_extracts(tmp_path,
                                                                         synth_release):
    path = tiny.write_onnx(tiny.tiny_net(seed=0), tmp_path / "m.onnx", size=32)
    names = sorted(synth_release.val)[:1]
    first = extract_frozen(synth_release, names, _cfg(path), quiet=True)
    marker = first.dir / names[0] / "done.json"
    stamp = marker.stat().st_mtime_ns
    again = extract_frozen(synth_release, names, _cfg(path), quiet=True)
    assert again.dir == first.dir and marker.stat().st_mtime_ns == stamp  # nothing redone
    other_mean = extract_frozen(synth_release, names, _cfg(path, mean=(0.5, 0.5, 0.5)),
                                quiet=True)
    assert other_mean.dir != first.dir
    tiny.write_onnx(tiny.tiny_net(seed=1), path, size=32)  # same path, new weights
    changed = extract_frozen(synth_release, names, _cfg(path), quiet=True)
    assert changed.dir != first.dir
    assert not np.allclose(changed.load(names[0]).feat, first.load(names[0]).feat)


def _nan_model(path: Path) -> Path:
    net = tiny.tiny_net()
    with torch.no_grad():
        net[6].bias[0] = float("nan")
    return tiny.write_onnx(net, path, size=32)


def _rank2_model(path: Path) -> Path:
    from onnx import TensorProto, helper, numpy_helper, save_model

    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)], "flat",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 4])], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save_model(model, str(path))
    return path


def test_bad_files_are_errors_naming_the_file(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf")
    cases = {junk: "not a usable ONNX model",
             _rank2_model(tmp_path / "flat.onnx"): r"rank 2.*\(B, 3, H, W\)",
             _nan_model(tmp_path / "nan.onnx"): "NaN or inf"}
    for path, why in cases.items():
        with pytest.raises(HarnessError, match=why) as info:
            OnnxBackbone(path)
        assert str(path) in str(info.value)
    with pytest.raises(HarnessError, match="not found.*missing.onnx"):
        FaceConfig(backbone=f"onnx:{tmp_path / 'missing.onnx'}").identity()


def test_without_onnxruntime_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    with pytest.raises(HarnessError, match=r"abaw-harness\[onnx\]"):
        import_onnxruntime()


def test_without_onnxruntime_the_cli_says_how_to_install(tmp_path, env):
    path = tiny.write_onnx(tiny.tiny_net(), tmp_path / "m.onnx", size=32)
    hide = ("import sys; sys.modules['onnxruntime'] = None; from harness.cli import main; "
            "sys.argv = ['harness', *sys.argv[1:]]; main()")
    proc = subprocess.run([sys.executable, "-c", hide, "extract", "--data", tmp_path / "none",
                           "--modality", "face", "--backbone", f"onnx:{path}"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 2 and "pip install 'abaw-harness[onnx]'" in proc.stderr


def test_finetune_and_frozen_options_are_checked(tmp_path):
    path = tiny.write_onnx(tiny.tiny_net(), tmp_path / "m.onnx", size=32)
    with pytest.raises(HarnessError, match="cannot be fine-tuned"):
        FaceConfig(backbone=f"onnx:{path}", finetune=True).check()
    with pytest.raises(HarnessError, match="--no-finetune.*needs --face-weights"):
        FaceConfig(finetune=False).check()
    with pytest.raises(HarnessError, match="rgb or bgr"):
        _cfg(path, channels="gbr").check()
    assert FaceConfig(backbone=f"onnx:{path}").frozen and not FaceConfig().frozen
    # the defaults' identity (every cached model's and run's key) is unchanged
    assert set(FaceConfig().identity()) == {
        "backbone", "weights", "lr_backbone", "lr_head", "weight_decay", "max_epochs",
        "lr_patience", "lr_factor", "early_stop", "frame_stride", "batch_size", "seed"}


# --------------------------------------------------------------------------- through the CLI

def harness(*args, env, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "harness", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"harness {args} exited {proc.returncode}\n{proc.stderr}")
    return proc


@pytest.fixture
def env(tmp_path):
    import os

    return dict(os.environ, ABAW_HARNESS_HOME=str(tmp_path / "home"), COLUMNS="200")


def test_run_current_face_on_an_onnx_backbone_trains_only_the_head(tmp_path, synth_root, env):
    path = tiny.write_onnx(tiny.tiny_net(), tmp_path / "tiny.onnx", size=32)
    work = tmp_path / "work"
    proc = harness("run", "current_face", "--data", synth_root, "--workdir", work,
                   "--backbone", f"onnx:{path}", "--epochs", 2, "--batch-size", 32,
                   "--threads", 1, "--face-oof", 5, env=env)
    assert "macro F1" in proc.stdout and "not cross-fitted" in proc.stderr  # said, and in:
    (run,) = (work / "runs").iterdir()
    info = json.loads((run / "run.json").read_text())
    assert info["features"] == {"face": "onnx:tiny.onnx", "face_fit": FROZEN,
                                "training": "batch_size 32, max_epochs 2"}
    home = Path(env["ABAW_HARNESS_HOME"])
    assert not list(home.glob("cache/*/face_models/*.pt"))  # no stage 1
    assert len(list(home.glob("cache/*/face-onnx-*"))) == 1
    epochs = (run / "epochs.csv").read_text().splitlines()
    assert len(epochs) == 3 and float(epochs[1].split(",")[1]) > 0  # the head trained
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert all(k.startswith("head.") for k in state) and state["head.0.weight"].shape[1] == 32
    proc = harness("run", "current_face", "--data", synth_root, "--workdir", work,
                   "--backbone", f"onnx:{path}", "--finetune", env=env, check=False)
    assert proc.returncode == 2 and "cannot be fine-tuned" in proc.stderr
    bad = tmp_path / "bad.onnx"
    bad.write_text("not onnx")
    proc = harness("extract", "--data", synth_root, "--modality", "face",
                   "--backbone", f"onnx:{bad}", env=env, check=False)
    assert proc.returncode == 2 and str(bad) in proc.stderr and "Traceback" not in proc.stderr


def test_image_set_cropped_reads_the_non_aligned_faces(tmp_path, synth_root, env,
                                                       synth_release):
    with pytest.raises(HarnessError, match=r"no cropped/.*cropped_aligned roots found"):
        synth_release.with_image_set("cropped")
    data = tmp_path / "release"
    shutil.copytree(synth_root, data)
    for src in (data / "cropped_aligned").rglob("*.jpg"):  # other pixels, another shape
        dst = data / "cropped" / src.parent.name / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(dst), cv2.resize(255 - cv2.imread(str(src)), (96, 120)))
    release = load_release(data)
    assert [p.name for p in release.layout.image_roots] == ["cropped_aligned"]
    assert [p.name for p in release.layout.cropped_roots] == ["cropped"]
    net = tiny.tiny_net()
    path = tiny.write_onnx(net, tmp_path / "tiny.onnx", size=32)
    common = ["--data", data, "--modality", "face", "--backbone", f"onnx:{path}", "--quiet"]
    dirs = {}
    for image_set in ("cropped", "cropped_aligned"):
        out = harness("extract", *common, "--image-set", image_set, env=env).stdout
        dirs[image_set] = Path(out.split("cached in ")[1].split(" (")[0])
    assert dirs["cropped"] != dirs["cropped_aligned"]
    name = sorted(release.val)[0]
    frames, want = _reference(net, release.with_image_set("cropped"), name, 32,
                              OnnxBackboneConfig())
    got = np.load(dirs["cropped"] / name / "feat.npy")
    np.testing.assert_allclose(got[frames - 1], want, atol=1e-4, rtol=1e-4)
    aligned = np.load(dirs["cropped_aligned"] / name / "feat.npy")
    assert not np.allclose(aligned[frames - 1], want, atol=1e-3)


def test_no_finetune_freezes_a_registered_backbone(tmp_path, synth_release):
    """--no-finetune --face-weights W: the registered backbone's own features, no stage 1."""
    from harness.features.face.backbones import create_backbone

    torch.manual_seed(5)
    weights = tmp_path / "light.pt"
    torch.save(create_backbone("light").state_dict(), weights)
    cfg = FaceConfig(backbone="light", weights=str(weights), finetune=False, device="cpu",
                     num_workers=0, batch_size=16)
    assert cfg.frozen and cfg.label() == "light-frozen"
    name = sorted(synth_release.val)[0]
    cache = extract_frozen(synth_release, [name], cfg, quiet=True)
    assert cache.extractor == "face-light-frozen" and cache.config["fit"] == FROZEN
    plain = OnnxBackboneConfig(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))  # no normalising
    frames, want = _reference(create_backbone("light", weights).eval(), synth_release, name,
                              64, plain)
    np.testing.assert_allclose(cache.load(name).feat[frames - 1], want, atol=1e-4, rtol=1e-4)
