"""Face features: the frozen stage-1 model gives every frame 1..N of every name a feature.

Frames with no usable face (none detected, or a corrupt jpg) take the nearest usable frame's
feature and are flagged, so every frame, including every test frame, can be predicted.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from harness.console import progress
from harness.data.release import Release
from harness.device import autocast, resolve_device
from harness.features.cache import FeatureCache
from harness.features.face_images import face_loader
from harness.features.face_model import FaceModel, load_face_model
from harness.features.face_stage import FaceConfig, FaceStage
from harness.features.timeline import fill_from_nearest, frame_times


def extract_face_features(release: Release, names: list[str], stage: FaceStage,
                          cfg: FaceConfig, cache: FeatureCache,
                          *, show_progress: bool = True) -> None:
    """Cache one feature per frame 1..N for every name not cached yet."""
    todo = cache.missing(names)
    if not todo:
        return
    device = resolve_device(cfg.device)
    model = load_face_model(cfg.backbone, stage.checkpoint, device)
    with progress("frames", disable=not show_progress) as bar:
        sizes = {name: release.n_frames(name) for name in todo}
        task = bar.add_task("face features", total=sum(sizes.values()), info="")
        for name in todo:
            if cache.has(name):  # another process got there first
                bar.update(task, advance=sizes[name], info=name)
                continue
            feat, flag, bad = _name_features(release, name, model, cfg, device)
            cache.save(name, feat, frame_times(np.arange(1, feat.shape[0] + 1),
                                               release.fps(name)), flag)
            if bad.size:
                warnings.warn(f"{name}: {bad.size} unreadable face image(s) (corrupt or empty), "
                              f"treated as frames without a face, first: frame {bad[0]}",
                              stacklevel=2)
            bar.update(task, advance=sizes[name], info=name)


@torch.inference_mode()
def _name_features(release: Release, name: str, model: FaceModel, cfg: FaceConfig,
                   device: torch.device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features and flags of frames 1..N, and the frames whose jpg could not be decoded."""
    n = release.n_frames(name)
    have = release.faces.frames(name)
    have = have[have <= n]
    feats, oks = [], []
    loader = face_loader([release.faces.path(name, f) for f in have.tolist()],
                         model.backbone.input_size, cfg.batch_size, cfg.num_workers)
    for img, ok in loader:
        with autocast(device):
            feats.append(model.backbone(img.to(device)).float().cpu())
        oks.append(ok)
    dim = model.backbone.feature_dim
    if not feats:
        return np.zeros((n, dim), np.float32), np.ones(n, bool), have[:0]
    feat = torch.cat(feats).numpy()
    ok = torch.cat(oks).numpy().astype(bool)
    return (*fill_from_nearest(feat[ok], have[ok], n, dim), have[~ok])
