"""``harness.extract``: extract and cache face, audio and pose features, or import a peer's.

The feature options (backbone, audio extractor, ONNX input, workers...) are shared with
``harness.run``: ``FEATURE_KEYS`` maps each to its key in a ``FeatureConfig``, under
``features.`` as a run folder's ``config.json`` holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.api.common import configured, is_main, load_release, numbers
from harness.config_files import require
from harness.data.splits import check_split
from harness.errors import HarnessError
from harness.features.extract import FeatureConfig

if TYPE_CHECKING:
    from harness.data.release import Release

#: API keyword (and command-line option) -> key in a config file.
FEATURE_KEYS: dict[str, str] = {
    "device": "features.device",
    "backbone": "features.face.backbone",
    "face_weights": "features.face.weights",
    "face_epochs": "features.face.max_epochs",
    "face_seed": "features.face.seed",
    "feature_threads": "features.feature_threads",
    "workers": "features.face.num_workers",
    "finetune": "features.face.finetune",
    "finetune_blocks": "features.face.finetune_blocks",
    "layer_decay": "features.face.layer_decay",
    "image_set": "features.face.image_set",
    "onnx_size": "features.face.onnx.size",
    "onnx_channels": "features.face.onnx.channels",
    "onnx_mean": "features.face.onnx.mean",
    "onnx_std": "features.face.onnx.std",
    "hf_pool": "features.face.hf.pool",
    "hf_layers": "features.face.hf.layers",
    "hf_audio_layers": "features.hf_audio.layers",
    "hf_audio_rows": "features.hf_audio.rows",
    "audio": "features.audio",
    "audio_weights": "features.audio_weights",
    "face_oof": "features.face_oof",
    "allow_missing_faces": "features.allow_missing_faces",
    "face_from": "features.face_from",
}


def feature_options(options: dict[str, Any]) -> dict[str, Any]:
    """Option values as a config holds them (paths as strings, ``"a,b,c"`` as 3 numbers)."""
    out = dict(options)
    for key in ("face_weights", "audio_weights"):
        if out.get(key) is not None:
            out[key] = str(out[key])
    for key, option in (("onnx_mean", "--onnx-mean"), ("onnx_std", "--onnx-std")):
        if out.get(key) is not None:
            out[key] = numbers(option, out[key], count=3)
    if out.get("onnx_channels") is not None:
        out["onnx_channels"] = out["onnx_channels"].lower()
    return out


def check_features(cfg: FeatureConfig) -> None:
    """Refuse preprocessing options on a backbone that takes none, and a missing model file or
    package, before any data is read."""
    from harness.features.face.config import SCHEME_OPTIONS, OnnxBackboneConfig
    from harness.features.face.schemes import location, scheme_of

    face = cfg.face
    scheme = scheme_of(face.backbone)
    if scheme is not None:
        scheme.require()
        location(face.backbone)
    elif face.onnx != OnnxBackboneConfig():
        raise HarnessError("--onnx-size, --onnx-channels, --onnx-mean and --onnx-std apply to "
                           f"--backbone onnx:PATH, not {face.backbone}")
    for prefix in SCHEME_OPTIONS:  # a scheme's own options, only with its backbone
        if getattr(face, prefix) != type(getattr(face, prefix))() and (
                scheme is None or scheme.prefix != prefix):
            raise HarnessError(f"the --{prefix}-* face options apply to --backbone "
                               f"{prefix}:PATH, not {face.backbone}")
    if scheme is not None or (face.finetune_blocks, face.layer_decay) != ("all", 1.0):
        face.check()
    check_audio_options(cfg)


def check_audio_options(cfg: FeatureConfig) -> None:
    """``--hf-audio-*`` only with ``--audio hf:PATH``; its package, folder and options checked
    before any data is read."""
    from harness.features.extract import HfAudioOptions

    hf = cfg.audio.startswith("hf:")
    if cfg.hf_audio != HfAudioOptions() and not hf:
        raise HarnessError(f"--hf-audio-layers and --hf-audio-rows apply to --audio hf:PATH, "
                           f"not {cfg.audio}")
    if hf:
        from harness.features.huggingface import check_audio

        check_audio(cfg.audio, cfg.hf_audio.layers, cfg.hf_audio.rows)


@dataclass
class ExtractConfig:
    """What ``harness extract`` does; ``data`` and ``quiet`` are where and how, not what."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    split: str = "official"  # the split whose stage-1 face model extracts faces
    folds: Path | None = None  # membership file (harness splits --write)
    modalities: tuple[str, ...] | None = None  # None: face, audio and pose
    shard: str | None = None  # "i/n": the i-th of n video shards
    import_from: Path | None = None  # a folder of precomputed features (--from)
    import_as: str | None = None  # their feature-set name (--as)
    data: Path | None = None
    quiet: bool = False
    task: str | None = None  # whose labels stage 1 is fine-tuned on (None: expr)
    threads: int | None = None  # CPU threads; None: torch's default (as ``harness run``)

    def __post_init__(self) -> None:
        check_split(self.split)
        require("--threads", self.threads, minimum=1)
        if self.task is not None:
            from harness.features.face.config import every_image
            from harness.tasks import get_task

            self.task = get_task(self.task).name
            every_image(self.features.face, get_task(self.task))
        if (self.import_from is None) != (self.import_as is None):
            raise HarnessError("--from DIR and --as NAME go together")
        self.shard_range  # noqa: B018 - checks the text

    @property
    def shard_range(self) -> tuple[int, int] | None:
        if self.shard is None:
            return None
        try:
            i, n = (int(x) for x in self.shard.split("/"))
        except ValueError:
            raise HarnessError(f"--shard takes i/n (e.g. 2/8), not {self.shard!r}") from None
        if not 1 <= i <= n:
            raise HarnessError(f"--shard {self.shard}: need 1 <= i <= n")
        return i, n


