"""Task losses: EXPR as the stages compute it today, masked CCC/MSE for VA, weighted BCE for AU."""

import numpy as np
import pytest
import torch
from torch import nn

from harness.losses import (
    au_bce_loss,
    au_pos_weight,
    ccc_loss,
    class_weights,
    masked_mse_loss,
    va_loss,
    weighted_cross_entropy,
)
from harness.metrics import au_scores, va_scores


def _v(t: torch.Tensor) -> float:
    return t.detach().item()


def _expr_batch(seed=0, n=32):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 8, generator=g, requires_grad=True)
    targets = torch.randint(0, 8, (n,), generator=g)
    return logits, targets


def test_cross_entropy_equals_both_stages_today():
    logits, targets = _expr_batch()
    w = class_weights(targets.numpy())
    fusion = nn.CrossEntropyLoss(weight=w)(logits, targets)  # harness/fusion_stage.py
    assert torch.equal(weighted_cross_entropy(logits, targets, w), fusion)
    ok = (torch.arange(32) % 5 != 0).float()  # harness/features/face_stage.py, ``weight`` = ok
    stage1 = (nn.CrossEntropyLoss(weight=w, reduction="none")(logits, targets) * ok).sum() \
        / ok.sum().clamp(min=1)
    assert torch.equal(weighted_cross_entropy(logits, targets, w, mask=ok), stage1)
    # invalid (-1) targets are left out of both forms
    t2 = torch.cat([targets, torch.tensor([-1, -1])])
    l2 = torch.cat([logits, torch.randn(2, 8) * 100])
    assert torch.allclose(weighted_cross_entropy(l2, t2, w), fusion)
    ok2 = torch.cat([ok, torch.ones(2)])
    assert torch.allclose(weighted_cross_entropy(l2, t2, w, mask=ok2), stage1)


def _va_batch(seed=0, n=64, invalid=()):
    rng = np.random.default_rng(seed)
    truth = rng.uniform(-1, 1, (n, 2))
    truth[list(invalid)] = -5.0
    pred = np.clip(0.6 * np.where(truth > -2, truth, 0) + rng.normal(0, 0.3, (n, 2)), -1, 1)
    return torch.tensor(pred, requires_grad=True), torch.tensor(truth)


def test_ccc_loss_is_one_minus_metric_and_has_gradients():
    pred, truth = _va_batch(invalid=[3, 10, 11])
    loss = ccc_loss(pred, truth)
    want = 1 - va_scores(truth.numpy(), pred.detach().numpy()).p_va
    assert _v(loss) == pytest.approx(want, abs=1e-10)
    loss.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    assert pred.grad[[3, 10, 11]].abs().sum() == 0  # masked frames get no gradient
    assert pred.grad.abs().sum() > 0


def test_masked_frames_do_not_change_the_losses():
    pred, truth = _va_batch(invalid=[5, 6])
    other = pred.detach().clone()
    other[[5, 6]] = torch.tensor([[0.9, -0.9], [1.0, 1.0]], dtype=torch.float64)  # anything
    for kind in ("ccc", "mse"):
        assert _v(va_loss(pred, truth, kind)) == _v(va_loss(other, truth, kind))
    logits = torch.randn(10, 12)
    target = torch.randint(0, 2, (10, 12))
    target[2, 4] = -1  # one -1: the whole frame is out
    changed = logits.clone()
    changed[2] = 50.0
    w = au_pos_weight(target.numpy())
    assert _v(au_bce_loss(logits, target, w)) == _v(au_bce_loss(changed, target, w))
    keep = torch.ones(10, dtype=bool)
    keep[2] = False
    want = nn.BCEWithLogitsLoss(pos_weight=w)(logits[keep], target[keep].float())
    assert torch.allclose(au_bce_loss(logits, target, w), want)


def test_ccc_loss_over_windows_and_edge_cases():
    pred, truth = _va_batch(n=60)
    windows = ccc_loss(pred.reshape(3, 20, 2), truth.reshape(3, 20, 2))
    assert torch.allclose(windows, ccc_loss(pred, truth))  # every leading axis pooled
    assert _v(ccc_loss(truth.clone(), truth)) == pytest.approx(0.0, abs=1e-12)
    const = torch.zeros(60, 2, requires_grad=True)
    loss = ccc_loss(const, truth)  # constant prediction: CCC 0, loss 1, gradient still flows
    assert _v(loss) == pytest.approx(1.0)
    loss.backward()
    assert const.grad.abs().sum() > 0
    only_v = truth.clone()
    only_v[:, 1] = -5.0  # arousal has no valid frame: the mean is over valence only
    want = 1 - va_scores(truth.numpy(), pred.detach().numpy()).ccc_valence
    assert _v(ccc_loss(pred, only_v)) == pytest.approx(want, abs=1e-10)
    none = torch.full((4, 2), -5.0)
    p = torch.zeros(4, 2, requires_grad=True)
    for kind in ("ccc", "mse"):
        z = va_loss(p, none, kind)
        z.backward()
        assert _v(z) == 0.0
    with pytest.raises(ValueError, match="unknown VA loss"):
        va_loss(pred, truth, "huber")
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        ccc_loss(pred[:, :1], truth[:, :1])


def test_mse_option():
    pred, truth = _va_batch(invalid=[0])
    keep = truth[:, 0] > -2
    want = ((pred[keep] - truth[keep]) ** 2).mean()
    got = masked_mse_loss(pred, truth)
    assert torch.allclose(got, want)
    got.backward()
    assert pred.grad[0].abs().sum() == 0 and pred.grad.abs().sum() > 0


def test_au_pos_weight_and_loss_gradients():
    rng = np.random.default_rng(0)
    rates = np.array([0.12, 0.06, 0.15, 0.26, 0.4, 0.35, 0.25, 0.03, 0.03, 0.027, 0.63, 0.08])
    labels = (rng.random((5000, 12)) < rates).astype(np.int64)
    labels[:100] = -1
    w = au_pos_weight(labels)
    valid = labels[100:]
    pos = valid.sum(0)
    assert np.allclose(w.numpy(), (valid.shape[0] - pos) / pos, rtol=1e-6)
    assert w[9] > 20 and w[10] < 1  # AU24 rare, AU25 common
    none = np.zeros((5, 12), dtype=int)
    assert au_pos_weight(none).tolist() == [1.0] * 12
    logits = torch.zeros(8, 12, requires_grad=True)
    target = torch.tensor(labels[100:108])
    loss = au_bce_loss(logits, target, w)
    loss.backward()
    assert torch.isfinite(loss) and logits.grad.abs().sum() > 0
    # gradient moves towards the truth: thresholding after one step raises F1
    with torch.no_grad():
        stepped = logits - 10 * logits.grad
    assert au_scores(target.numpy(), (stepped > 0).int().numpy()).p_au > \
        au_scores(target.numpy(), np.zeros((8, 12), dtype=int)).p_au
    empty = torch.full((3, 12), -1)
    z = au_bce_loss(torch.zeros(3, 12, requires_grad=True), empty)
    z.backward()
    assert _v(z) == 0.0
    with pytest.raises(ValueError, match="12"):
        au_pos_weight(np.zeros((3, 2)))
