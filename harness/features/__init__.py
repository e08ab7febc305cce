"""Features: face backbones (and their stage-1 fine-tune), audio, pose, time windows, the cache.

Each modality is turned into rows of fixed-size vectors with a time and an "imputed" flag, cached
once per (name, extractor, config hash) and read by the fusion stage through the 12-step window.
Heavy modules (torch models, librosa, PyAV) are imported by the submodules, not here, so that
``import harness.features`` stays cheap.
"""
