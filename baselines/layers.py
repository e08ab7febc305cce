"""Building blocks shared by the baselines, with the sizes of the RT-IAI system as defaults.

A window has ``WINDOW = 12`` steps at 0.5 s spacing: 6 past steps, the current frame at
``CURRENT_STEP = 6``, 5 future steps. Steps outside the video are padded copies of the edge and
flagged ``False`` in ``batch["mask"]``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from harness.data.labels import NUM_CLASSES
from harness.features.face.model import FaceHead
from harness.features.timeline import CURRENT_STEP, N_STEPS

__all__ = [
    "CURRENT_STEP",
    "POOLS",
    "WINDOW",
    "ClassifierHead",
    "CrossAttention",
    "FaceHead",
    "TemporalEncoder",
    "batch_mask",
    "check_batch",
    "check_pool",
    "current_face_feature",
    "key_padding_mask",
    "pool_steps",
]

#: Index of the predicted (current) frame inside a window, and steps per window (6 s at 2/s):
#: defined once, by the time alignment that builds the windows.
WINDOW = N_STEPS
#: Ways ``pool_steps`` can summarise a sequence.
POOLS: tuple[str, ...] = ("current", "mean")


class ClassifierHead(nn.Sequential):
    """The fusion classifier: Linear(d -> 256) -> BatchNorm1d -> ReLU -> Dropout(0.1) -> Linear.

    Ends in logits: the loss applies its own log-softmax (the release's concat model applied a
    softmax before cross-entropy, which squashes the gradients).
    """

    def __init__(self, in_features: int, num_classes: int = NUM_CLASSES, hidden: int = 256,
                 dropout: float = 0.1):
        super().__init__(
            nn.Linear(in_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )


class TemporalEncoder(nn.Module):
    """Per-modality encoder: Linear(d -> 128, no bias) -> 2-layer BiLSTM (128 per direction).

    Returns all T per-step outputs ``(B, T, 256)``, not just a final state, so that attention has
    T keys to choose from. A step whose modality was not observed (outside the video, no face
    image, no audio stream, no person: ``observed`` False) enters the LSTM as a learned
    "missing" vector instead of a copied or silent feature, so the model can tell the two apart.
    """

    def __init__(self, in_features: int, proj: int = 128, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.2):
        super().__init__()
        self.proj = nn.Linear(in_features, proj, bias=False)
        self.missing = nn.Parameter(torch.zeros(proj))
        self.lstm = nn.LSTM(proj, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0.0,
                            bidirectional=True, batch_first=True)
        self.out_features = 2 * hidden

    def forward(self, x: Tensor, observed: Tensor | None = None) -> Tensor:
        """``x (B, T, d)``, ``observed (B, T)`` bool -> ``(B, T, 2 * hidden)``."""
        h = self.proj(x)
        if observed is not None:
            h = torch.where(observed.unsqueeze(-1), h, self.missing.to(h.dtype))
        out, _ = self.lstm(h)
        return out


class CrossAttention(nn.Module):
    """Multi-head attention over time whose query is the current face feature.

    Keys and values are all T per-step outputs of one modality's encoder. With T keys the
    softmax actually weighs time steps; the release attended over one key, where every weight is
    1 and the query has no effect.
    """

    def __init__(self, query_features: int, embed: int = 256, heads: int = 8):
        super().__init__()
        self.query_proj = nn.Linear(query_features, embed)
        self.attn = nn.MultiheadAttention(embed, heads, batch_first=True)

    def forward(self, query: Tensor, seq: Tensor, mask: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        """``query (B, Dq)``, ``seq (B, T, E)``, ``mask (B, T)`` -> ``(B, E)``, weights ``(B, T)``.

        The weights are averaged over heads; masked (padded) steps get weight 0.
        """
        q = self.query_proj(query).unsqueeze(1)
        pad = None if mask is None else key_padding_mask(mask)
        out, weights = self.attn(q, seq, seq, key_padding_mask=pad, need_weights=True,
                                 average_attn_weights=True)
        return out.squeeze(1), weights.squeeze(1)


def key_padding_mask(mask: Tensor) -> Tensor:
    """``True`` where a step must be ignored, i.e. ``~mask``, never ignoring the current step.

    The current frame is inside its video by construction; keeping it guarantees that no row is
    fully masked, which would turn the softmax into NaN.
    """
    pad = ~mask.bool()
    pad[:, CURRENT_STEP] = False
    return pad


def pool_steps(seq: Tensor, mask: Tensor | None, how: str = "current") -> Tensor:
    """Summarise per-step outputs ``(B, T, E) -> (B, E)``.

    ``"current"`` takes the step of the predicted frame (a BiLSTM output there has read the
    whole window, forwards and backwards, and is aligned with the frame being labelled);
    ``"mean"`` averages the steps inside the video.
    """
    check_pool(how)
    if how == "current":
        return seq[:, CURRENT_STEP]
    if mask is None:
        return seq.mean(dim=1)
    valid = (~key_padding_mask(mask)).to(seq.dtype).unsqueeze(-1)
    return (seq * valid).sum(dim=1) / valid.sum(dim=1)


def check_pool(how: str) -> str:
    """Refuse an unknown pool name at build time rather than mid-epoch."""
    if how not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {how!r}")
    return how


def check_batch(batch: Mapping[str, Tensor], dims: Mapping[str, int],
                steps: int | None = None) -> None:
    """Fail with the offending shape when a declared modality is missing or mis-sized.

    A wrong feature size would otherwise surface as an opaque matmul error deep in an LSTM.
    ``steps``: the window length the model needs (default: the paper's window, 12 steps).
    """
    want = WINDOW if steps is None else steps
    for name, size in dims.items():
        x = batch.get(name)
        if x is None:
            raise ValueError(f"batch has no {name!r} tensor (keys: {sorted(batch)})")
        short = x.shape[1] <= CURRENT_STEP if steps is None else x.shape[1] != steps
        if x.dim() != 3 or short or x.shape[2] != size:
            raise ValueError(f"batch[{name!r}] must be (B, {want}, {size}), "
                             f"got {tuple(x.shape)}")


def current_face_feature(batch: Mapping[str, Tensor]) -> Tensor:
    """The face feature of the predicted frame, ``(B, Df)``."""
    return batch["face"][:, CURRENT_STEP]


def batch_mask(batch: Mapping[str, Tensor], like: Tensor, modality: str | None = None
               ) -> Tensor:
    """Which steps to use: ``batch[modality + "_mask"]`` (inside the video and observed), else
    ``batch["mask"]`` (inside the video), else all steps when a caller supplied neither."""
    mask = batch.get(f"{modality}_mask") if modality else None
    mask = batch.get("mask") if mask is None else mask
    if mask is None:
        return torch.ones(like.shape[:2], dtype=torch.bool, device=like.device)
    return mask.bool()
