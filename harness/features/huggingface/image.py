"""A Hugging Face vision model as a frozen face backbone (``--backbone hf:PATH``).

The harness's face data path delivers the release's face crops at their side (112 pixels, the
release's) as RGB in [0, 1]; this module then applies the model's own preprocessing, read from
``preprocessor_config.json``, on the device: resize (``height``/``width``, ``shortest_edge``, or
ConvNeXt's ``crop_pct`` rule) with the model's resampling (PIL's filters, bit for bit: see
``resample``), centre crop, rescale and normalise. The result equals ``AutoImageProcessor``'s
on the same image within 1e-2 (exactly, in the tests). The feature is ``--hf-pool``
(``pooler``: the model's pooled output; ``cls``: the class token; ``mean``: the mean of the
patch tokens, or of the map of a convolutional model) of the hidden state ``--hf-layers`` picks
(see ``layers``), in float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from harness.device import autocast
from harness.errors import HarnessError
from harness.features.huggingface.layers import LayerChoice, parse_layers, select
from harness.features.huggingface.loading import LoadedModel, load_model, read_config_json
from harness.features.huggingface.resample import pil_resize

POOLS = ("cls", "mean", "pooler")
#: The side the face data path hands over: the release's crops are 112 x 112.
FACE_SIZE = 112
RESAMPLING_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box",
                    5: "hamming"}
#: Tokens before the patch tokens (class, distillation) of models that have a class token.
CLS_TOKENS = {"vit": 1, "dinov2": 1, "dinov2_with_registers": 1, "beit": 1,
              "data2vec-vision": 1, "clip_vision_model": 1, "deit": 2, "vit_msn": 1,
              "vit_mae": 1, "dpt": 1, "vivit": 1}


@dataclass
class HfImageConfig:
    """How a vision model's hidden states become one feature a face."""

    pool: str | None = None  # cls | mean | pooler; None: pooler where the model has one, else cls
    layers: str = "last"  # last | lastN | K (see harness.features.huggingface.layers)
    face_size: int = FACE_SIZE  # the side the face data path delivers

    def check(self, where: str) -> LayerChoice:
        if self.pool is not None and self.pool not in POOLS:
            raise HarnessError(f"{where}: --hf-pool takes {', '.join(POOLS)}, not {self.pool!r}")
        if self.face_size < 8:
            raise HarnessError(f"{where}: face side {self.face_size} is too small")
        return parse_layers(self.layers, where)


