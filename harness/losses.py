"""Training losses per task: what each stage minimises, with invalid frames left out.

- EXPR: class-weighted cross-entropy (inverse class frequency on the training split in use,
  ``class_weights``), exactly as the fusion stage and stage 1 compute it today.
- VA: 1 − CCC per dimension, the mean over valence and arousal (the VA leaders' choice,
  ``aff-wild2-tasks.md`` §6: CCC is what P_VA scores, and MSE alone pulls predictions towards the
  mean); MSE as an option. CCC is a batch statistic: give it large batches or whole windows.
- AU: binary cross-entropy on logits with a per-AU positive weight neg/pos from the training
  labels (``au_pos_weight``): AU24 is positive in ~3 % of frames, AU25 in ~63 %, and unweighted
  BCE learns to never predict the rare ones, which F1 punishes.

- MTL: the three above over one 22-wide head (``harness.tasks.mtl.head_slices``: VA 0:2 after
  tanh, EXPR logits 2:10, AU logits 10:22) against the 15-column rows (VA, expression, AUs),
  each over its own valid labels (a row lacking one task still trains the other two), then a
  weighted sum (``mtl_loss``; weights 1, 1, 1 by default, HSE's fixed ``loss_weights``), or
  learned uncertainty weighting (``UncertaintyWeights``, CPRL's ``MultiTaskLoss``).

Invalid frames (EXPR ``-1``, VA ``-5``, AU ``-1`` in any of the 12) carry no label: they are the
frames the metric leaves out, so they are left out of the loss too rather than being read as a
class, a value of −5 or "absent". They add nothing to the loss and receive no gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike
from torch import Tensor, nn

from harness.errors import HarnessError
from harness.metrics.au import AU_INVALID, AU_NAMES
from harness.tasks import Task, get_task
from harness.train import class_weights

__all__ = [
    "VA_LOSSES",
    "task_loss",
    "au_bce_loss",
    "au_pos_weight",
    "ccc_loss",
    "class_weights",
    "masked_mse_loss",
    "mtl_loss",
    "UncertaintyWeights",
    "va_loss",
    "weighted_cross_entropy",
]

#: ``--va-loss`` choices: the CCC loss (default) or mean squared error.
VA_LOSSES = ("ccc", "mse")


def weighted_cross_entropy(logits: Tensor, targets: Tensor, weight: Tensor | None = None,
                           mask: Tensor | None = None) -> Tensor:
    """Class-weighted cross-entropy of (B, C) logits against (B,) class indices.

    Without ``mask`` it is ``nn.CrossEntropyLoss(weight=weight)``: the weighted mean
    Σ w_y·ℓ / Σ w_y (the fusion stage). With ``mask`` (1 = keep, e.g. the image decoded) it is
    Σ w_y·ℓ·m / max(Σ m, 1), the plain mean over kept items of the weighted loss (stage 1).
    Targets ``-1`` (invalid frames) are ignored in both forms.
    """
    if mask is None:
        return F.cross_entropy(logits, targets, weight=weight, ignore_index=-1)
    per_item = F.cross_entropy(logits, targets, weight=weight, ignore_index=-1,
                               reduction="none")
    keep = mask.to(per_item.dtype) * (targets >= 0).to(per_item.dtype)
    return (per_item * keep).sum() / keep.sum().clamp(min=1)


def _va_valid(target: Tensor) -> Tensor:
    """Per value: the truth is a valence/arousal in [-1, 1] (``VA_INVALID`` -5 is not)."""
    return (target >= -1.0) & (target <= 1.0)


def _zero(pred: Tensor) -> Tensor:
    """0 that stays on the graph (a batch with nothing valid still backpropagates)."""
    return pred.sum() * 0.0


def ccc_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean over valence and arousal of 1 − CCC, frames with truth ``-5`` left out per dimension.

    ``pred`` and ``target`` are (..., 2) (every leading axis pooled: batch, time). CCC uses
    population variances, as the metric (``harness.metrics.va``): on the same frames the loss is
    exactly 1 − P_VA up to float rounding. A dimension whose CCC is undefined (denominator 0)
    counts CCC 0, as in the metric; a dimension with no valid frame in the batch is left out of
    the mean (the loss is 0 when neither has one).
    """
    if pred.shape != target.shape or pred.shape[-1] != 2:
        raise ValueError(f"VA predictions {tuple(pred.shape)} and truth {tuple(target.shape)} "
                         "must both be (..., 2)")
    p = pred.reshape(-1, 2).double()
    t = target.reshape(-1, 2).to(p.dtype)
    valid = _va_valid(t).to(p.dtype)
    n = valid.sum(dim=0)
    safe = n.clamp(min=1)
    mp = (p * valid).sum(0) / safe
    mt = (t * valid).sum(0) / safe
    dp, dt = (p - mp) * valid, (t - mt) * valid
    vp, vt = (dp * dp).sum(0) / safe, (dt * dt).sum(0) / safe
    cov = (dp * dt).sum(0) / safe
    denom = vp + vt + (mp - mt) ** 2
    ccc = torch.where(denom > 0, 2.0 * cov / denom.clamp(min=torch.finfo(p.dtype).tiny),
                      torch.zeros_like(denom))
    present = n > 0
    if not present.any():
        return _zero(pred)
    return (1.0 - ccc[present]).mean().to(pred.dtype)


