"""DenseNet121 with torchvision's parameter names, for DeepSpectrum audio features.

torchvision is not a dependency (it pins torch and pulls image codecs); the ~80 lines here are
enough to load its ImageNet state dict (``densenet121-a639ec97.pth``) from a local path. That file
uses the old key format (``denselayer1.norm.1.weight``); ``remap_legacy_keys`` applies the same
regex rewrite torchvision does (to ``denselayer1.norm1.weight``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import HarnessError
from harness.features.weights import apply_state_dict, read_state_dict

FEATURE_DIM = 1024
GROWTH_RATE = 32
BLOCK_CONFIG = (6, 12, 24, 16)
NUM_INIT_FEATURES = 64
BN_SIZE = 4

_LEGACY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


class _DenseLayer(nn.Module):
    def __init__(self, c_in: int, growth: int, bn_size: int):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(c_in)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(c_in, bn_size * growth, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(out)))


class _DenseBlock(nn.ModuleDict):
    def __init__(self, n_layers: int, c_in: int, growth: int, bn_size: int):
        super().__init__()
        for i in range(n_layers):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(c_in + i * growth, growth, bn_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for layer in self.values():
            feats.append(layer(torch.cat(feats, 1)))
        return torch.cat(feats, 1)


class _Transition(nn.Sequential):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(c_in))
        self.add_module("relu", nn.ReLU(inplace=True))
        self.add_module("conv", nn.Conv2d(c_in, c_out, kernel_size=1, bias=False))
        self.add_module("pool", nn.AvgPool2d(kernel_size=2, stride=2))


class DenseNet121(nn.Module):
    """``features`` / ``classifier`` laid out as torchvision's ``densenet121``.

    ``forward`` returns the 1024-d pooled feature (ReLU, global average pool) that DeepSpectrum
    uses; ``logits`` adds the ImageNet classifier.
    """

    feature_dim = FEATURE_DIM

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module(
            "conv0", nn.Conv2d(3, NUM_INIT_FEATURES, 7, stride=2, padding=3, bias=False))
        self.features.add_module("norm0", nn.BatchNorm2d(NUM_INIT_FEATURES))
        self.features.add_module("relu0", nn.ReLU(inplace=True))
        self.features.add_module("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        channels = NUM_INIT_FEATURES
        for i, n_layers in enumerate(BLOCK_CONFIG):
            block = _DenseBlock(n_layers, channels, GROWTH_RATE, BN_SIZE)
            self.features.add_module(f"denseblock{i + 1}", block)
            channels += n_layers * GROWTH_RATE
            if i != len(BLOCK_CONFIG) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(channels, channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's initialisation, so a random model behaves like its random model."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) ImageNet-normalised -> (B, 1024)."""
        return F.relu(self.features(x)).mean(dim=(2, 3))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self(x))


def remap_legacy_keys(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``...denselayer1.norm.1.weight`` -> ``...denselayer1.norm1.weight`` (torchvision's rule)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        match = _LEGACY.match(key)
        out[match.group(1) + match.group(2) if match else key] = value
    return out


def load_densenet121(path: str | Path) -> DenseNet121:
    """A DenseNet121 with the local ImageNet weights at ``path`` (old or new key format).

    Every ``features.*`` key must load; the classifier may be absent (it is not used).
    """
    model = DenseNet121()
    report = apply_state_dict(model, remap_legacy_keys(read_state_dict(path)), source=path)
    missing = [k for k in report.missing if k.startswith("features.")]
    if missing:
        raise HarnessError(
            f"{path}: not DenseNet121 weights: {len(missing)} feature key(s) missing, "
            f"e.g. {missing[:3]}"
        )
    return model.eval()
