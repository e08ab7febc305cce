"""Baselines: the registry, the four systems of the RT-IAI paper's Table 2, and a dense one.

Importing this package registers ``current_face``, ``only_video``, ``concat_fusion``,
``attention_fusion``, ``dense_temporal`` (every frame of a window, TCN + transformer) and its
sequence form ``dense_sequence`` (logits for every frame of 300-frame chunks). The
trainer asks the registry (``get_baseline``, ``create_baseline``) and never imports a baseline by
name; a user's own model registers the same way and is loaded with
``load_baseline_module("mypkg.mymodel")`` or ``load_baseline_module("path/to/model.py")``.
"""

from __future__ import annotations

from . import (  # noqa: F401  (importing registers them)
    attention_fusion,
    concat_fusion,
    current_face,
    dense_sequence,
    dense_temporal,
    only_video,
)
from .layers import CURRENT_STEP, WINDOW, ClassifierHead, CrossAttention, FaceHead, TemporalEncoder
from .registry import (
    MODALITIES,
    BaselineSpec,
    ChunkSpec,
    DuplicateBaselineError,
    UnknownBaselineError,
    chunk,
    create_baseline,
    get_baseline,
    list_baselines,
    load_baseline_module,
    register_baseline,
    unregister_baseline,
)

__all__ = [
    "CURRENT_STEP",
    "MODALITIES",
    "WINDOW",
    "BaselineSpec",
    "ChunkSpec",
    "ClassifierHead",
    "CrossAttention",
    "DuplicateBaselineError",
    "FaceHead",
    "TemporalEncoder",
    "UnknownBaselineError",
    "chunk",
    "create_baseline",
    "get_baseline",
    "list_baselines",
    "load_baseline_module",
    "register_baseline",
    "unregister_baseline",
]
