"""Temporal filters over per-frame outputs, one video at a time, with a window in seconds.

What the strong ABAW teams did after the network, as registered methods (``FILTERS``):

- ``mean``: box mean of class probabilities (HSE, ABAW6: +-50 frames lifted validation macro F1
  from 0.384 to 0.424);
- ``median``: median of logits per class (ORA10, ABAW10: 101 frames, over observed frames only);
- ``gaussian``: Gaussian-weighted mean of probabilities (sigma = a third of the half-width);
- ``hamming``: Hamming-weighted mean of probabilities (SUN, ABAW6: a window of fps/2);
- ``mode``: the most frequent predicted label (CtyunAI, ABAW6: 40 labels).

Frame rates differ per video (7.5 to 60 fps in Aff-Wild2), so a window is given in seconds
and converted with each video's own fps: the half-width is ``window * fps / 2`` frames (rounded,
halves up)
and the window holds ``2 * half + 1`` frames centred on the frame. At the edges the window
shrinks to the frames inside the video (never wrapped, never padded with copies). With
``use`` (``--exclude-imputed``) only the frames whose face was observed enter the window; a
frame whose window holds no observed frame falls back to all frames of its window.

Every filter returns scores whose argmax is the new label and that can be post-processed
again: log-probabilities for the averaging filters, logits for ``median``, log vote
fractions for ``mode``.

Other tasks' outputs (``harness.postprocess.spaces``): the averaging filters average VA's values
themselves and each AU's probability (back to a logit); ``median`` takes the median of VA
values and AU logits as they are; ``mode`` needs one label per frame and is refused for both,
saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import correlate1d

from harness.errors import HarnessError
from harness.postprocess.spaces import OutputSpace
from harness.records import FrameOutputs
from harness.registry import Registry

#: (scores (n, 8), half-width in frames, use (n,) bool) -> filtered scores (n, 8)
FilterFn = Callable[[np.ndarray, int, np.ndarray], np.ndarray]
_EPS = 1e-6  # floor under probabilities and vote fractions before the log
_MEDIAN_CHUNK = 1 << 22  # gathered window values per median chunk (bounds memory)


@dataclass(frozen=True)
class TemporalFilter:
    """A registered post-processing method: ``fn`` filters one video's scores."""

    name: str
    fn: FilterFn
    averages: str  # what the window combines: probabilities, logits or labels
    description: str
    #: The weights over a window of half-width h, for a weighted mean (None: not one). A
    #: weighted mean applies to any task's outputs, averaged where its space says.
    kernel: Callable[[int], np.ndarray] | None = None


FILTERS: Registry[TemporalFilter] = Registry("post-processing method")


def register_filter(name: str, *, averages: str, description: str,
                    kernel: Callable[[int], np.ndarray] | None = None
                    ) -> Callable[[FilterFn], FilterFn]:
    """Decorator: register ``fn`` as the temporal filter ``name`` (``kernel``: its weights,
    when it is a weighted mean of probabilities)."""
    def deco(fn: FilterFn) -> FilterFn:
        FILTERS.add(name, TemporalFilter(name, fn, averages, description, kernel),
                    owner=fn.__module__)
        return fn
    return deco


def check_filter(method: str, space: OutputSpace | None) -> TemporalFilter:
    """The filter ``method``, refused (with the reason) where it does not apply to ``space``'s
    outputs (None: EXPR's class logits, where every filter applies)."""
    spec = FILTERS.get(method)
    if space is None or space.has_labels:
        return spec
    if spec.averages == "labels":
        raise HarnessError(f"the {method} filter takes the most frequent label in a window; it "
                           f"does not apply to {space.task.upper()} {space.what}: "
                           f"{space.no_labels}. Use mean, median, gaussian or hamming")
    if spec.averages == "probabilities" and spec.kernel is None:
        raise HarnessError(f"the {method} filter averages class probabilities in its own way; "
                           f"it does not apply to {space.task.upper()} {space.what}")
    return spec


def half_width(window_s: float, fps: float) -> int:
    """Frames on each side of the centre for a window of ``window_s`` seconds at ``fps``.

    >>> half_width(1.0, 30.0), half_width(1.0, 7.5), half_width(0.0, 60.0)
    (15, 4, 0)
    """
    if window_s < 0 or not np.isfinite(window_s):
        raise HarnessError(f"a window must be a non-negative number of seconds, got {window_s}")
    if fps <= 0:
        raise HarnessError(f"fps must be positive, got {fps}")
    return int(np.floor(window_s * fps / 2 + 0.5))  # halves round up, not to even


def filter_video(method: str, scores: np.ndarray, window_s: float, fps: float,
                 use: np.ndarray | None = None, space: OutputSpace | None = None
                 ) -> np.ndarray:
    """Filter one video's (n, k) outputs; ``use`` marks the frames allowed into a window;
    ``space`` says what they are (None: EXPR's class logits).

    >>> x = np.log(np.eye(8)[[0, 0, 3, 0, 0]] + 0.01)
    >>> filter_video("median", x, window_s=0.2, fps=25).argmax(1).tolist()
    [0, 0, 0, 0, 0]
    """
    spec = check_filter(method, space)
    scores = np.asarray(scores, dtype=np.float32)
    use = np.ones(scores.shape[0], bool) if use is None else np.asarray(use, bool)
    if use.shape != scores.shape[:1]:
        raise HarnessError(f"use has {use.size} flags for {scores.shape[0]} frames")
    h = half_width(window_s, fps)
    if h == 0 or scores.shape[0] == 0:
        return scores.copy()
    if space is not None and not space.has_labels and spec.kernel is not None:
        averaged = weighted_mean(space.to_average(scores), spec.kernel(h), use)
        return space.from_average(averaged).astype(np.float32)
    return spec.fn(scores, h, use).astype(np.float32)


