"""Hugging Face ``transformers`` models as frozen feature extractors, from local folders only.

- ``--backbone hf:PATH``: a vision model (DINOv2, ViT, BEiT, CLIP/SigLIP vision towers,
  ConvNeXt, Swin...) gives one feature per face (``image.HfImageBackbone``), through the face
  backbone scheme ``hf`` (``harness.features.face.schemes``) registered here.
  ``--finetune`` fine-tunes it in stage 1 instead (``trainable.HfFaceEncoder``; blocks and
  lr decay: ``harness.features.face.finetune``).
- ``--audio hf:PATH``: a speech model (wav2vec2, HuBERT, WavLM, data2vec-audio) gives timed
  hidden states at its own frame rate (``audio.HfAudioExtractor``), through the audio extractor
  ``hf:`` registered here.

Loading (``loading``) is offline by construction; ``transformers`` is the optional extra
``abaw-harness[hf]``, imported only when an ``hf:`` model is asked for, so importing this
package (which the face schemes and the audio package do) costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError
from harness.features.audio.extractor import register_audio_extractor
from harness.features.face.schemes import BackboneScheme, register_scheme
from harness.features.huggingface.loading import (
    PREFIX,
    folder_digest,
    import_transformers,
    is_hf,
    resolve_folder,
)

__all__ = ["PREFIX", "folder_digest", "is_hf", "resolve_folder", "create_hf_audio_extractor",
           "create_hf_backbone", "hf_label"]
DIGEST_PREFIX = "hf-sha256:"


def hf_label(spec: str) -> str:
    """``hf:`` and the folder's name (or the cached model's id), as run.json and tables show
    the model."""
    return PREFIX + _shown(spec[len(PREFIX):] if is_hf(spec) else spec)


def _shown(rest: str) -> str:
    """A folder by its name, a model id of the local cache by its id."""
    folder = resolve_folder(PREFIX + rest)  # an error if it is neither
    return folder.name if Path(rest).expanduser().is_dir() else rest


def content_identity(spec: str) -> str:
    """The model's content (weights + configuration + preprocessor), not where it lies."""
    return DIGEST_PREFIX + folder_digest(resolve_folder(spec))


def create_hf_backbone(spec: str, device=None, *, pool: str | None = None,
                       layers: str = "last"):
    """The frozen face backbone of ``hf:PATH`` (see ``image.HfImageBackbone``)."""
    from harness.features.huggingface.image import HfImageBackbone, HfImageConfig

    return HfImageBackbone(spec, HfImageConfig(pool=pool, layers=layers), device)


def _check_face(cfg) -> None:
    """``--hf-pool``/``--hf-layers`` before any data is read (the layer count: at load)."""
    from harness.features.huggingface.image import HfImageConfig

    import_transformers()
    HfImageConfig(pool=cfg.hf.pool, layers=cfg.hf.layers).check(cfg.backbone)


def create_hf_audio_extractor(spec: str, *, weights=None, device: str = "cpu", cfg=None,
                              **options):
    """The audio extractor of ``hf:PATH``: its options from ``cfg.hf_audio`` (a
    ``FeatureConfig``) or ``options`` (``audio.HfAudioConfig``'s fields)."""
    from harness.features.huggingface.audio import HfAudioConfig, HfAudioExtractor

    if weights is not None:
        raise HarnessError(f"--audio {spec}: the model folder holds its weights; drop "
                           f"--audio-weights ({weights})")
    if cfg is not None:
        options = {"layers": cfg.hf_audio.layers, "rows": cfg.hf_audio.rows} | options
    unknown = set(options) - set(HfAudioConfig.__dataclass_fields__)
    if unknown:
        raise HarnessError(f"--audio {spec}: unknown option(s) {sorted(unknown)}")
    return HfAudioExtractor(spec, device, HfAudioConfig(**options))


def check_audio(spec: str, layers: str = "last", rows: str = "frames") -> None:
    """``--hf-audio-*`` and the folder, before any data is read."""
    from harness.features.huggingface.audio import HfAudioConfig

    import_transformers()
    resolve_folder(spec)
    HfAudioConfig(layers=layers, rows=rows).check(spec)


def _trainable_face(path: Path, cfg):
    """The model as a module stage 1 fine-tunes (``--finetune``), on the CPU."""
    from harness.features.huggingface.image import HfImageConfig
    from harness.features.huggingface.trainable import HfFaceEncoder

    return HfFaceEncoder(PREFIX + str(path), HfImageConfig(pool=cfg.hf.pool, layers=cfg.hf.layers))


def _load_face(path: Path, cfg, device):
    return create_hf_backbone(PREFIX + str(path), device, pool=cfg.hf.pool, layers=cfg.hf.layers)


register_scheme(BackboneScheme(
    prefix=PREFIX.rstrip(":"),
    locate=lambda rest: resolve_folder(PREFIX + rest),
    digest=lambda path: DIGEST_PREFIX + folder_digest(path),
    load=_load_face,
    check=_check_face,
    require=import_transformers,
    shown=_shown,
    trainable=_trainable_face,
), owner=__name__)

register_audio_extractor(
    PREFIX.rstrip(":"),
    lambda weights, device, spec, **kw: create_hf_audio_extractor(
        spec, weights=weights, device=device, **kw),
    owner=__name__, prefix=True, label=lambda cfg: hf_label(cfg.audio),
    identity=content_identity)