def masked_mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error per dimension over frames valid in it, averaged over the two."""
    if pred.shape != target.shape or pred.shape[-1] != 2:
        raise ValueError(f"VA predictions {tuple(pred.shape)} and truth {tuple(target.shape)} "
                         "must both be (..., 2)")
    p, t = pred.reshape(-1, 2), target.reshape(-1, 2).to(pred.dtype)
    valid = _va_valid(t).to(p.dtype)
    n = valid.sum(0)
    if not (n > 0).any():
        return _zero(pred)
    err = torch.where(valid > 0, p - t, torch.zeros_like(p))
    per_dim = (err * err).sum(0) / n.clamp(min=1)
    return per_dim[n > 0].mean()


def va_loss(pred: Tensor, target: Tensor, kind: str = "ccc") -> Tensor:
    """The VA loss named ``kind`` (one of ``VA_LOSSES``)."""
    if kind == "ccc":
        return ccc_loss(pred, target)
    if kind == "mse":
        return masked_mse_loss(pred, target)
    raise ValueError(f"unknown VA loss {kind!r}; choose one of {', '.join(VA_LOSSES)}")


_va_loss = va_loss  # ``task_loss`` takes an argument of that name


def au_pos_weight(labels: ArrayLike) -> Tensor:
    """Per-AU positive weight neg/pos over the valid frames of the training labels (n, 12).

    A frame with ``-1`` in any AU is left out, as in the metric. An AU with no positive (or no
    negative) frame gets weight 1: there is no frequency to correct.

    >>> au_pos_weight(np.array([[1] + [0] * 11, [0] * 12, [0] * 12, [-1] * 12]))[:2].tolist()
    [2.0, 1.0]
    """
    y = np.asarray(labels)
    if y.ndim != 2 or y.shape[1] != len(AU_NAMES):
        raise ValueError(f"AU labels must have shape (n, {len(AU_NAMES)}), got {y.shape}")
    y = y[~(y == AU_INVALID).any(axis=1)]
    pos = np.count_nonzero(y == 1, axis=0).astype(np.float64)
    neg = y.shape[0] - pos
    w = np.where((pos > 0) & (neg > 0), neg / np.maximum(pos, 1), 1.0)
    return torch.tensor(w, dtype=torch.float32)


def au_bce_loss(logits: Tensor, target: Tensor, pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of (..., 12) logits, averaged over valid frames and the 12 AUs.

    A frame whose truth holds ``-1`` in any AU is left out whole (as the metric leaves it out);
    ``pos_weight`` (12,) multiplies the positive term of each AU (``au_pos_weight``).
    """
    if logits.shape != target.shape or logits.shape[-1] != len(AU_NAMES):
        raise ValueError(f"AU logits {tuple(logits.shape)} and truth {tuple(target.shape)} "
                         f"must both be (..., {len(AU_NAMES)})")
    z = logits.reshape(-1, len(AU_NAMES))
    t = target.reshape(-1, len(AU_NAMES))
    valid = ~(t == AU_INVALID).any(dim=1)
    if not valid.any():
        return _zero(logits)
    return F.binary_cross_entropy_with_logits(
        z[valid], t[valid].to(z.dtype),
        pos_weight=None if pos_weight is None else pos_weight.to(z.device, z.dtype))



#: Default weights of the MTL loss's VA, EXPR and AU terms.
MTL_WEIGHTS = (1.0, 1.0, 1.0)
#: ``--mtl-weighting`` choices: fixed weights (default) or learned uncertainty weighting.
MTL_WEIGHTINGS = ("fixed", "uncertainty")