def smooth_outputs(outputs: FrameOutputs, method: str, window_s: float,
                   fps: Mapping[str, float], exclude_imputed: bool = False,
                   space: OutputSpace | None = None) -> FrameOutputs:
    """The same filter applied to every video of ``outputs``, each with its own fps."""
    out = np.empty_like(outputs.logits)
    for i, name in enumerate(outputs.names):
        a, b = outputs.offsets[i], outputs.offsets[i + 1]
        use = ~outputs.imputed[a:b] if exclude_imputed else None
        out[a:b] = filter_video(method, outputs.logits[a:b], window_s, fps[name], use, space)
    return FrameOutputs(outputs.names, outputs.offsets, out, outputs.imputed)


# --------------------------------------------------------------------------- building blocks

def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z.astype(np.float64))
    return e / e.sum(axis=1, keepdims=True)


def weighted_mean(values: np.ndarray, kernel: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Normalised convolution: the kernel-weighted mean over the used frames in each window.

    Zero padding outside the video plus division by the summed weights of the frames actually
    present makes the window shrink at the edges instead of wrapping or repeating the edge.
    """
    def mean_over(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = mask.astype(np.float64)
        num = correlate1d(values * w[:, None], kernel, axis=0, mode="constant", cval=0.0)
        den = correlate1d(w, kernel, mode="constant", cval=0.0)
        return num, den

    num, den = mean_over(use)
    empty = den <= 1e-12
    if empty.any():  # no observed frame in the window: fall back to every frame in it
        num_all, den_all = mean_over(np.ones_like(use))
        num[empty], den[empty] = num_all[empty], den_all[empty]
    return num / den[:, None]


def _box(h: int) -> np.ndarray:
    return np.ones(2 * h + 1)


def _gaussian(h: int) -> np.ndarray:
    x = np.arange(-h, h + 1, dtype=np.float64)
    return np.exp(-0.5 * (x / (h / 3.0)) ** 2)


def _hamming(h: int) -> np.ndarray:
    return np.hamming(2 * h + 1)  # end taps 0.08: every frame in the window counts a little


def _log_mean_probs(kernel: Callable[[int], np.ndarray]) -> FilterFn:
    def fn(scores: np.ndarray, h: int, use: np.ndarray) -> np.ndarray:
        return np.log(weighted_mean(softmax(scores), kernel(h), use) + _EPS)
    return fn


register_filter("mean", averages="probabilities", kernel=_box,
                description="box mean of class probabilities (HSE, ABAW6)")(_log_mean_probs(_box))
register_filter("gaussian", averages="probabilities", kernel=_gaussian,
                description="Gaussian-weighted mean of probabilities, sigma = half-width / 3"
                )(_log_mean_probs(_gaussian))
register_filter("hamming", averages="probabilities", kernel=_hamming,
                description="Hamming-weighted mean of probabilities (SUN, ABAW6)"
                )(_log_mean_probs(_hamming))


@register_filter("median", averages="logits",
                 description="per-class median of logits (ORA10, ABAW10)")
def median_filter(scores: np.ndarray, h: int, use: np.ndarray) -> np.ndarray:
    """Per-class median over the used frames of each window, in chunks of frames.

    Frames left out of a window (outside the video, or not used) sort last as +inf; with k
    frames left in, the median is the mean of sorted entries (k-1)//2 and k//2, one vectorised
    sort per chunk (``nanmedian`` is many times slower).
    """
    n, k = scores.shape
    offs = np.arange(-h, h + 1)
    out = np.empty(scores.shape, np.float64)
    chunk = max(1, _MEDIAN_CHUNK // (offs.size * k))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        idx = np.arange(start, stop)[:, None] + offs
        inside = (idx >= 0) & (idx < n)
        idx = np.clip(idx, 0, n - 1)
        ok = inside & use[idx]
        empty = ~ok.any(axis=1)
        ok[empty] = inside[empty]
        win = np.sort(np.where(ok[..., None], scores[idx], np.inf), axis=1)
        count = ok.sum(axis=1)
        lo = np.take_along_axis(win, ((count - 1) // 2)[:, None, None], axis=1)[:, 0]
        hi = np.take_along_axis(win, (count // 2)[:, None, None], axis=1)[:, 0]
        out[start:stop] = (lo.astype(np.float64) + hi) / 2
    return out


@register_filter("mode", averages="labels",
                 description="most frequent predicted label in the window (CtyunAI, ABAW6)")
def mode_filter(scores: np.ndarray, h: int, use: np.ndarray) -> np.ndarray:
    """Vote fractions of the argmax labels; ties go to the class the frame itself rates higher."""
    votes = np.eye(scores.shape[1])[scores.argmax(axis=1)]
    frac = weighted_mean(votes, _box(h), use)
    return np.log(frac + _EPS * softmax(scores) + _EPS)
