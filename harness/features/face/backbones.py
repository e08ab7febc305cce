"""Face backbone registry: the registered (code-built, trainable) backbones.

A backbone maps face crops ``(B, 3, S, S)`` in [0, 1] to a feature ``(B, feature_dim)``; the
stage-1 fine-tune puts a head on that feature and the fusion stage reads it frozen. Backbones are
named so that runs and feature caches can record which one produced a feature.

Weights are loaded by ``harness.features.weights`` (state dicts only).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from harness.errors import HarnessError
from harness.features.weights import LoadReport, load_state_dict_flexible
from harness.registry import Registry


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    input_size: int
    feature_dim: int
    description: str
    builder: Callable[..., nn.Module]


_REGISTRY: Registry[BackboneSpec] = Registry("backbone")


def register_backbone(
    name: str, *, input_size: int, feature_dim: int, description: str
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register a builder (no required arguments) under ``name``."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        spec = BackboneSpec(name, input_size, feature_dim, description, builder)
        _REGISTRY.add(name, spec, owner=builder.__module__)
        return builder

    return decorate


def list_backbones() -> list[BackboneSpec]:
    return [_REGISTRY.get(n) for n in sorted(_REGISTRY)]


def get_backbone_spec(name: str) -> BackboneSpec:
    return _REGISTRY.get(name)


def create_backbone(name: str, weights: str | Path | None = None) -> nn.Module:
    """Build a registered backbone, optionally loading a local state dict into it.

    Keys the model declares optional (``optional_key_prefixes``, e.g. EmoNet's AffectNet head)
    may be absent silently; any other missing or unexpected key is reported as a warning, and a
    file that matches no key at all is refused (it is the wrong file).
    """
    spec = get_backbone_spec(name)
    model = spec.builder()
    if weights is not None:
        report = load_state_dict_flexible(model, weights)
        _check_report(model, report, Path(weights))
    return model


def _check_report(model: nn.Module, report: LoadReport, path: Path) -> None:
    optional = tuple(getattr(model, "optional_key_prefixes", ()))
    missing = [k for k in report.missing if not k.startswith(optional)]
    if report.loaded == 0:
        raise HarnessError(f"{path}: no key of this file matches the model; wrong weights file?")
    if missing or report.unexpected:
        warnings.warn(
            f"{path}: {len(missing)} missing key(s) {missing[:5]}, "
            f"{len(report.unexpected)} unexpected key(s) {report.unexpected[:5]}",
            stacklevel=3,
        )


# --------------------------------------------------------------------------- built-in backbones


def _conv_bn(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class LightFaceNet(nn.Module):
    """A small CNN that trains from scratch on 2 CPU cores in about a minute.

    64x64 input (the embedded corpus's 112x112 crops are resized by the loader, which is cheaper
    than resizing inside every forward; other sizes are resized here). A 4x4 stride-4 "patchify"
    stem straight to 16x16, then max-pool + 3x3 conv stages (BatchNorm, ReLU) down to 4x4, global
    average pooling and a linear projection to the 256-d feature every face head expects.
    On CPU the element-wise work on large early feature maps (BatchNorm, ReLU, pooling), not the
    parameter count, sets the training speed; the patchify stem avoids those maps and measured
    about twice the throughput of a stride-2 stem of similar size.
    """

    input_size = 64
    feature_dim = 256

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128)):
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(3, widths[0], kernel_size=4, stride=4, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [nn.MaxPool2d(2), _conv_bn(c_in, c_out, stride=1)]
        self.features = nn.Sequential(*layers)
        self.proj = nn.Linear(widths[-1], self.feature_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] != self.input_size or images.shape[-2] != self.input_size:
            images = nn.functional.interpolate(
                images, size=(self.input_size, self.input_size), mode="bilinear",
                align_corners=False, antialias=True,
            )
        return self.proj(self.features(images - 0.5).mean(dim=(2, 3)))


@register_backbone(
    "emonet", input_size=256, feature_dim=256,
    description="EmoNet (2-stack FAN + emotion trunk), 256x256 RGB in [0,1]; loads emonet_8.pth",
)
def _build_emonet() -> nn.Module:
    from harness.features.face.emonet import EmoNetBackbone  # heavy; import only when asked for

    return EmoNetBackbone()


@register_backbone(
    "light", input_size=64, feature_dim=256,
    description="small 3-conv CNN with BatchNorm, 64x64 input, trains from scratch on CPU",
)
def _build_light() -> nn.Module:
    return LightFaceNet()
