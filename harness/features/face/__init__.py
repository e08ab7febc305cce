"""Face features: backbones (registered ones and schemes), the image data path, the stage-1
fine-tune, cross-fitting, frozen features, and the face extractor that drives them.

Importing the package registers the face extractor and nothing heavy: torch and the models are
imported by the submodules that need them.
"""

from harness.features.face import extractor as _extractor  # noqa: F401  (registers it)
