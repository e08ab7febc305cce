"""Audio features: decoding (``decoding``), window geometry (``windows``), and one module per
extractor (``logmel``, ``deepspectrum`` with the ``densenet`` it runs, ``egemaps``), each of which
registers itself (``extractor``). Importing the package registers them; PyAV, librosa and torch
are imported when audio is decoded or described.
"""

import importlib

for _module in ("logmel", "deepspectrum", "egemaps"):  # registration order: the default first
    importlib.import_module(f"{__name__}.{_module}")
# Extractors of models named by where they lie (--audio hf:DIR): their package registers them
# (and imports transformers only when such a model is asked for).
importlib.import_module("harness.features.huggingface")
