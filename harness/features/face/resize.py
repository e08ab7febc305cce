"""Resizing face crops on the device, giving exactly the pixels OpenCV's ``cv2.resize`` gives.

The face data path decodes jpgs to uint8 in worker processes at their stored size (112x112 in
the release) and resizes whole batches on the device, where it is nearly free on a GPU. Until
then the loader resized each image with OpenCV on one CPU core: ``INTER_AREA`` when shrinking
(112 -> 64 for the ``light`` backbone) and ``INTER_LINEAR`` when enlarging (112 -> 256 for
EmoNet), on uint8, rounded back to uint8. Models, caches and published numbers were made with
those pixels, so this module reproduces them bit for bit (tested against OpenCV):

- shrinking (``INTER_AREA``): each output pixel is the area-weighted mean of the input pixels
  it covers, a separable linear map computed here in float64 and rounded to the nearest
  integer (half to even; OpenCV's 2x fast path rounds half up). Exact whenever the ratio
  leaves no exact rounding ties (112 -> 64, 112 -> 56, 100 -> 64, ...); at an exact tie of
  another ratio (112 -> 100, say) OpenCV's float32 error decides and a pixel may differ by one
  grey level;
- enlarging (``INTER_LINEAR`` on uint8): OpenCV's fixed-point arithmetic, 11-bit weights, a
  horizontal pass in integers, then its vertical pass ``((b0 * (h0 >> 4)) >> 16) + ((b1 *
  (h1 >> 4)) >> 16) + 2 >> 2``; columns are clamped at the borders, rows keep their weights and
  repeat the edge row (as OpenCV does).

Everything is integer or float64 arithmetic, so the result does not depend on the device.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

_COEF_SCALE = 2048  # OpenCV's INTER_RESIZE_COEF_SCALE (11 fractional bits)


def resize_like_cv2(images: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, C, H, W)`` uint8 to ``(B, C, size, size)`` uint8, as ``cv2.resize`` would.

    ``INTER_AREA`` when the image is taller than ``size``, else ``INTER_LINEAR`` (the rule the
    loader always used); the input is returned as is when it already has the size.
    """
    h, w = images.shape[-2:]
    if h == size and w == size:
        return images
    if h > size:
        return _area(images, size)
    return _linear(images, size)


def _area(images: torch.Tensor, size: int) -> torch.Tensor:
    h, w = images.shape[-2:]
    rows = _area_matrix(h, size).to(images.device)
    cols = _area_matrix(w, size).to(images.device)
    out = rows @ images.to(torch.float64) @ cols.T
    if h == 2 * size and w == 2 * size:  # OpenCV's 2x fast path rounds half up
        out = torch.floor(out + 0.5)
    else:
        out = torch.round(out)
    return out.clamp_(0, 255).to(torch.uint8)


@functools.lru_cache(maxsize=16)
def _area_matrix(src: int, dst: int) -> torch.Tensor:
    """(dst, src) weights: the share of output pixel d's footprint that input pixel s covers."""
    scale = src / dst
    lo = np.arange(dst)[:, None] * scale
    hi = lo + scale
    s = np.arange(src)[None, :]
    overlap = np.clip(np.minimum(hi, s + 1) - np.maximum(lo, s), 0, None)
    return torch.from_numpy(overlap / scale)


def _linear(images: torch.Tensor, size: int) -> torch.Tensor:
    h, w = images.shape[-2:]
    x0, x1, a0, a1 = (t.to(images.device) for t in _linear_taps(w, size, True))
    y0, y1, b0, b1 = (t.to(images.device) for t in _linear_taps(h, size, False))
    src = images.to(torch.int32)
    horiz = src[..., x0] * a0 + src[..., x1] * a1  # (B, C, H, size), exact integers
    top, bottom = horiz[..., y0, :] >> 4, horiz[..., y1, :] >> 4
    out = (((b0[:, None] * top) >> 16) + ((b1[:, None] * bottom) >> 16) + 2) >> 2
    return out.clamp_(0, 255).to(torch.uint8)


@functools.lru_cache(maxsize=16)
def _linear_taps(src: int, dst: int, clamp_weights: bool
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source indices and 11-bit weights of OpenCV's bilinear taps along one axis.

    Positions are computed in float32 as OpenCV does. Along x a position before the first or
    after the last pixel takes that pixel with weight 1 (``clamp_weights``); along y it keeps its
    weights and both taps read the edge row.
    """
    scale = 1.0 / (dst / src)
    pos = ((np.arange(dst) + 0.5) * scale - 0.5).astype(np.float32)
    first = np.floor(pos).astype(np.int64)
    frac = (pos - first.astype(np.float32)).astype(np.float32)
    if clamp_weights:
        before, after = first < 0, first >= src - 1
        frac[before | after] = 0
        first[before] = 0
        first[after] = src - 1
    w0 = np.rint((np.float32(1) - frac) * np.float32(_COEF_SCALE)).astype(np.int32)
    w1 = np.rint(frac * np.float32(_COEF_SCALE)).astype(np.int32)
    i0 = np.clip(first, 0, src - 1)
    i1 = np.clip(first + 1, 0, src - 1)
    return (torch.from_numpy(i0), torch.from_numpy(i1), torch.from_numpy(w0),
            torch.from_numpy(w1))
