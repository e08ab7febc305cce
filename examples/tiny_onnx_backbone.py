"""Write a tiny ONNX face backbone (a 2-conv CNN) to try ``--backbone onnx:PATH`` without
downloading anything, and give the same network in torch (the tests compare the two).

    python examples/tiny_onnx_backbone.py --out tiny.onnx [--size 48] [--dim 32] [--seed 0]

The graph is written with ``onnx.helper`` from the torch module's weights (no exporter, so it
works whatever the torch version): Conv 3x3/2 -> ReLU -> Conv 3x3/2 -> ReLU -> global average
pool -> Flatten -> Gemm, input ``(B, 3, size, size)`` with a dynamic batch (``size=0``: a
dynamic side too). A real backbone (HSEmotion's ``enet_b0_8_best_afew.onnx``, a timm or
torchvision export) is used the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn


def tiny_net(dim: int = 32, seed: int = 0) -> nn.Sequential:
    """The torch twin of the ONNX graph: (B, 3, S, S) -> (B, dim)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, dim),
    ).eval()


def write_onnx(net: nn.Sequential, path: Path, size: int = 48) -> Path:
    """``net`` (as built by ``tiny_net``) as an ONNX file; ``size=0``: dynamic side."""
    from onnx import TensorProto, helper, numpy_helper, save_model

    c1, c2, fc = net[0], net[2], net[6]
    weights = {"w1": c1.weight, "b1": c1.bias, "w2": c2.weight, "b2": c2.bias,
               "wf": fc.weight, "bf": fc.bias}
    inits = [numpy_helper.from_array(t.detach().numpy(), name) for name, t in weights.items()]
    conv = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], **conv),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], **conv),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "wf", "bf"], ["feature"], transB=1),
    ]
    side = size if size else "side"
    graph = helper.make_graph(
        nodes, "tiny_face_backbone",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, side, side])],
        [helper.make_tensor_value_info("feature", TensorProto.FLOAT,
                                       ["batch", fc.out_features])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every ONNX Runtime since 1.10
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, str(path))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("tiny.onnx"))
    ap.add_argument("--size", type=int, default=48, help="input side; 0: dynamic")
    ap.add_argument("--dim", type=int, default=32, help="feature size")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    path = write_onnx(tiny_net(args.dim, args.seed), args.out, args.size)
    print(f"Wrote {path}: input (B, 3, {args.size or 'S'}, {args.size or 'S'}), "
          f"output (B, {args.dim})")


if __name__ == "__main__":
    main()