EXTRACT_KEYS = FEATURE_KEYS | {k: k for k in ("split", "folds", "shard", "import_from",
                                               "import_as", "data", "quiet", "task",
                                               "threads")} \
    | {"modality": "modalities"}


@dataclass
class Extracted:
    """Per modality, the cache now holding every name of the shard; or the import's summary."""

    names: list[str]
    caches: dict[str, Any] = field(default_factory=dict)  # modality -> FeatureCache
    imported: Any = None  # harness.features.imported's summary, for --from


def extract_config(config=None, **options) -> ExtractConfig:
    """The ``ExtractConfig`` of a file (or dict, or instance) with ``options`` laid over it."""
    opts = feature_options(options)
    if opts.get("modality") is not None:
        opts["modality"] = tuple(opts["modality"]) or None
    return configured(ExtractConfig, config, opts, EXTRACT_KEYS)


def extract(data: Path | None = None, *, config=None, modality=None, split: str | None = None,
            shard: str | None = None, import_from: Path | None = None,
            import_as: str | None = None, folds: Path | None = None, quiet: bool | None = None,
            threads: int | None = None, release: Release | None = None,
            task: str | None = None,
            **feature_options_: Any) -> Extracted:
    """Extract (once; re-runs do no work) or import features; see ``harness extract --help``.

    ``feature_options_`` are the keys of ``FEATURE_KEYS`` (``backbone="light"``, ...).
    """
    unknown = set(feature_options_) - set(FEATURE_KEYS) - {"face_epochs"}
    if unknown:
        raise HarnessError(f"extract() got unknown option(s): {', '.join(sorted(unknown))}")
    cfg = extract_config(config, data=data, modality=modality, split=split, shard=shard,
                         import_from=import_from, import_as=import_as, folds=folds, quiet=quiet,
                         task=task, threads=threads, **feature_options_)
    check_features(cfg.features)
    if cfg.threads:  # like ``harness run``: the stage-1 model and features it makes record it
        import torch

        torch.set_num_threads(cfg.threads)
    from harness.features.extract import all_names, extract_all, shard_names

    rel = load_release(cfg.data, release, cfg.task)
    if cfg.import_from is not None:
        from harness.features.imported import import_features

        done = import_features(rel, cfg.import_from, cfg.import_as, names=all_names(rel),
                               quiet=cfg.quiet)
        return Extracted(all_names(rel), imported=done)
    from harness.data.splits import get_split
    from harness.features.modalities import MODALITIES

    names = shard_names(all_names(rel), cfg.shard_range)
    caches, _ = extract_all(rel, get_split(rel, cfg.split, membership=cfg.folds),
                            cfg.modalities or rel.task.modalities or MODALITIES, cfg.features,
                            names=names,
                            quiet=cfg.quiet or not is_main())
    return Extracted(names, caches)
