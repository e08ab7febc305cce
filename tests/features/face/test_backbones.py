"""Face backbones and DenseNet121: architecture, parameter names, safe weight loading."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from harness.errors import HarnessError
from harness.features.audio.densenet import DenseNet121, load_densenet121, remap_legacy_keys
from harness.features.face.backbones import (
    create_backbone,
    get_backbone_spec,
    list_backbones,
)
from harness.features.weights import load_state_dict_flexible


def test_registry_lists_and_refuses_unknown():
    names = [s.name for s in list_backbones()]
    assert {"emonet", "light"} <= set(names)
    with pytest.raises(HarnessError, match="known backbones: .*emonet.*light"):
        create_backbone("resnet9000")


def test_light_forward_shape_and_attributes():
    torch.manual_seed(0)
    model = create_backbone("light")
    spec = get_backbone_spec("light")
    assert (model.input_size, model.feature_dim) == (spec.input_size, spec.feature_dim)
    x = torch.rand(4, 3, spec.input_size, spec.input_size)
    assert model(x).shape == (4, 256)
    # a 112x112 crop is resized internally rather than failing
    assert model(torch.rand(2, 3, 112, 112)).shape == (2, 256)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def _save_prefixed(model: nn.Module, path) -> None:
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, path)


def test_emonet_prefixed_state_dict_round_trip(tmp_path):
    torch.manual_seed(0)
    src = create_backbone("emonet").eval()
    for m in src.modules():  # non-trivial running stats, so a failed load would show
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "emonet_8.pth"
    _save_prefixed(src, path)
    torch.manual_seed(1)
    dst = create_backbone("emonet").eval()
    report = load_state_dict_flexible(dst, path)
    assert report.missing == [] and report.unexpected == []
    x = torch.rand(1, 3, 64, 64)  # equality needs no full-size pass (EmoNet is ~16 GMAC at 256)
    with torch.inference_mode():
        assert torch.allclose(src(x), dst(x), atol=1e-5)
        assert dst(torch.rand(1, 3, 256, 256)).shape == (1, 256)


def test_emonet_parameter_names_match_public_repo():
    keys = set(create_backbone("emonet").state_dict())
    expected = [
        "conv1.weight", "conv1.bias", "bn1.running_var", "conv2.bn1.weight",
        "conv2.downsample.0.weight", "conv2.downsample.2.weight", "conv4.conv3.weight",
        "m0.b1_4.conv1.weight", "m0.b2_plus_1.bn3.bias", "m1.b3_1.conv2.weight",
        "top_m_0.conv1.weight", "conv_last1.bias", "bn_end0.running_mean", "l0.weight",
        "l1.bias", "bl0.weight", "al0.weight", "conv1x1_input_emo_2.weight",
        "emo_net_2.0.bn1.weight", "emo_net_2.6.conv3.weight", "emo_fc_2.0.weight",
        "emo_fc_2.1.running_var", "emo_fc_2.3.weight",
    ]
    assert not [k for k in expected if k not in keys]
    assert "bl1.weight" not in keys and "al1.weight" not in keys  # only between stacks
    assert create_backbone("emonet").state_dict()["l0.weight"].shape[0] == 68


def test_emonet_head_file_without_head_still_loads(tmp_path):
    model = create_backbone("emonet")
    path = tmp_path / "trunk.pth"
    torch.save({k: v for k, v in model.state_dict().items() if not k.startswith("emo_fc_2")},
               path)
    report = load_state_dict_flexible(create_backbone("emonet"), path)
    assert report.missing and all(k.startswith("emo_fc_2.") for k in report.missing)


def test_wrapped_state_dict_and_shape_mismatch(tmp_path):
    model = create_backbone("light")
    wrapped = tmp_path / "wrapped.pt"
    torch.save({"state_dict": model.state_dict(), "epoch": 3}, wrapped)
    assert load_state_dict_flexible(create_backbone("light"), wrapped).missing == []
    bad = dict(model.state_dict())
    bad["proj.weight"] = torch.zeros(3, 3)
    torch.save(bad, tmp_path / "bad.pt")
    with pytest.raises(HarnessError, match="proj.weight"):
        load_state_dict_flexible(create_backbone("light"), tmp_path / "bad.pt")


def test_pickled_whole_model_is_refused(tmp_path):
    path = tmp_path / "whole_model.pth"
    torch.save(create_backbone("light"), path)
    with pytest.raises(HarnessError, match="whole_model.pth.*state dict"):
        load_state_dict_flexible(create_backbone("light"), path)
    with pytest.raises(HarnessError, match="whole_model.pth"):
        create_backbone("light", weights=path)


def test_wrong_file_entirely_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"foo.weight": torch.zeros(2)}, path)
    with pytest.raises(HarnessError, match="no key"):
        create_backbone("light", weights=path)
    with pytest.raises(HarnessError, match="not found"):
        create_backbone("light", weights=tmp_path / "absent.pth")


# --------------------------------------------------------------------------- DenseNet121

DENSE_SPOT_CHECKS = [
    "features.conv0.weight", "features.norm0.weight", "features.norm0.bias",
    "features.norm0.running_mean", "features.norm0.running_var",
    "features.norm0.num_batches_tracked",
    "features.denseblock1.denselayer1.norm1.weight",
    "features.denseblock1.denselayer1.conv1.weight",
    "features.denseblock1.denselayer1.norm2.running_var",
    "features.denseblock1.denselayer1.conv2.weight",
    "features.denseblock1.denselayer6.conv2.weight",
    "features.transition1.norm.weight", "features.transition1.conv.weight",
    "features.denseblock2.denselayer12.norm1.bias", "features.transition2.norm.running_mean",
    "features.transition2.conv.weight", "features.denseblock3.denselayer24.conv1.weight",
    "features.transition3.conv.weight", "features.denseblock4.denselayer1.norm1.weight",
    "features.denseblock4.denselayer16.conv2.weight", "features.norm5.weight",
    "features.norm5.bias", "features.norm5.running_mean", "features.norm5.running_var",
    "features.norm5.num_batches_tracked", "classifier.weight", "classifier.bias",
]


def _expected_densenet_keys() -> int:
    """torchvision densenet121 entry count from its structure: conv0 + norm0 (5 entries),
    12 per dense layer (2 BN x 5 + 2 conv), 6 per transition, norm5 (5), classifier (2)."""
    return 1 + 5 + 12 * sum((6, 12, 24, 16)) + 6 * 3 + 5 + 2


def test_densenet_keys_match_torchvision_layout():
    sd = DenseNet121().state_dict()
    assert len(sd) == _expected_densenet_keys() == 727
    assert not [k for k in DENSE_SPOT_CHECKS if k not in sd]
    assert "features.denseblock1.denselayer7.conv1.weight" not in sd
    assert "features.transition4.conv.weight" not in sd
    # channel bookkeeping of torchvision's densenet121
    assert sd["features.denseblock1.denselayer6.norm1.weight"].shape == (64 + 5 * 32,)
    assert sd["features.transition1.conv.weight"].shape == (128, 256, 1, 1)
    assert sd["features.denseblock4.denselayer1.norm1.weight"].shape == (512,)
    assert sd["features.norm5.weight"].shape == (1024,)
    assert sd["classifier.weight"].shape == (1000, 1024)
    assert sd["features.denseblock2.denselayer1.conv1.weight"].shape == (128, 128, 1, 1)


def _legacy(sd: dict) -> dict:
    """The old torchvision file format: ``norm1`` -> ``norm.1``, no num_batches_tracked."""
    out = {}
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        out[re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", k)] = v
    return out


def test_densenet_legacy_key_remap_and_round_trip(tmp_path):
    torch.manual_seed(0)
    src = DenseNet121().eval()
    legacy = _legacy(src.state_dict())
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    assert set(remap_legacy_keys(legacy)) == {
        k for k in src.state_dict() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "densenet121-a639ec97.pth"
    torch.save(legacy, path)
    dst = load_densenet121(path)
    x = torch.rand(1, 3, 32, 32)
    with torch.inference_mode():
        a, b = src(x), dst(x)
    assert a.shape == (1, 1024)
    assert torch.allclose(a, b, atol=1e-5)
    # new-format files (with num_batches_tracked) load too
    torch.save(src.state_dict(), tmp_path / "new.pth")
    load_densenet121(tmp_path / "new.pth")


def test_densenet_refuses_other_weights(tmp_path):
    path = tmp_path / "light.pth"
    torch.save(create_backbone("light").state_dict(), path)
    with pytest.raises(HarnessError, match="not DenseNet121"):
        load_densenet121(path)