@dataclass(frozen=True)
class Preprocess:
    """The steps of a model's image processor, as numbers the device can apply."""

    resize: tuple[int, int] | None  # (height, width) after resizing a square face
    resample: int  # PIL's filter code, as preprocessor_config.json stores it
    crop: tuple[int, int] | None
    rescale: float | None
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None

    def as_dict(self) -> dict:
        return {"resize": self.resize, "resample": RESAMPLING_NAMES[self.resample],
                "crop": self.crop, "rescale": self.rescale, "mean": self.mean, "std": self.std}

    @property
    def out_size(self) -> tuple[int, int] | None:
        return self.crop or self.resize

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, H, W, 3)`` uint8 RGB -> ``(B, 3, h, w)`` float32 ``pixel_values`` (same device)."""
        x = images.permute(0, 3, 1, 2).float()
        if self.resize is not None:
            x = _resize(x, _output_size(self.resize, x.shape[-2:]), self.resample)
        if self.crop is not None:
            x = _centre_crop(x, self.crop)
        if self.rescale is not None:
            x = x * self.rescale
        if self.mean is not None:
            mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
            std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
            x = (x - mean) / std
        return x


def read_preprocess(folder, face_size: int = FACE_SIZE) -> Preprocess:
    """The steps of ``preprocessor_config.json`` (an error naming the folder if it has none)."""
    cfg = read_config_json(folder, "preprocessor_config.json", required=False)
    if not cfg:
        raise HarnessError(f"{folder}: no preprocessor_config.json; the model's own "
                           "preprocessing is needed (save its image processor with "
                           "save_pretrained into the folder)")
    resize = None
    if cfg.get("do_resize", True) and cfg.get("size") is not None:
        resize = _resize_target(cfg, face_size, folder)
    code = int(cfg.get("resample", 2))
    if code not in RESAMPLING_NAMES:
        raise HarnessError(f"{folder}: preprocessor_config.json: unknown resample {code}")
    crop = None
    if cfg.get("do_center_crop") and cfg.get("crop_size") is not None:
        crop = _hw(cfg["crop_size"], folder)
    short = (cfg.get("size") or {}).get("shortest_edge") if isinstance(cfg.get("size"), dict) \
        else None
    if resize is not None and cfg.get("crop_pct") is not None and short and short < 384:
        crop = (int(short), int(short))  # ConvNeXt: resize to short / crop_pct, crop to short
    rescale = float(cfg.get("rescale_factor", 1 / 255)) if cfg.get("do_rescale", True) else None
    mean = std = None
    if cfg.get("do_normalize", True) and cfg.get("image_mean") is not None:
        mean, std = _triple(cfg["image_mean"]), _triple(cfg.get("image_std", 1.0))
        if any(s <= 0 for s in std):
            raise HarnessError(f"{folder}: preprocessor_config.json: image_std {std} not > 0")
    return Preprocess(resize, code, crop, rescale, mean, std)


def _triple(value) -> tuple[float, ...]:
    if isinstance(value, list | tuple):
        return tuple(float(v) for v in value)
    return (float(value),) * 3


def _hw(size, folder) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if isinstance(size, dict) and "height" in size and "width" in size:
        return int(size["height"]), int(size["width"])
    raise HarnessError(f"{folder}: preprocessor_config.json: crop or resize size {size!r} is "
                       "not understood (height/width, or one number)")


def _resize_target(cfg: dict, side: int, folder) -> tuple[int, int]:
    """The size a ``side`` x ``side`` face is resized to: the processor's rule for a square."""
    size = cfg["size"]
    if isinstance(size, dict) and "shortest_edge" in size:
        short = int(size["shortest_edge"])
        crop_pct = cfg.get("crop_pct")
        if crop_pct is not None and "height" not in size:  # ConvNeXt: short / crop_pct, crop
            if short < 384:
                resized = int(short / crop_pct)
                return resized, resized
            return short, short
        longest = size.get("longest_edge")
        out = short
        if longest is not None and out > longest:
            out = int(longest)
        return out, out
    return _hw(size, folder)


def _output_size(target: tuple[int, int], shape) -> tuple[int, int]:
    """Square faces go to ``target``; a non-square one keeps its aspect on the short edge."""
    h, w = int(shape[0]), int(shape[1])
    if h == w or target[0] != target[1]:
        return target
    short, long_ = (h, w) if h < w else (w, h)
    new_long = int(target[0] * long_ / short)
    return (target[0], new_long) if h < w else (new_long, target[0])


