"""The face extractor: one feature per frame 1..N of a name, from the face backbone.

Fine-tuned (the paper's): stage 1 is fine-tuned on the split's training names, so the cache key
carries the stage-1 model's key; with ``face_oof`` the training names' features are
cross-fitted (``harness.features.face.oof``) and cached apart from the in-sample ones. Frozen
(``--no-finetune`` or a scheme such as ``onnx:PATH``): straight from the backbone, one cache for
every split. Before any face work, every name must have face images
(``harness.data.coverage.check_faces``): a name without any would otherwise get all-zero
features in silence. Heavy modules (torch) are imported when features are asked for.
"""

from __future__ import annotations

from pathlib import Path

from harness.console import err
from harness.data.coverage import check_faces
from harness.data.layout import DEFAULT_IMAGE_SET
from harness.data.release import Release
from harness.data.splits import Split
from harness.errors import HarnessError
from harness.features.cache import FeatureCache, cache_root
from harness.features.extractors import (
    Alignment,
    Extracted,
    Extractor,
    ExtractRequest,
    register_extractor,
)
from harness.features.face.inputs import face_inputs

MODALITY = "face"


def _models_dir(release: Release) -> Path:
    return cache_root(release) / "face_models"


def _prepared(req: ExtractRequest) -> tuple[Release, object]:
    """The release reading the configured image set, and the checked face settings."""
    face = req.cfg.face
    face.device = req.cfg.device
    face.check()
    return req.release.with_image_set(face.image_set), face


def face_cache(release: Release, stage_key: str, backbone: str, split: Split) -> FeatureCache:
    """In-sample features: every name through the face model of stage 1 ``stage_key``
    (fine-tuned on ``split``: its faces are inputs of every entry)."""
    return FeatureCache(cache_root(release), f"{MODALITY}-{backbone}", {"stage": stage_key},
                        inputs=face_inputs(release, split))


def _transfer_cache(release: Release, stage_key: str, backbone: str, source, source_split,
                    ) -> FeatureCache:
    """Features of the run's names from another task's stage-1 model (``--face-from``): the
    source model's key, and the task they are for (a name's frames are its own task's)."""
    return FeatureCache(cache_root(release), f"{MODALITY}-{backbone}",
                        {"stage": stage_key, "for": release.task.name},
                        inputs=face_inputs(source, source_split))


def _source(req: ExtractRequest, faces: Release, face):
    """``--face-from``: the source task's release and split, checked for leaks (None: none)."""
    task = req.cfg.face_from
    if not task:
        return None
    from harness.features.face.transfer import check_transfer, source_of

    if face.frozen:
        raise HarnessError("--face-from takes another task's fine-tuned stage 1; a frozen face "
                           "backbone has none (its features are every task's already)")
    if req.cfg.face_oof:
        raise HarnessError("--face-from reads the source model's features of every name; "
                           "--face-oof does not apply to it")
    source, source_split = source_of(faces, req.split, task)
    check_transfer(req.release, req.split, source, source_split)
    return source.with_image_set(face.image_set), source_split


def _cache(req: ExtractRequest):
    faces, face = _prepared(req)
    transfer = _source(req, faces, face)
    if transfer is not None:
        from harness.features.face.stage import face_stage_key

        source, source_split = transfer
        return _transfer_cache(faces, face_stage_key(source, source_split, face),
                               face.backbone, source, source_split)
    if face.frozen:
        import torch

        from harness.device import resolve_device
        from harness.features.face.frozen import frozen_cache, frozen_encoder

        with torch.inference_mode():
            encoder = frozen_encoder(face, resolve_device(face.device))
        return frozen_cache(faces, face, encoder)
    from harness.features.face.finetune import key_name
    from harness.features.face.stage import face_stage_key

    return face_cache(faces, face_stage_key(faces, req.split, face), key_name(face), req.split)


def _extract(req: ExtractRequest) -> Extracted:
    faces, face = _prepared(req)
    transfer = _source(req, faces, face)
    check_faces(faces, sorted({*req.names, *req.split.train, *req.split.val}),
                allow_missing=req.cfg.allow_missing_faces)
    if transfer is not None:
        return Extracted(_transferred(faces, req, *transfer))
    if face.frozen:
        return Extracted(_frozen(faces, req))
    from harness.features.face.stage import finetune_face, warn_if_not_paper

    warn_if_not_paper(face)
    stage = finetune_face(faces, req.split, face, _models_dir(faces),
                          show_progress=not req.quiet)
    return Extracted(_fine_tuned(faces, req, stage), stage)


