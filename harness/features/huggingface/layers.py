"""Which hidden states make a feature: ``last``, ``lastN`` (their mean) or layer ``K``.

``hidden_states`` of a ``transformers`` model hold the embeddings (index 0) and then one entry a
layer (or a stage), so a model of L layers has L + 1 of them. ``last`` is the model's own
``last_hidden_state`` (after its final norm, where it has one); ``last4`` the mean of the last
four hidden states, as ORA10 took from wav2vec2 (ABAW10); ``K`` the output of layer K (0: the
embeddings). Asking for more layers than the model has is an error naming the folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from harness.errors import HarnessError

_LAST_N = re.compile(r"last(\d+)")


@dataclass(frozen=True)
class LayerChoice:
    kind: str  # "last", "mean" (of the last n) or "index"
    n: int = 1

    @property
    def needs_hidden_states(self) -> bool:
        return self.kind != "last"

    @property
    def text(self) -> str:
        return {"last": "last", "mean": f"last{self.n}", "index": str(self.n)}[self.kind]


def parse_layers(text: str, where: str) -> LayerChoice:
    """``last``, ``lastN`` (N >= 1) or ``K`` (K >= 0); anything else names ``where``."""
    t = str(text).strip().lower()
    if t in ("last", "last1"):
        return LayerChoice("last")
    m = _LAST_N.fullmatch(t)
    if m and int(m.group(1)) >= 1:
        return LayerChoice("mean", int(m.group(1)))
    if t.isdigit():
        return LayerChoice("index", int(t))
    raise HarnessError(f"{where}: --hf-layers takes last, lastN (the mean of the last N hidden "
                       f"states, e.g. last4) or a layer number K, not {text!r}")


def select(choice: LayerChoice, last: torch.Tensor, hidden: tuple | None,
           folder: Path) -> torch.Tensor:
    """The hidden state (or mean of states) ``choice`` asks for."""
    if choice.kind == "last":
        return last
    if not hidden:
        raise HarnessError(f"{folder}: the model returns no hidden states; only --hf-layers "
                           "last works with it")
    layers = len(hidden) - 1
    if choice.kind == "index":
        if choice.n > layers:
            raise HarnessError(f"{folder}: --hf-layers {choice.n}: the model has {layers} "
                               f"layers (0 = the embeddings, 1..{layers})")
        return hidden[choice.n]
    if choice.n > layers:
        raise HarnessError(f"{folder}: --hf-layers last{choice.n}: the model has only {layers} "
                           "layers")
    picked = hidden[-choice.n:]
    if len({tuple(h.shape) for h in picked}) != 1:
        raise HarnessError(f"{folder}: --hf-layers last{choice.n}: the last {choice.n} hidden "
                           f"states differ in shape ({[tuple(h.shape) for h in picked]}; a "
                           "multi-stage model); pick one layer or last")
    total = picked[0].float()
    for h in picked[1:]:
        total = total + h.float()
    return total / len(picked)
