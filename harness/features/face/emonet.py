"""EmoNet (Toisoul et al., Nature Machine Intelligence 2021), written so its public weights load.

The seed paper's "FAN" face model is EmoNet: a face-alignment network of two stacked hourglasses
predicting 68 landmark heatmaps, whose features, weighted by the summed heatmaps, feed a small
emotion trunk. The harness takes the 256-d average-pooled trunk output (before ``emo_fc_2``) as the
face feature. Every parameter name below matches ``face-analysis/emonet`` exactly (including its
use of BatchNorm where the names say "InstanceNorm"), so ``emonet_8.pth`` loads key for key.
Input: RGB in [0, 1], 256x256, no mean/std normalisation (as the public model was trained).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

N_LANDMARKS = 68
FEATURE_DIM = 256
INPUT_SIZE = 256


def _conv3x3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1, bias=False)


class ConvBlock(nn.Module):
    """FAN's hierarchical residual block: three pre-activated 3x3 convs, outputs concatenated.

    The public code aliases ``nn.InstanceNorm2d`` to ``nn.BatchNorm2d`` at import time, so the
    weights hold BatchNorm running statistics; BatchNorm is used here directly.
    """

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        half, quarter = c_out // 2, c_out // 4
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = _conv3x3(c_in, half)
        self.bn2 = nn.BatchNorm2d(half)
        self.conv2 = _conv3x3(half, quarter)
        self.bn3 = nn.BatchNorm2d(quarter)
        self.conv3 = _conv3x3(quarter, quarter)
        self.downsample: nn.Module | None = None
        if c_in != c_out:
            self.downsample = nn.Sequential(
                nn.BatchNorm2d(c_in), nn.ReLU(True),
                nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, bias=False),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = self.conv1(F.relu(self.bn1(x)))
        out2 = self.conv2(F.relu(self.bn2(out1)))
        out3 = self.conv3(F.relu(self.bn3(out2)))
        residual = x if self.downsample is None else self.downsample(x)
        return torch.cat((out1, out2, out3), 1) + residual


class HourGlass(nn.Module):
    """Recursive hourglass of ``depth`` levels; module names ``b1_<l>``, ``b2_<l>``, ``b2_plus_1``,
    ``b3_<l>`` as in the public code."""

    def __init__(self, depth: int = 4, features: int = 256):
        super().__init__()
        self.depth = depth
        for level in range(depth, 0, -1):
            self.add_module(f"b1_{level}", ConvBlock(features, features))
            self.add_module(f"b2_{level}", ConvBlock(features, features))
            self.add_module(f"b3_{level}", ConvBlock(features, features))
        self.add_module("b2_plus_1", ConvBlock(features, features))

    def _forward(self, level: int, x: torch.Tensor) -> torch.Tensor:
        up1 = self._modules[f"b1_{level}"](x)
        low = self._modules[f"b2_{level}"](F.max_pool2d(x, 2, stride=2))
        if level > 1:
            low = self._forward(level - 1, low)
        else:
            low = self._modules["b2_plus_1"](low)
        low = self._modules[f"b3_{level}"](low)
        return up1 + F.interpolate(low, scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(self.depth, x)


class EmoNetBackbone(nn.Module):
    """EmoNet with ``n_stack`` hourglasses and heatmap attention; ``forward`` returns the 256-d
    feature. ``emo_fc_2`` (the AffectNet head: 8 expressions + valence + arousal) exists only so the
    public file loads without unexpected keys; ``head`` runs it when wanted."""

    input_size = INPUT_SIZE
    feature_dim = FEATURE_DIM
    #: keys that a weights file may lack without harm (the AffectNet head is never used).
    optional_key_prefixes = ("emo_fc_2.",)

    def __init__(self, n_stack: int = 2, n_expression: int = 8, n_blocks: int = 4):
        super().__init__()
        self.n_stack = n_stack
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = ConvBlock(64, 128)
        self.conv3 = ConvBlock(128, 128)
        self.conv4 = ConvBlock(128, 256)
        for i in range(n_stack):
            self._add_stack(i, last=i == n_stack - 1)
        self.conv1x1_input_emo_2 = nn.Conv2d(256 * (n_stack + 1), 256, kernel_size=1)
        trunk: list[nn.Module] = []
        for _ in range(n_blocks):
            trunk += [ConvBlock(256, 256), nn.MaxPool2d(2, 2)]
        self.emo_net_2 = nn.Sequential(*trunk)
        self.emo_fc_2 = nn.Sequential(
            nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(inplace=True),
            nn.Linear(128, n_expression + 2),
        )

    def _add_stack(self, i: int, last: bool) -> None:
        self.add_module(f"m{i}", HourGlass(4, 256))
        self.add_module(f"top_m_{i}", ConvBlock(256, 256))
        self.add_module(f"conv_last{i}", nn.Conv2d(256, 256, kernel_size=1))
        self.add_module(f"bn_end{i}", nn.BatchNorm2d(256))
        self.add_module(f"l{i}", nn.Conv2d(256, N_LANDMARKS, kernel_size=1))
        if not last:
            self.add_module(f"bl{i}", nn.Conv2d(256, 256, kernel_size=1))
            self.add_module(f"al{i}", nn.Conv2d(N_LANDMARKS, 256, kernel_size=1))

    def _alignment(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The FAN part: stem features, per-stack features, last stack's landmark heatmaps."""
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(self.conv2(x), 2, stride=2)
        x = self.conv4(self.conv3(x))
        previous, feats, heatmaps = x, [], x
        for i in range(self.n_stack):
            ll = self._modules[f"top_m_{i}"](self._modules[f"m{i}"](previous))
            ll = F.relu(self._modules[f"bn_end{i}"](self._modules[f"conv_last{i}"](ll)))
            heatmaps = self._modules[f"l{i}"](ll)
            if i < self.n_stack - 1:
                ll = self._modules[f"bl{i}"](ll)
                previous = previous + ll + self._modules[f"al{i}"](heatmaps)
            feats.append(ll)
        return x, torch.cat(feats, dim=1), heatmaps

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, 256, 256) in [0, 1] -> (B, 256) feature (before ``emo_fc_2``)."""
        stem, hg_feats, heatmaps = self._alignment(images)
        attention = heatmaps.sum(dim=1, keepdim=True)
        emo = self.conv1x1_input_emo_2(torch.cat((stem, hg_feats * attention), dim=1))
        emo = self.emo_net_2(emo)
        return emo.mean(dim=(2, 3))

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """The public AffectNet head: (B, 256) -> (B, n_expression + 2) (expressions, V, A)."""
        return self.emo_fc_2(features)