class UncertaintyWeights(nn.Module):
    """Learned task weighting (Kendall, Gal and Cipolla 2018; CPRL's ``MultiTaskLoss``):
    ``total = sum_t 0.5 exp(-s_t) L_t + 0.5 s_t``, one learned log-variance ``s_t`` per term,
    starting at 0. A term that stays large is weighed down, and the ``0.5 s_t`` keeps the
    weights from collapsing to zero. It trains with the model (the fusion stage adds it to the
    model for the run, so the optimiser and a resumed state hold it)."""

    def __init__(self, terms: int = 3):
        super().__init__()
        self.log_vars = nn.Parameter(torch.zeros(terms))

    def forward(self, losses: Tensor) -> Tensor:
        s = self.log_vars.to(losses.dtype)
        return (0.5 * torch.exp(-s) * losses + 0.5 * s).sum()

    def weights(self) -> list[float]:
        """The current weight 0.5 exp(-s_t) of each term."""
        return (0.5 * torch.exp(-self.log_vars.detach())).tolist()


def mtl_loss(train_targets: np.ndarray, device: torch.device | str = "cpu", *,
             va_loss: str = "ccc", weights: tuple[float, float, float] = MTL_WEIGHTS,
             learned: UncertaintyWeights | None = None) -> Callable[[Tensor, Tensor], Tensor]:
    """The MTL loss fitted on the training split's (n, 15) rows: EXPR class weights from the
    rows with an expression, AU positive weights from the rows with AUs. Returns
    ``loss(outputs (..., 22), targets (..., 15))``; a term with no valid label in the batch
    adds 0 (its head gets no gradient from that batch). With ``learned`` the terms are
    weighed by it instead of ``weights``."""
    from harness.data.mtl import rows_valid
    from harness.tasks.mtl import head_slices

    rows = np.asarray(train_targets, dtype=np.float32).reshape(-1, 15)
    ok = rows_valid(rows)
    ce_weight = class_weights(rows[ok[:, 1], 2].astype(np.int64)).to(device)
    au_weight = au_pos_weight(rows[ok[:, 2], 3:].astype(np.int64)).to(device)
    at = head_slices()
    w_va, w_expr, w_au = (float(w) for w in weights)

    def loss(outputs: Tensor, targets: Tensor) -> Tensor:
        out = outputs.reshape(-1, outputs.shape[-1])
        t = targets.reshape(-1, targets.shape[-1]).to(out.dtype)
        expr = t[:, 2].long()
        ce = (F.cross_entropy(out[:, at["expr"]], expr, weight=ce_weight.to(out.dtype),
                              ignore_index=-1)
              if bool((expr >= 0).any()) else _zero(out))
        terms = (_va_loss(out[:, at["va"]], t[:, 0:2], va_loss), ce,
                 au_bce_loss(out[:, at["au"]], t[:, 3:], au_weight))
        if learned is not None:
            return learned(torch.stack(terms))
        return w_va * terms[0] + w_expr * terms[1] + w_au * terms[2]
    return loss


def task_loss(task: str | Task | None, train_targets: np.ndarray,
              device: torch.device | str = "cpu", *, va_loss: str = "ccc",
              learned: UncertaintyWeights | None = None) -> Callable[[Tensor, Tensor], Tensor]:
    """The loss a stage trains ``task`` with, fitted on its training split's valid targets:
    EXPR's class-weighted cross-entropy (``nn.CrossEntropyLoss`` with ``class_weights``, as
    every EXPR stage computed it), VA's ``va_loss`` ("ccc" or "mse", on values already in
    [-1, 1]), AU's BCE on logits with ``au_pos_weight``. Returns ``loss(outputs, targets)``.
    """
    task = get_task(task)
    if task.classification:
        return nn.CrossEntropyLoss(weight=class_weights(train_targets).to(device))
    if task.loss in VA_LOSSES:
        if va_loss not in VA_LOSSES:
            raise HarnessError(f"unknown VA loss {va_loss!r}; choose one of "
                               f"{', '.join(VA_LOSSES)}")
        return partial(_va_loss, kind=va_loss)
    if task.loss == "multitask":
        return mtl_loss(train_targets, device, va_loss=va_loss, learned=learned)
    if task.loss == "bce":
        weight = au_pos_weight(train_targets).to(device)
        return lambda logits, targets: au_bce_loss(logits, targets, weight)
    raise HarnessError(f"task {task.name!r}: no training loss named {task.loss!r}")
