"""The face data path: ``cropped_aligned`` jpgs to model-ready batches on the device.

The real release has 2.6 M face images; stage 1 reads a fifth of the labelled ones per epoch and
extraction reads all of them, so the data path must keep a GPU fed. DataLoader worker processes
(persistent across epochs, ``default_workers()`` of them) decode the jpgs to uint8, and the rest
happens where it is cheapest:

- on CUDA the workers only decode, at the stored size (112x112 in the release: a quarter of the
  bytes of a float image, ~5x fewer than a 256x256 one, to move between processes); the batch is
  copied from pinned memory without blocking, and ``to_model_input`` resizes it on the GPU
  (``harness.features.face.resize``, which gives OpenCV's pixels bit for bit) and scales it;
- on the CPU the workers also resize, with OpenCV (``loader_size``): the main process then only
  scales the batch, and the workers, not one core, carry the per-image work.

Either way the model sees the pixels the loader always made (``cv2.resize`` on uint8, RGB,
/ 255), so models, caches and published numbers are unchanged, and results do not depend on the
number of workers: decoding is deterministic and batches arrive in order. A corrupt or
zero-byte jpg yields a black image with ``ok=False``; training masks it out and extraction
treats it as a frame without a face.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from harness.data.face_index import FaceIndex
from harness.features.face.resize import resize_like_cv2

#: The release's ``cropped_aligned`` size; used when no image of a loader can be read.
RELEASE_FACE_SIZE = 112
#: Worker processes at most by default: beyond this, decoding outruns any single GPU's model.
MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    """The CPUs this process may use, shared among the ranks of this node, capped.

    Under ``torchrun`` every rank starts its own workers, so each takes its share of the CPUs.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    ranks_here = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(0, min(MAX_DEFAULT_WORKERS, cpus // max(ranks_here, 1)))


@dataclass(frozen=True)
class FaceFiles:
    """Paths of face images as compact arrays (a list of millions of ``Path`` objects would
    take hundreds of MB and be copied into every worker)."""

    folders: tuple[str, ...]
    folder: np.ndarray  # (N,) int32 index into folders
    frame: np.ndarray  # (N,) int32, 1-based

    @classmethod
    def of(cls, faces: FaceIndex, names: Sequence[str], name_idx: np.ndarray,
           frames: np.ndarray) -> FaceFiles:
        """The files of frames ``frames`` of names ``names[name_idx]`` (each must have a face)."""
        index: dict[str, int] = {}
        folder = np.empty(len(frames), np.int32)
        for i, (n, f) in enumerate(zip(np.asarray(name_idx).tolist(),
                                       np.asarray(frames).tolist())):
            folder[i] = index.setdefault(str(faces.path(names[n], f).parent), len(index))
        return cls(tuple(index), folder, np.asarray(frames, dtype=np.int32))

    def __len__(self) -> int:
        return int(self.frame.size)

    def path(self, i: int) -> str:
        return f"{self.folders[self.folder[i]]}/{int(self.frame[i]):05d}.jpg"


def stored_size(files: FaceFiles, tries: int = 8) -> int:
    """The side of the stored images, read from the first decodable one of ``files``."""
    for i in range(min(tries, len(files))):
        img = cv2.imread(files.path(i), cv2.IMREAD_COLOR)
        if img is not None:
            return int(img.shape[0])
    return RELEASE_FACE_SIZE


def loader_size(stored: int, model_size: int, device: torch.device) -> int:
    """The side the workers deliver: the stored one for the GPU to resize, else the model's."""
    return stored if device.type == "cuda" else model_size


class FaceImages(Dataset):
    """``(image (S, S, 3) uint8 BGR, ok[, label])`` per file, ``S`` = ``size``.

    An image whose side is not ``size`` is resized here with OpenCV (area when shrinking,
    bilinear when enlarging: the rule the harness always used). With ``size`` the stored side
    (the CUDA path) that only happens to odd images (the release's crops are all 112x112), which
    the GPU then resizes a second time: the one case whose pixels differ from the CPU path.
    """

    def __init__(self, files: FaceFiles, size: int, labels: np.ndarray | None = None):
        self.files, self.size, self.labels = files, size, labels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple:
        img = cv2.imread(self.files.path(i), cv2.IMREAD_COLOR)
        ok = img is not None
        if not ok:
            img = np.zeros((self.size, self.size, 3), np.uint8)
        elif img.shape[0] != self.size or img.shape[1] != self.size:
            interp = cv2.INTER_AREA if img.shape[0] > self.size else cv2.INTER_LINEAR
            img = cv2.resize(img, (self.size, self.size), interpolation=interp)
        item = (torch.from_numpy(img), ok)
        if self.labels is None:
            return item
        label = self.labels[i]  # a class index (EXPR), or a task's row (VA values, AU 0/1)
        return (*item, int(label) if np.ndim(label) == 0 else torch.from_numpy(label))


class _Plan(Sampler):
    """The batches of the next pass, set before each pass (the loader and its workers stay)."""

    def __init__(self) -> None:
        self.batches: list[np.ndarray] = []

    def __iter__(self) -> Iterator[list[int]]:
        return (b.tolist() for b in self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class FaceLoader:
    """Decoded batches of ``FaceImages`` in any order asked for, from persistent workers.

    ``loader.batches([idx, idx, ...])`` yields ``(images (B, S, S, 3) uint8, ok (B,)[, labels])``
    for each index array in turn, in order, whatever the number of workers.
    """

    def __init__(self, images: FaceImages, workers: int | None = None, pin: bool = False):
        self.images = images
        self.workers = default_workers() if workers is None else workers
        self._plan = _Plan()
        self._loader = DataLoader(
            images, batch_sampler=self._plan, num_workers=self.workers,
            persistent_workers=self.workers > 0, pin_memory=pin,
            prefetch_factor=4 if self.workers > 0 else None,
            worker_init_fn=_quiet_worker if self.workers > 0 else None)

    def batches(self, plan: list[np.ndarray]) -> Iterator[tuple]:
        self._plan.batches = [np.asarray(b) for b in plan if len(b)]
        if not self._plan.batches:
            return iter(())
        return iter(self._loader)


def _quiet_worker(_: int) -> None:
    """One OpenCV thread per worker: the workers are the parallelism."""
    cv2.setNumThreads(1)


def chunks(n: int, size: int) -> list[np.ndarray]:
    """``0..n-1`` in consecutive batches of ``size`` (the last one shorter)."""
    return [np.arange(a, min(a + size, n)) for a in range(0, n, size)]


def to_device(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A loader batch onto ``device``; non-blocking from pinned memory on CUDA."""
    return images.to(device, non_blocking=images.is_pinned())


def to_model_input(images: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, S, S, 3)`` uint8 BGR -> ``(B, 3, size, size)`` float RGB in [0, 1], on its device.

    Resizes when ``S`` is not ``size`` (on the GPU); the pixels are OpenCV's, bit for bit. Each
    channel is converted straight into its plane of the output (one pass over the floats).
    """
    b, h, w, _ = images.shape
    if h != size or w != size:
        chw = resize_like_cv2(images.permute(0, 3, 1, 2), size)
        planes = [chw[:, 2], chw[:, 1], chw[:, 0]]
    else:
        planes = [images[..., 2], images[..., 1], images[..., 0]]
    out = torch.empty((b, 3, size, size), dtype=torch.float32, device=images.device)
    for c, plane in enumerate(planes):
        out[:, c].copy_(plane)
    return out.div_(255.0)
