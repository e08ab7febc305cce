"""Combine the per-frame outputs of several runs: mean logits (default), mean probabilities, or
a vote of labels.

On one split every run predicts the same frames, so the combination is frame by frame. On a fold
set (see ``sources``) validation is the pooled out-of-fold estimate: each name comes from the
runs of the one fold that held it out (combined, when several baselines share the fold), and
test is the combination of all runs. ORA10 (ABAW10) averaged five fold models' logits, SCLAB
voted four fold runs.

Other tasks (``harness.postprocess.spaces``): VA runs' values are averaged (``mean``); AU runs'
probabilities are averaged per AU and stored back as logits (``probs``, the default; ``logits``
averages the logits instead). There is no vote: neither has one label per frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.errors import HarnessError
from harness.postprocess.filters import softmax
from harness.postprocess.source_runs import SourceSet
from harness.postprocess.spaces import OutputSpace
from harness.records import FrameOutputs

#: How runs are combined: ``logits`` mean of logits, ``probs`` log of the mean probabilities,
#: ``vote`` log vote fractions of the argmax labels (ties: the higher mean probability).
COMBINE: tuple[str, ...] = ("logits", "probs", "vote")
_EPS = 1e-6


def combine(outputs: Sequence[FrameOutputs], how: str = "logits",
            space: OutputSpace | None = None) -> FrameOutputs:
    """Frame-by-frame combination of outputs that cover the same names and frames (``space``:
    what the outputs are; None: EXPR's class logits).

    >>> a = FrameOutputs(("v",), np.array([0, 2]), np.eye(8, dtype=np.float32)[[1, 2]],
    ...                  np.array([False, True]))
    >>> b = FrameOutputs(("v",), np.array([0, 2]), np.eye(8, dtype=np.float32)[[1, 1]] * 3,
    ...                  np.array([False, False]))
    >>> combine([a, b]).logits.argmax(1).tolist(), combine([a, b]).imputed.tolist()
    ([1, 1], [False, True])
    """
    if space is not None and not space.has_labels:
        space.check_combination(how)
    elif how not in COMBINE:
        raise HarnessError(f"unknown combination {how!r}; choose one of {', '.join(COMBINE)}")
    if not outputs:
        raise HarnessError("nothing to combine")
    first = outputs[0]
    for other in outputs[1:]:
        if other.names != first.names or not np.array_equal(other.offsets, first.offsets):
            raise HarnessError("the runs do not predict the same videos and frames: "
                               f"{_first_difference(first, other)}")
    if space is not None and not space.has_labels:
        return _mean_in_space(outputs, space, averaged=how != "logits")
    total = np.zeros(first.logits.shape, np.float64)  # running sums: one run in memory
    probs = np.zeros(first.logits.shape, np.float64) if how != "logits" else None
    for o in outputs:
        if how == "vote":
            total[np.arange(o.logits.shape[0]), o.logits.argmax(1)] += 1.0
        else:
            total += o.logits
        if probs is not None:
            probs += softmax(o.logits)
    total /= len(outputs)
    if how == "logits":
        scores = total
    else:
        probs /= len(outputs)
        scores = np.log(probs + _EPS) if how == "probs" else np.log(total + _EPS * probs + _EPS)
    imputed = np.logical_or.reduce([o.imputed for o in outputs])
    return FrameOutputs(first.names, first.offsets, scores.astype(np.float32), imputed)


def _mean_in_space(outputs: Sequence[FrameOutputs], space: OutputSpace, averaged: bool
                   ) -> FrameOutputs:
    """The mean of the outputs where ``space`` averages them (``averaged``), else as they are;
    a frame is imputed where any run imputed it."""
    total = np.zeros(outputs[0].logits.shape, np.float64)  # running sum: one run in memory
    for o in outputs:
        total += space.to_average(o.logits) if averaged else o.logits
    total /= len(outputs)
    scores = space.from_average(total) if averaged else total
    imputed = np.logical_or.reduce([o.imputed for o in outputs])
    return FrameOutputs(outputs[0].names, outputs[0].offsets, scores.astype(np.float32), imputed)


def _first_difference(a: FrameOutputs, b: FrameOutputs) -> str:
    if a.names != b.names:
        diff = sorted(set(a.names) ^ set(b.names))
        return f"{diff[0]!r} is in one and not the other" if diff else "names in another order"
    sizes = np.diff(a.offsets) != np.diff(b.offsets)
    name = a.names[int(np.flatnonzero(sizes)[0])]
    return f"{name!r} has a different number of frames"


def ensemble_outputs(sset: SourceSet, part: str, how: str = "logits",
                     space: OutputSpace | None = None) -> FrameOutputs | None:
    """The combined ``part`` outputs of a source set (None: no run predicted test)."""
    if part == "val" and sset.fold_set:
        per_fold = [combine([s.outputs("val") for s in runs], how, space)
                    for runs in sset.by_fold().values()]
        return FrameOutputs.concat(per_fold, sorted(n for p in per_fold for n in p.names))
    outs = [s.outputs(part) for s in sset.sources]
    if all(o is None for o in outs):
        return None
    if any(o is None for o in outs):
        lacking = next(s for s, o in zip(sset.sources, outs) if o is None)
        raise HarnessError(f"run {lacking.folder.run_id} has no {part} outputs; the others do")
    return combine(outs, how, space)


def raw_outputs(sset: SourceSet, part: str) -> FrameOutputs | None:
    """What one model alone predicted (the first run; per fold on a fold set): the "raw"
    row of a timeline."""
    if part == "val" and sset.fold_set:
        firsts = [runs[0].outputs("val") for runs in sset.by_fold().values()]
        return FrameOutputs.concat(firsts, sorted(n for p in firsts for n in p.names))
    return sset.sources[0].outputs(part)
