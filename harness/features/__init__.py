"""Features: one package per modality behind one registry of extractors, the cache, the windows.

Each modality is turned into rows of fixed-size vectors with a time and an "imputed" flag, cached
once per (name, extractor, config hash) and read by the fusion stage through the 12-step window.

- ``face/``: backbones (registered ones, and schemes such as ``onnx:PATH``), the image data
  path, ``FaceConfig``, the stage-1 fine-tune, cross-fitting, frozen features, the face extractor;
- ``audio/``: decoding, window geometry, one module per extractor (logmel, deepspectrum, egemaps);
- ``pose/``: the OpenPose reader and the pose extractor;
- ``extractors``: the registry every extractor adds itself to; ``extract``: the driver;
  ``cache``, ``sources``, ``timeline``, ``windows``, ``imported``, ``modalities``: shared by all.

Heavy modules (torch models, librosa, PyAV) are imported by the submodules that use them, not
here, so that ``import harness.features`` (and looking an extractor up) stays cheap.
"""
