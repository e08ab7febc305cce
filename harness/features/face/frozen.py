"""Face features straight from a frozen backbone: no stage-1 fine-tune, no stage-1 head.

Teams that lead ABAW feed their temporal models frozen features of a large pretrained network;
``--backbone onnx:PATH`` (a backbone scheme: always frozen, see ``schemes``) and ``--no-finetune``
with a registered backbone and ``--face-weights`` give the harness the same. The features do
not depend on the split, so one cache serves every split and run; and as no model has seen the
training names, there is nothing to cross-fit (``--face-oof`` is moot: ``face_fit`` reads
``frozen``). Baselines whose face head would come from stage 1 (``current_face``) train it on
these features instead, like on imported ones.
"""

from __future__ import annotations

import torch

from harness.data.release import Release
from harness.device import resolve_device
from harness.features.cache import FeatureCache, cache_root
from harness.features.face.backbones import create_backbone
from harness.features.face.config import FaceConfig
from harness.features.face.features import Encoder, encode_faces
from harness.features.face.inputs import face_inputs
from harness.features.face.model import architecture_digest
from harness.features.face.schemes import location, scheme_of
from harness.paths import file_digest

#: ``face_fit`` of frozen features (run.json): neither in-sample nor cross-fitted.
FROZEN = "frozen"


def frozen_encoder(cfg: FaceConfig, device: torch.device) -> Encoder:
    """The frozen backbone of ``cfg``, ready on ``device`` (a scheme's: its loader's)."""
    scheme = scheme_of(cfg.backbone)
    if scheme is not None:
        return scheme.load(location(cfg.backbone), cfg, device)
    model = create_backbone(cfg.backbone, cfg.weights).to(device).eval()
    model.requires_grad_(False)
    return model


def encoder_identity(cfg: FaceConfig, encoder: Encoder) -> dict:
    """What frozen features depend on: the file's or weights' content, and preprocessing."""
    if scheme_of(cfg.backbone) is not None:
        return encoder.identity()
    return {"backbone": cfg.backbone, "weights": file_digest(cfg.weights),
            "arch": architecture_digest(cfg.backbone)}


def frozen_cache(release: Release, cfg: FaceConfig, encoder: Encoder) -> FeatureCache:
    """One cache per backbone identity and image set, shared by every split."""
    scheme = scheme_of(cfg.backbone)
    label = scheme.prefix if scheme is not None else f"{cfg.backbone}-frozen"
    return FeatureCache(cache_root(release), f"face-{label}", {
        "fit": FROZEN, "backbone": encoder_identity(cfg, encoder), "images": cfg.image_set},
        inputs=face_inputs(release, None))


def extract_frozen(release: Release, names: list[str], cfg: FaceConfig, *,
                   quiet: bool = False) -> FeatureCache:
    """Frozen features of ``names`` (``release`` already reads ``cfg.image_set``), cached."""
    device = resolve_device(cfg.device)
    with torch.inference_mode():
        encoder = frozen_encoder(cfg, device)
    cache = frozen_cache(release, cfg, encoder)
    todo = cache.missing(names)
    if todo:
        encode_faces(release, todo, encoder, cfg, cache, device, show_progress=not quiet)
    return cache
