"""The face data path: ``cropped_aligned`` jpgs to batches of tensors, decoded on demand.

The real release has 2.6 M face images, so they are never all in memory: a ``DataLoader``
decodes each batch as it is needed. A corrupt or zero-byte jpg yields a black image with
``ok=False``; training masks it out and extraction treats it as a frame without a face.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


class FaceImages(Dataset):
    """``(image (3, S, S) float in [0, 1] RGB, ok)`` per path; ``S`` is the backbone's size."""

    def __init__(self, paths: list[Path], size: int):
        self.paths = paths
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, bool]:
        img = cv2.imread(str(self.paths[i]), cv2.IMREAD_COLOR)
        if img is None:
            return torch.zeros(3, self.size, self.size), False
        if img.shape[0] != self.size or img.shape[1] != self.size:
            interp = cv2.INTER_AREA if img.shape[0] > self.size else cv2.INTER_LINEAR
            img = cv2.resize(img, (self.size, self.size), interpolation=interp)
        rgb = np.ascontiguousarray(img[:, :, ::-1])
        return torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255.0), True


class LabelledFaceImages(Dataset):
    """``FaceImages`` with the frame's label: ``(image, ok, label)``."""

    def __init__(self, images: FaceImages, labels: np.ndarray):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, bool, int]:
        img, ok = self.images[i]
        return img, ok, int(self.labels[i])


def face_loader(paths: list[Path], size: int, batch_size: int, num_workers: int = 0,
                labels: np.ndarray | None = None) -> DataLoader:
    """Batches in the order of ``paths`` (the caller shuffles): ``(images, ok[, labels])``."""
    ds: Dataset = FaceImages(paths, size)
    if labels is not None:
        ds = LabelledFaceImages(ds, labels)
    return DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers)
