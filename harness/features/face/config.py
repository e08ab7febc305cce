"""``FaceConfig``: every setting of the face features (stage-1 fine-tune, frozen backbones,
images), with the paper's values as defaults; the face data path, stage 1, the frozen path and
the face extractor all read it.

A backbone is a registered one (``light``, ``emonet``: ``harness.features.face.backbones``) or a
scheme's model (``onnx:PATH``: ``harness.features.face.schemes``), which is always frozen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.config_files import require
from harness.data.layout import DEFAULT_IMAGE_SET
from harness.errors import HarnessError
from harness.features.face.schemes import location, scheme_of
from harness.paths import file_digest

if TYPE_CHECKING:
    from harness.train import Schedule

#: HSEmotion's EfficientNet-B0 export (enet_b0_8_best_afew.onnx) and most ImageNet models.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class OnnxBackboneConfig:
    """How face crops become the ONNX model's input; defaults fit HSEmotion's exports."""

    size: int | None = None  # side in pixels; None: the model's static side, else 224
    channels: str = "rgb"  # "rgb" or "bgr": the channel order the model was trained on
    mean: tuple[float, float, float] = IMAGENET_MEAN  # per channel (model order), pixels/255
    std: tuple[float, float, float] = IMAGENET_STD

    def check(self) -> None:
        if self.channels not in ("rgb", "bgr"):
            raise HarnessError(f"--onnx-channels takes rgb or bgr, not {self.channels!r}")
        if len(self.mean) != 3 or len(self.std) != 3:
            raise HarnessError("--onnx-mean and --onnx-std take 3 numbers each (one a channel)")
        if any(s <= 0 for s in self.std):
            raise HarnessError(f"--onnx-std must be positive, not {self.std}")
        if self.size is not None and self.size < 8:
            raise HarnessError(f"--onnx-size {self.size}: too small for a face")


@dataclass
class HfBackboneConfig:
    """How an ``hf:`` vision model's hidden states become one feature a face (``--hf-pool``,
    ``--hf-layers``; see ``harness.features.huggingface``). Its image preprocessing is the
    model's own (``preprocessor_config.json``), so it has no option here."""

    pool: str | None = None  # cls | mean | pooler; None: pooler where the model has one, else cls
    layers: str = "last"  # last | lastN (the mean of the last N hidden states) | K (layer K)


#: A scheme's own options, a field named after its prefix: in the key only when it is used.
SCHEME_OPTIONS = ("hf",)

#: Stage 1's backbone learning rate for pretrained weights (the paper's) and from scratch (ours).
PRETRAINED_BACKBONE_LR = 4e-5
SCRATCH_BACKBONE_LR = 2e-3


