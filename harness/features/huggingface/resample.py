"""PIL's resampling, bit for bit, as two matrix products on the device.

Image processors of ``transformers`` resize 8-bit images with PIL: a separable convolution,
horizontal pass first, with coefficients normalised per output pixel, quantised to 22-bit fixed
point and each pass rounded and clipped to 8 bits (Pillow's ``Resample.c``). The same
coefficients are built here as a matrix per axis and applied in float64, where the fixed-point
sums are exact integers, so the result equals PIL's on any image (a float kernel such as
``torch.nn.functional.interpolate`` is off by one grey level on a few pixels, more than 1e-2
after normalising by a std of 0.25).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

PRECISION_BITS = 32 - 8 - 2


def _bilinear(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _bicubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _box(x: np.ndarray) -> np.ndarray:
    return np.where((x >= -0.5) & (x < 0.5), 1.0, 0.0)


def _hamming(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    safe = np.where(x == 0.0, 1.0, x)
    out = np.sin(safe * math.pi) / (safe * math.pi) * (0.54 + 0.46 * np.cos(safe * math.pi))
    return np.where(x == 0.0, 1.0, np.where(x >= 1.0, 0.0, out))


def _sinc(x: np.ndarray) -> np.ndarray:
    safe = np.where(x == 0.0, 1.0, x * math.pi)
    return np.where(x == 0.0, 1.0, np.sin(safe) / safe)


def _lanczos(x: np.ndarray) -> np.ndarray:
    return np.where((x > -3.0) & (x < 3.0), _sinc(x) * _sinc(x / 3.0), 0.0)


#: PIL's filter codes (preprocessor_config.json's ``resample``) -> (kernel, support).
FILTERS = {1: (_lanczos, 3.0), 2: (_bilinear, 1.0), 3: (_bicubic, 2.0), 4: (_box, 0.5),
           5: (_hamming, 1.0)}


@lru_cache(maxsize=64)
def coefficients(in_size: int, out_size: int, code: int) -> np.ndarray:
    """(out_size, in_size) fixed-point coefficients of one axis, as Pillow computes them."""
    kernel, support = FILTERS[code]
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support *= filterscale
    out = np.zeros((out_size, in_size), np.float64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        taps = np.arange(xmin, xmax)
        w = kernel((taps - center + 0.5) / filterscale)
        total = w.sum()
        if total != 0.0:
            w = w / total
        fixed = np.where(w < 0, np.trunc(-0.5 + w * (1 << PRECISION_BITS)),
                         np.trunc(0.5 + w * (1 << PRECISION_BITS)))
        out[xx, xmin:xmax] = fixed
    return out


def _pass(x: torch.Tensor, matrix: np.ndarray) -> torch.Tensor:
    """One axis (the last) through ``matrix``, rounded and clipped to 8 bits as PIL does."""
    m = torch.from_numpy(matrix).to(x.device)
    acc = x @ m.T + float(1 << (PRECISION_BITS - 1))
    return torch.floor(acc / float(1 << PRECISION_BITS)).clamp_(0, 255)


def pil_resize(x: torch.Tensor, size: tuple[int, int], code: int) -> torch.Tensor:
    """``(B, C, H, W)`` 8-bit values (any float dtype) -> ``(B, C, h, w)`` float32, as PIL."""
    h, w = size
    y = x.to(torch.float64)
    if y.shape[-1] != w:
        y = _pass(y, coefficients(y.shape[-1], w, code))
    if y.shape[-2] != h:
        y = _pass(y.transpose(-1, -2), coefficients(y.shape[-2], h, code)).transpose(-1, -2)
    return y.float()
