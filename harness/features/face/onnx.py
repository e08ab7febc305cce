"""A frozen face backbone read from an ONNX file and run with ONNX Runtime (``onnx:PATH``).

Strong ABAW entries extract features with large pretrained networks (HSEmotion's EfficientNet,
timm and torchvision models) that export to ONNX; running the export here needs no model code,
no weights format and no fine-tuning. The harness's face data path hands the model what every
backbone gets, ``(B, 3, S, S)`` RGB in [0, 1] at the model's side ``S``; this module then puts
the channels in the model's order and normalises them (``(pixel / 255 - mean) / std``) before
the session runs. The model's first output, flattened, is the feature.

ONNX Runtime is an optional dependency (``pip install 'abaw-harness[onnx]'``), imported only
when an ONNX backbone is asked for. Every problem with a file (not ONNX, an input that is not
an image batch, a side other than the one asked for, NaN or inf out) is a ``HarnessError``
naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from harness.errors import HarnessError
from harness.features.face.config import OnnxBackboneConfig
from harness.features.face.schemes import BackboneScheme, register_scheme
from harness.paths import file_digest

PREFIX = "onnx:"
#: The side used when the model's input side is dynamic (HSEmotion's EfficientNet-B0).
DEFAULT_SIZE = 224
INSTALL_HINT = "pip install 'abaw-harness[onnx]' (or: pip install onnxruntime)"


def is_onnx(backbone: str) -> bool:
    """Whether a ``--backbone`` value names an ONNX file (``onnx:PATH``)."""
    return backbone.startswith(PREFIX)


def onnx_path(backbone: str) -> Path:
    """The file of ``onnx:PATH``; an error if it is missing."""
    path = Path(backbone[len(PREFIX):]).expanduser()
    if not path.is_file():
        raise HarnessError(f"ONNX model file not found: {path} (from --backbone {backbone})")
    return path


def import_onnxruntime():
    """``onnxruntime``, or an error saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise HarnessError(f"--backbone onnx:... needs ONNX Runtime, which is not installed: "
                           f"{INSTALL_HINT}") from None
    return onnxruntime


class OnnxBackbone:
    """An ONNX image model as a frozen backbone: ``(B, 3, S, S)`` RGB in [0, 1] -> ``(B, D)``.

    ``input_size`` (S) and ``feature_dim`` (D, from a probe run) are known after construction,
    like a registered backbone's; calling it runs the session in batches the model accepts.
    """

    def __init__(self, path: str | Path, cfg: OnnxBackboneConfig | None = None,
                 device: torch.device | None = None, threads: int | None = None):
        self.path = Path(path)
        self.cfg = cfg or OnnxBackboneConfig()
        self.cfg.check()
        self.session = _session(self.path, device or torch.device("cpu"), threads)
        self.input_name, self.batch, self.input_size = self._input()
        self.output_name = self.session.get_outputs()[0].name
        self.feature_dim = int(self._probe())
        self.digest = file_digest(self.path)
        self._mean = torch.tensor(self.cfg.mean, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(self.cfg.std, dtype=torch.float32).view(1, 3, 1, 1)

    def identity(self) -> dict:
        """What its features depend on: the file's content and the preprocessing."""
        return {"onnx": self.digest, "size": self.input_size, "channels": self.cfg.channels,
                "mean": list(self.cfg.mean), "std": list(self.cfg.std),
                "output": self.output_name}

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Features of ``images`` (RGB in [0, 1], on any device) as a float32 CPU tensor."""
        x = images.float().cpu()
        if self.cfg.channels == "bgr":
            x = x.flip(1)
        x = ((x - self._mean) / self._std).numpy()
        step = self.batch or max(len(x), 1)
        parts = [self._run(x[i:i + step]) for i in range(0, len(x), step)]
        return torch.from_numpy(np.concatenate(parts) if parts else
                                np.zeros((0, self.feature_dim), np.float32))

    def _run(self, x: np.ndarray) -> np.ndarray:
        try:
            out = self.session.run([self.output_name], {self.input_name: x})[0]
        except Exception as exc:  # onnxruntime raises its own exception types
            raise HarnessError(f"{self.path}: ONNX Runtime failed on a batch of shape "
                               f"{x.shape}: {exc}") from None
        out = np.asarray(out, dtype=np.float32).reshape(len(x), -1)
        if not np.isfinite(out).all():
            raise HarnessError(f"{self.path}: the model's output holds NaN or inf "
                               f"(input {x.shape}); check the file and --onnx-mean/--onnx-std")
        return out

    def _input(self) -> tuple[str, int | None, int]:
        """Input name, static batch size (None: any), and the side the model gets."""
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise HarnessError(f"{self.path}: the model takes {len(inputs)} inputs; a face "
                               "backbone takes one image batch (B, 3, H, W)")
        spec = inputs[0]
        shape = list(spec.shape)
        if len(shape) != 4:
            raise HarnessError(f"{self.path}: input {spec.name!r} has shape {shape} (rank "
                               f"{len(shape)}); a face backbone takes (B, 3, H, W)")
        if spec.type != "tensor(float)":
            raise HarnessError(f"{self.path}: input {spec.name!r} is {spec.type}; a float32 "
                               "image batch is needed")
        if isinstance(shape[1], int) and shape[1] != 3:
            raise HarnessError(f"{self.path}: input {spec.name!r} has {shape[1]} channels, "
                               "not 3 (shape (B, 3, H, W) is needed)")
        batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        return spec.name, batch, self._side(shape[2], shape[3])

    def _side(self, h: object, w: object) -> int:
        static = isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0
        if static and h != w:
            raise HarnessError(f"{self.path}: input side {h}x{w} is not square; the face data "
                               "path makes square crops")
        if static and self.cfg.size is not None and self.cfg.size != h:
            raise HarnessError(f"{self.path}: the model takes {h}x{w} images; --onnx-size "
                               f"{self.cfg.size} disagrees")
        if static:
            return int(h)
        return self.cfg.size or DEFAULT_SIZE

    def _probe(self) -> int:
        """Feature size from one run on a grey batch (also catches NaN at once)."""
        n = self.batch or 2
        x = np.full((n, 3, self.input_size, self.input_size), 0.5, np.float32)
        return self._run(x).shape[1]


def _session(path: Path, device: torch.device, threads: int | None):
    ort = import_onnxruntime()
    if not path.is_file():
        raise HarnessError(f"ONNX model file not found: {path}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.log_severity_level = 3  # errors only: warnings are ours to give
    try:
        return ort.InferenceSession(str(path), sess_options=opts,
                                    providers=providers(device, ort))
    except Exception as exc:  # InvalidProtobuf, Fail, NotImplemented...: all mean a bad file
        raise HarnessError(f"{path}: not a usable ONNX model ({exc})") from None


def providers(device: torch.device, ort=None) -> list[str]:
    """CUDA first when the run is on CUDA and ONNX Runtime offers it; the CPU always."""
    ort = ort or import_onnxruntime()
    if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _locate(rest: str) -> Path:
    return onnx_path(PREFIX + rest)


register_scheme(BackboneScheme(
    prefix=PREFIX.rstrip(":"),
    locate=_locate,
    # its content, not its path: the same file anywhere keeps a run's hash
    digest=lambda path: "onnx-sha256:" + file_digest(path),
    load=lambda path, cfg, device: OnnxBackbone(path, cfg.onnx, device),
    check=lambda cfg: cfg.onnx.check(),
    require=import_onnxruntime,
), owner=__name__)