@dataclass
class FaceConfig:
    """Stage-1 settings; defaults are the paper's unless marked."""

    backbone: str = "light"  # ours, for CPUs; the paper's is "emonet" (pass --face-weights);
    # or "<scheme>:PATH", a frozen model (onnx:PATH: see harness.features.face.schemes)
    weights: str | None = None  # local EmoNet-style state dict; none can be downloaded
    lr_backbone: float | None = None  # None: 4e-5 with pretrained weights, 2e-3 from scratch
    lr_head: float = 4e-3
    weight_decay: float = 0.05
    max_epochs: int = 30
    lr_patience: int = 2
    lr_factor: float = 0.5
    early_stop: int = 5  # ours: the paper gives no patience; its best epoch was about 15
    frame_stride: int = 5  # one labelled frame in five
    batch_size: int = 128
    seed: int = 0
    device: str = "auto"
    num_workers: int | None = None  # decoding processes; None: default_workers() (the CPUs)
    # ours: None fine-tunes a registered backbone (the paper's stage 1) and freezes a
    # scheme's (which cannot be fine-tuned); False freezes a registered one (needs weights)
    finetune: bool | None = None
    # ours, a scheme's model fine-tuned (hf:PATH --finetune; see harness.features.face.finetune):
    finetune_blocks: str = "all"  # "all", or "lastK": the last K blocks (and the final norm)
    layer_decay: float = 1.0  # block d below the top trains at lr_backbone x layer_decay^d
    image_set: str = DEFAULT_IMAGE_SET  # or "cropped": the release's non-aligned faces
    # a scheme's preprocessing (the name predates other schemes: kept, as run hashes hold it)
    onnx: OnnxBackboneConfig = field(default_factory=OnnxBackboneConfig)
    hf: HfBackboneConfig = field(default_factory=HfBackboneConfig)  # hf:PATH only

    def __post_init__(self) -> None:
        """Refuse values that cannot train before any work (named as the command line does)."""
        for name, value, minimum in (("--face-epochs", self.max_epochs, 1),
                                     ("--workers", self.num_workers, 0),
                                     ("features.face.batch_size", self.batch_size, 1),
                                     ("features.face.frame_stride", self.frame_stride, 1),
                                     ("features.face.lr_patience", self.lr_patience, 0),
                                     ("features.face.early_stop", self.early_stop, 1),
                                     ("features.face.weight_decay", self.weight_decay, 0)):
            require(name, value, minimum=minimum)
        for name, value in (("features.face.lr_backbone", self.lr_backbone),
                            ("features.face.lr_head", self.lr_head),
                            ("features.face.lr_factor", self.lr_factor)):
            require(name, value, positive=True)

    @property
    def frozen(self) -> bool:
        """Whether features come straight from the backbone, with no stage-1 fine-tune: a
        scheme's model unless ``--finetune`` (and the scheme can train it), or ``--no-finetune``."""
        if self.finetune is False:
            return True
        scheme = scheme_of(self.backbone)
        return scheme is not None and not (self.finetune and scheme.trainable is not None)

    def label(self) -> str:
        """The backbone as run.json and the leaderboard show it (a scheme's model by name)."""
        scheme = scheme_of(self.backbone)
        if scheme is not None:
            name = f"{scheme.prefix}:{scheme.label(self.backbone.split(':', 1)[1])}"
            return name if self.frozen else f"{name}-finetuned"
        return f"{self.backbone}-frozen" if self.frozen else self.backbone

    def check(self) -> None:
        """Refuse combinations that cannot work, before any work is done."""
        scheme = scheme_of(self.backbone)
        self._check_blocks(scheme)
        if scheme is not None:
            if self.finetune and scheme.trainable is None:
                raise HarnessError(f"--finetune: a {scheme.prefix}: backbone cannot be "
                                   "fine-tuned (the harness only runs it); drop --finetune for "
                                   "frozen features")
            if self.weights:
                raise HarnessError(f"--face-weights applies to registered backbones; a "
                                   f"{scheme.prefix}: model holds its own weights")
            scheme.check(self)
        elif self.finetune is False and not self.weights:
            raise HarnessError(f"--no-finetune with --backbone {self.backbone} needs "
                               "--face-weights: frozen random weights make no features")

    def _check_blocks(self, scheme) -> None:
        """``--finetune-blocks``/``--layer-decay`` need a scheme's model being fine-tuned."""
        from harness.features.face.finetune import parse_blocks

        parse_blocks(self.finetune_blocks)
        if not 0 < self.layer_decay <= 1:
            raise HarnessError(f"--layer-decay takes a number in (0, 1], not {self.layer_decay}")
        if (self.finetune_blocks, self.layer_decay) != ("all", 1.0) and (
                scheme is None or self.frozen):
            raise HarnessError("--finetune-blocks and --layer-decay apply to --finetune with a "
                               f"pretrained model's backbone (hf:PATH), not --backbone "
                               f"{self.backbone}" + (" (frozen)" if scheme is not None else ""))

    def identity(self) -> dict:
        """Fields the trained model depends on (not where or how fast it ran).

        The options added for frozen backbones appear only when used, so every model and run
        of the defaults keeps its key.
        """
        d = asdict(self)
        for k in ("device", "num_workers"):
            d.pop(k)
        if self.weights:
            d["weights"] = file_digest(Path(self.weights))
        if self.finetune is None:
            d.pop("finetune")
        for key, default in (("finetune_blocks", "all"), ("layer_decay", 1.0)):
            if d[key] == default:  # absent when unused: every earlier key is kept
                d.pop(key)
        if self.image_set == DEFAULT_IMAGE_SET:
            d.pop("image_set")
        scheme = scheme_of(self.backbone)
        if scheme is not None:
            d["backbone"] = scheme.digest(location(self.backbone))
        else:
            d.pop("onnx")
        for prefix in SCHEME_OPTIONS:
            if scheme is None or scheme.prefix != prefix:
                d.pop(prefix)
        return d

    def schedule(self) -> Schedule:
        from harness.train import Schedule

        return Schedule(self.max_epochs, self.lr_patience, self.lr_factor, self.early_stop,
                        0.0, self.seed)


def every_image(face: FaceConfig, task) -> None:
    """Sparse images (``task.sparse_images``: MTL) are not near-duplicate neighbours as a
    video's frames are: where the stride is left at its default (the paper's one in five, for
    30 fps video), stage 1 trains on every labelled image; another stride is kept. Said once
    here for ``harness run`` and ``harness extract``, so both name the same stage-1 model."""
    if task.sparse_images and face.frame_stride == FaceConfig.frame_stride:
        face.frame_stride = 1
