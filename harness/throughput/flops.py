"""FLOPs per forward, counted by ``torch.utils.flop_counter.FlopCounterMode`` plus what it misses.

Convention: a multiply-add is 2 FLOPs, only matmuls and convolutions count (FlopCounterMode's
convention; element-wise ops are free), and a training step is taken as 3x the forward
(forward + backward for inputs + backward for weights). The counter has no formula for fused
RNN kernels (``mkldnn_rnn_layer`` on the CPU, ``_cudnn_rnn`` on CUDA): it reports 0 for an LSTM
that in fact holds 3/4 of ``attention_fusion``'s work, so each LSTM the counter saw as free is
added analytically from the shapes it ran on.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

#: Training FLOPs per forward FLOP (forward + two backward matmuls per forward matmul).
TRAIN_FLOP_FACTOR = 3.0


def lstm_flops(lstm: nn.LSTM, batch: int, steps: int) -> int:
    """Matmul FLOPs of one LSTM forward: 2 * 4H * (input + H) per step, layer and direction."""
    hidden = lstm.proj_size or lstm.hidden_size
    dirs = 2 if lstm.bidirectional else 1
    total = 0
    for layer in range(lstm.num_layers):
        width = lstm.input_size if layer == 0 else hidden * dirs
        total += 2 * 4 * lstm.hidden_size * (width + hidden) * dirs
        if lstm.proj_size:
            total += 2 * lstm.hidden_size * lstm.proj_size * dirs
    return total * batch * steps


def _counter_sees(lstm: nn.LSTM, device: torch.device) -> bool:
    """Whether FlopCounterMode counts this LSTM itself (unfused path), to avoid double counting."""
    x = torch.zeros(1, 2, lstm.input_size, device=device)
    if not lstm.batch_first:
        x = x.transpose(0, 1)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        lstm(x)
    return counter.get_total_flops() > 0


def _lstm_shapes(model: nn.Module) -> tuple[list[tuple[nn.LSTM, int, int]], list]:
    """Hooks recording (lstm, batch, steps) for each LSTM call during one forward."""
    calls: list[tuple[nn.LSTM, int, int]] = []
    handles = []
    for module in model.modules():
        if isinstance(module, nn.LSTM):
            def hook(mod, args, _out, _calls=calls):
                x = args[0]
                b, t = (x.shape[0], x.shape[1]) if mod.batch_first else (x.shape[1], x.shape[0])
                _calls.append((mod, int(b), int(t)))
            handles.append(module.register_forward_hook(hook))
    return calls, handles


def forward_flops(model: nn.Module, run: Callable[[], object], device: torch.device) -> int:
    """FLOPs of one ``run()`` (a forward of ``model``), uncounted fused LSTMs added."""
    calls, handles = _lstm_shapes(model)
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            run()
    finally:
        for h in handles:
            h.remove()
    extra = sum(lstm_flops(m, b, t) for m, b, t in calls if not _counter_sees(m, device))
    return int(counter.get_total_flops() + extra)
