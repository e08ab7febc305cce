"""One decision threshold per AU, chosen to maximise that AU's F1 (``--tune-thresholds``).

P_AU is the plain mean of twelve binary F1s, and each AU's F1 depends on its own threshold
only, so the twelve are chosen one by one and their best is the best mean. A model trained with
BCE puts its 0.5 where the loss is lowest, not where F1 is: rare AUs (AU15, AU23, AU24 near
3 % of frames) usually want a threshold away from it. HSE (ABAW5) searched 0.1..0.9 per AU on
validation and gained about 3 points of P_AU; CPRL searched 0.05..0.95 (``aff-wild2-tasks.md``
§6). Here every threshold of a fine grid is scored at once per AU: the logits are sorted, and
the predicted positives and true positives at each threshold are prefix counts.

A threshold is applied by shifting the AU's logit by ``-logit(threshold)``: the shifted outputs
give the tuned decisions at the default 0.5 (``logit >= 0``), so a derived run stores them as
logits like any other and everything downstream (submission, ensemble, further smoothing) reads
them unchanged. Tuned on the frames it is scored on, so callers must say so (``[val-tuned]``)
or tune out of fold, as for the class offsets of EXPR (``harness.postprocess.bias``).
"""

from __future__ import annotations

import numpy as np

from harness.errors import HarnessError

#: Thresholds tried per AU (probabilities): 0.02 .. 0.98 by 0.01, 0.5 included.
THRESHOLD_GRID = np.round(np.arange(0.02, 0.9801, 0.01), 2)
#: Decisions are ``sigmoid(logit) >= threshold``; 0.5 is the untuned default.
DEFAULT_THRESHOLD = 0.5


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.asarray(p, np.float64)
    return np.log(p) - np.log1p(-p)


def threshold_f1(logits: np.ndarray, truth: np.ndarray, grid: np.ndarray = THRESHOLD_GRID
                 ) -> np.ndarray:
    """F1 of every AU at every threshold of ``grid``: (len(grid), n_aus).

    ``logits`` (n, k) are the model's outputs before the sigmoid, ``truth`` (n, k) 0/1 with
    -1 marking invalid frames (a frame with any -1 is left out, as the metric does). F1 is
    2·tp / (2·tp + fp + fn), 0 where an AU has no positive at all (as ``harness.metrics.au``).
    """
    logits, truth = np.asarray(logits, np.float64), np.asarray(truth)
    if logits.ndim != 2 or logits.shape != truth.shape:
        raise HarnessError(f"threshold tuning needs logits and truth of one shape (n, AUs), got "
                           f"{logits.shape} and {truth.shape}")
    keep = ~(truth < 0).any(axis=1)
    logits, truth = logits[keep], truth[keep] == 1
    cuts = logit(np.asarray(grid, np.float64))
    n, k = logits.shape
    order = np.argsort(logits, axis=0, kind="stable")
    ranked = np.take_along_axis(logits, order, axis=0)
    hits = np.take_along_axis(truth, order, axis=0)
    # positives with logit >= cut: frames from searchsorted(cut, 'left') to the end
    above = np.cumsum(hits[::-1], axis=0)[::-1]  # above[i]: true frames among ranked[i:]
    above = np.vstack([above, np.zeros((1, k), above.dtype)])
    f1 = np.empty((cuts.size, k))
    positives = truth.sum(axis=0)
    for j in range(k):
        start = np.searchsorted(ranked[:, j], cuts, side="left")
        predicted = n - start
        tp = above[start, j]
        denom = predicted + positives[j]
        with np.errstate(invalid="ignore", divide="ignore"):
            f1[:, j] = np.where(denom > 0, 2.0 * tp / denom, 0.0)
    return f1


def tune_thresholds(logits: np.ndarray, truth: np.ndarray, grid: np.ndarray = THRESHOLD_GRID
                    ) -> np.ndarray:
    """Per AU, the threshold of ``grid`` with the highest F1 on these frames (k,).

    Deterministic; among equal F1s the threshold closest to 0.5 wins, so an AU that cannot gain
    (or has no positive frame) keeps 0.5.

    >>> rng = np.random.default_rng(0)
    >>> truth = (rng.random((4000, 2)) < [0.05, 0.6]).astype(int)
    >>> logits = 2.0 * truth - 3.0 + rng.normal(size=truth.shape)  # a model that under-calls
    >>> t = tune_thresholds(logits, truth)
    >>> bool(t[0] < 0.5 and t[1] < 0.5)
    True
    """
    grid = np.asarray(grid, np.float64)
    if not len(grid) or np.any((grid <= 0) | (grid >= 1)):
        raise HarnessError("thresholds must be probabilities strictly between 0 and 1")
    truth = np.asarray(truth)
    if truth.ndim == 2 and not (~(truth < 0).any(axis=1)).any():
        raise HarnessError("cannot tune thresholds: no frame has valid AU labels")
    f1 = threshold_f1(logits, truth, grid)
    top = f1 >= f1.max(axis=0, keepdims=True) - 1e-12
    distance = np.where(top, np.abs(grid - DEFAULT_THRESHOLD)[:, None], np.inf)
    return grid[distance.argmin(axis=0)]


def apply_thresholds(logits: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Logits shifted so that ``shifted >= 0`` is ``sigmoid(logits) >= thresholds`` (float32)."""
    return (np.asarray(logits, np.float64) - logit(thresholds)).astype(np.float32)