def _resize(x: torch.Tensor, size: tuple[int, int], code: int) -> torch.Tensor:
    """The processor's resize: PIL's filters exactly (``resample``), nearest as torch's."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if code == 0:
        return F.interpolate(x, size=size, mode="nearest-exact")
    return pil_resize(x, size, code)


def _centre_crop(x: torch.Tensor, crop: tuple[int, int]) -> torch.Tensor:
    h, w = x.shape[-2:]
    ch, cw = crop
    if ch > h or cw > w:  # the processor pads with zeros, then crops
        ph, pw = max(ch - h, 0), max(cw - w, 0)
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        h, w = x.shape[-2:]
    top, left = (h - ch) // 2, (w - cw) // 2
    return x[..., top:top + ch, left:left + cw]


class HfImageBackbone:
    """A ``transformers`` vision model as a frozen backbone: ``(B, 3, S, S)`` RGB in [0, 1] ->
    ``(B, D)`` float32; ``input_size`` (S, the face side) and ``feature_dim`` (D, from a probe
    run that also checks the pooling and layers) are known after construction."""

    def __init__(self, spec: str, cfg: HfImageConfig | None = None,
                 device: torch.device | None = None):
        self.spec = spec
        self.cfg = cfg or HfImageConfig()
        self.choice = self.cfg.check(spec)
        loaded: LoadedModel = load_model(spec, "vision")
        self.folder, self.digest = loaded.folder, loaded.digest
        self.config = loaded.config
        self.device = device or torch.device("cpu")
        self.model = loaded.model.to(self.device)
        self.preprocess = read_preprocess(self.folder, self.cfg.face_size)
        self.model_type = str(getattr(self.config, "model_type", ""))
        self.prefix = CLS_TOKENS.get(self.model_type)
        if self.prefix is not None:
            self.prefix += int(getattr(self.config, "num_register_tokens", 0) or 0)
        self.input_size = self.cfg.face_size
        self._pooler_ok = not any(k.startswith("pooler.") or ".pooler." in k
                                  for k in loaded.missing)
        self.pool = self.cfg.pool
        self.feature_dim = int(self._probe())

    def identity(self) -> dict:
        """What its features depend on: the folder's content, preprocessing, pooling, layers."""
        return {"hf": self.digest, "model_type": self.model_type,
                "preprocess": self.preprocess.as_dict(), "pool": self.pool,
                "layers": self.choice.text, "face_size": self.input_size, "version": 1}

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Features of faces (RGB in [0, 1], the harness's encoder input) as float32."""
        u8 = (images.float() * 255.0).round_().clamp_(0, 255).to(torch.uint8)
        return self.features(u8.permute(0, 2, 3, 1))

    @torch.inference_mode()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Features of ``(B, H, W, 3)`` uint8 RGB faces: preprocessing, model, pooling."""
        images = images.to(self.device)
        with torch.autocast(self.device.type, enabled=False):  # exact pixels, in float32
            pixels = self.preprocess(images)
        return self.forward(pixels)

    @torch.inference_mode()
    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The pooled feature of preprocessed ``pixel_values``, float32."""
        with autocast(self.device):
            out = self.model(pixel_values=pixel_values.to(self.device),
                             output_hidden_states=self.choice.needs_hidden_states,
                             return_dict=True)
        return self.pool_output(out).float().reshape(len(pixel_values), -1)

    def pool_output(self, out) -> torch.Tensor:
        if self.pool == "pooler":
            pooled = getattr(out, "pooler_output", None)
            if pooled is None or not self._pooler_ok or self.choice.kind != "last":
                raise HarnessError(self._no_pooler())
            return pooled
        h = select(self.choice, out.last_hidden_state, getattr(out, "hidden_states", None),
                   self.folder)
        if h.dim() == 4:  # a convolutional map (B, C, H, W)
            if self.pool == "cls":
                raise HarnessError(f"{self.folder}: --hf-pool cls: a convolutional model has "
                                   "no class token; use mean (or pooler)")
            return h.float().mean((2, 3))
        if self.pool == "cls":
            if self.prefix is None:
                raise HarnessError(f"{self.folder}: --hf-pool cls: a {self.model_type} model "
                                   "has no class token; use mean (or pooler)")
            return h[:, 0]
        return h[:, self.prefix or 0:].float().mean(1)

    def _no_pooler(self) -> str:
        if self.choice.kind != "last":
            return (f"{self.folder}: --hf-pool pooler: the pooled output comes from the last "
                    f"layer only, not --hf-layers {self.choice.text}; use cls or mean")
        if not self._pooler_ok:
            return (f"{self.folder}: --hf-pool pooler: the weights hold no pooler (it would be "
                    "random); use cls or mean")
        return f"{self.folder}: --hf-pool pooler: the model has no pooled output; use cls or mean"

    def _probe(self) -> int:
        """Resolve the default pooling and the feature size on a grey batch of two faces."""
        grey = torch.full((2, self.input_size, self.input_size, 3), 128, dtype=torch.uint8)
        if self.pool is None:
            with torch.inference_mode(), autocast(self.device):
                out = self.model(pixel_values=self.preprocess(grey.to(self.device)),
                                 return_dict=True)
            has_pooler = getattr(out, "pooler_output", None) is not None and self._pooler_ok
            last_dim = out.last_hidden_state.dim()
            if has_pooler and self.choice.kind == "last":
                self.pool = "pooler"
            else:
                self.pool = "cls" if self.prefix is not None and last_dim == 3 else "mean"
        feat = self.features(grey)
        if not torch.isfinite(feat).all():
            raise HarnessError(f"{self.folder}: the model's features hold NaN or inf")
        return feat.shape[1]

