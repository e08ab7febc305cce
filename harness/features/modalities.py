"""The modalities the harness extracts itself, named once, and the paper's feature sizes.

Every module that needs the modality names or sizes without data (the baseline registry, the
parameter counts of ``harness baselines``, the bench) reads them from here.
"""

from __future__ import annotations

#: The modalities, in the one order used everywhere (windows, batches, tables).
MODALITIES: tuple[str, ...] = ("face", "audio", "pose")
#: Feature sizes of the seed paper's extractors: EmoNet 256, DeepSpectrum (DenseNet121) 1024,
#: OpenPose COCO-18 (x, y) 36.
PAPER_DIMS: dict[str, int] = {"face": 256, "audio": 1024, "pose": 36}