def _transferred(faces: Release, req: ExtractRequest, source: Release, source_split
                 ) -> FeatureCache:
    """The run's names through the source task's stage-1 model (trained or reused here)."""
    from harness.features.face.features import extract_face_features
    from harness.features.face.stage import finetune_face, warn_if_not_paper

    face = req.cfg.face
    warn_if_not_paper(face)
    check_faces(source, sorted({*source_split.train, *source_split.val}),
                allow_missing=req.cfg.allow_missing_faces)
    stage = finetune_face(source, source_split, face, _models_dir(source),
                          show_progress=not req.quiet)
    cache = _transfer_cache(faces, stage.key, face.backbone, source, source_split)
    extract_face_features(faces, req.mine, stage, face, cache, show_progress=not req.quiet)
    return cache


def _frozen(faces: Release, req: ExtractRequest) -> FeatureCache:
    """A frozen backbone's features: nothing is fine-tuned, so nothing is cross-fitted."""
    from harness.features.face.frozen import FROZEN, extract_frozen

    if req.cfg.face_oof and not req.quiet:
        err.print(f"Frozen face backbone: no stage-1 fine-tune, so the training names' face "
                  f"features are not cross-fitted (--face-oof {req.cfg.face_oof} has no effect; "
                  f"face_fit: {FROZEN})")
    return extract_frozen(faces, req.mine, req.cfg.face, quiet=req.quiet)


def _fine_tuned(release: Release, req: ExtractRequest, stage):
    """Face features of ``req.names``: in-sample, or cross-fitted for the training names.

    Under torchrun each rank extracts its own shard of the names, but every rank takes part in
    training each cross-fitting model that any rank needs (training is collective).
    """
    from harness.features.face.features import extract_face_features
    from harness.features.face.finetune import key_name
    from harness.features.face.oof import CrossFitCache, face_fit, oof_splits
    from harness.features.face.stage import face_stage_key, finetune_face

    cfg, quiet, split, names = req.cfg, req.quiet, req.split, req.names
    full = face_cache(release, stage.key, key_name(cfg.face), split)
    mine = req.mine
    if not cfg.face_oof:
        extract_face_features(release, mine, stage, cfg.face, full, show_progress=not quiet)
        return full
    folds = oof_splits(release, split, cfg.face_oof)
    fit = face_fit(len(folds))
    oof = FeatureCache(cache_root(release), f"{MODALITY}-{key_name(cfg.face)}", {
        "stage": stage.key, "fit": fit,
        "folds": [face_stage_key(release, fold, cfg.face) for fold, _ in folds]},
        inputs=face_inputs(release, split))  # each fold's faces are the split's, or fewer
    cache = CrossFitCache(full, oof, split.train, fit)
    others = [n for n in mine if n not in cache.train]
    extract_face_features(release, others, stage, cfg.face, full, show_progress=not quiet)
    wanted, my_names = set(names), set(mine)
    for i, (fold, group) in enumerate(folds, start=1):
        todo = oof.missing([n for n in group if n in wanted])
        if not todo:
            continue
        todo = [n for n in todo if n in my_names]
        if not quiet:
            err.print(f"Cross-fitting: face model {i} of {len(folds)} (without {len(group)} "
                      f"training name(s)) for their features")
        fold_stage = finetune_face(release, fold, cfg.face, _models_dir(release),
                                   show_progress=not quiet)
        extract_face_features(release, todo, fold_stage, cfg.face, oof, show_progress=not quiet)
    return cache


def _record(cfg, cache) -> dict[str, str]:
    """How the training names' features were fitted (in-sample, cross-fitted or frozen) and the
    image set when it is not the default."""
    from harness.features.face.oof import fit_of

    out = {"face_fit": fit_of(cache)}
    if cfg.face_from:
        out["face_from"] = cfg.face_from
    if cfg.face.image_set != DEFAULT_IMAGE_SET:
        out["face_images"] = cfg.face.image_set
    return out


register_extractor(Extractor(
    name="face-backbone", modality=MODALITY, alignment=Alignment.PER_FRAME,
    cache=_cache, extract=_extract, label=lambda cfg: cfg.face.label(), record=_record,
), owner=__name__)
