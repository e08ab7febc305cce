"""Face features: the frozen stage-1 model gives every frame 1..N of every name a feature.

Frames with no usable face (none detected, or a corrupt jpg) take the nearest usable frame's
feature and are flagged, so every frame, including every test frame, can be predicted.

One loader with persistent workers decodes the images of every name to extract, in batches
that never straddle two names (the same batches as one loader per name, so features do not
depend on which names were extracted together), while the device runs the model.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import numpy as np
import torch

from harness.console import progress
from harness.data.release import Release
from harness.device import autocast, resolve_device
from harness.features.cache import FeatureCache
from harness.features.face.config import FaceConfig
from harness.features.face.images import (
    FaceFiles,
    FaceImages,
    FaceLoader,
    chunks,
    loader_size,
    stored_size,
    to_device,
    to_model_input,
)
from harness.features.face.model import load_face_model
from harness.features.face.stage import FaceStage
from harness.features.timeline import fill_from_nearest, frame_times
from harness.provenance import producing


def extract_face_features(release: Release, names: list[str], stage: FaceStage,
                          cfg: FaceConfig, cache: FeatureCache,
                          *, show_progress: bool = True) -> None:
    """Cache one feature per frame 1..N for every name not cached yet."""
    todo = cache.missing(names)
    if not todo:
        return
    device = resolve_device(cfg.device)
    model = load_face_model(cfg, stage.checkpoint, device)
    with producing(stage1=stage.provenance.get("digest")):  # each entry says which model
        encode_faces(release, todo, model.backbone, cfg, cache, device,
                     show_progress=show_progress)


#: A frozen feature maker: ``(B, 3, S, S)`` RGB in [0, 1] -> ``(B, D)``, with ``input_size``
#: (S) and ``feature_dim`` (D) attributes: a registered backbone, or an ``OnnxBackbone``.
Encoder = Callable[[torch.Tensor], torch.Tensor]


def encode_faces(release: Release, todo: list[str], encoder: Encoder, cfg: FaceConfig,
                 cache: FeatureCache, device: torch.device, *, show_progress: bool = True
                 ) -> None:
    """Cache ``encoder``'s feature of every frame 1..N of every name of ``todo``.

    The bar counts face images through the encoder, batch by batch (images/s: a large model
    can take minutes a name); frames without a face image cost nothing and are not counted.
    """
    with progress("images", disable=not show_progress) as bar:
        have = {name: _face_frames(release, name) for name in todo}
        task = bar.add_task("face features", total=sum(h.size for h in have.values()),
                            info="")
        for name, feat, flag, bad in _features(release, todo, encoder, cfg, device, have,
                                               lambda n: bar.advance(task, n)):
            cache.save(name, feat, frame_times(np.arange(1, feat.shape[0] + 1),
                                               release.fps(name)), flag)
            if bad.size:
                warnings.warn(f"{name}: {bad.size} unreadable face image(s) (corrupt or empty), "
                              f"treated as frames without a face, first: frame {bad[0]}",
                              stacklevel=2)
            bar.update(task, info=name)


@torch.inference_mode()
def _features(release: Release, names: list[str], encoder: Encoder, cfg: FaceConfig,
              device: torch.device, faces: dict[str, np.ndarray],
              advance: Callable[[int], None]
              ) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Per name: features and flags of frames 1..N, and the frames whose jpg did not decode
    (``faces``: each name's frames with a face image; ``advance(n)`` after each batch)."""
    have = [faces[n] for n in names]
    counts = np.array([h.size for h in have], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)))
    files = FaceFiles.of(release.faces, names, np.repeat(np.arange(len(names)), counts),
                         np.concatenate(have) if have else np.zeros(0, np.int64))
    per_name = [[b + a for b in chunks(int(c), cfg.batch_size)] for a, c in zip(starts, counts)]
    size, dim = encoder.input_size, encoder.feature_dim
    loader = FaceLoader(FaceImages(files, loader_size(stored_size(files), size, device)),
                        cfg.num_workers, pin=device.type == "cuda")
    batches = loader.batches([b for plan in per_name for b in plan])
    for name, frames, plan in zip(names, have, per_name):
        feats, oks = [], []
        for _ in plan:
            img, ok = next(batches)
            x = to_model_input(to_device(img, device), size)  # outside autocast: exact pixels
            with autocast(device):
                feats.append(encoder(x).float().cpu())
            oks.append(ok)
            advance(len(ok))
        n = release.n_frames(name)
        if not feats:
            yield name, np.zeros((n, dim), np.float32), np.ones(n, bool), frames[:0]
            continue
        feat = torch.cat(feats).numpy()
        ok = torch.cat(oks).numpy().astype(bool)
        yield (name, *fill_from_nearest(feat[ok], frames[ok], n, dim), frames[~ok])


def _face_frames(release: Release, name: str) -> np.ndarray:
    """Frames 1..N of ``name`` that have a face image."""
    have = release.faces.frames(name)
    return have[have <= release.n_frames(name)]
