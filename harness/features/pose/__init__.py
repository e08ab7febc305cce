"""Pose features: OpenPose keypoint files read into one normalised 36-d body pose per file
(``openpose``, which registers the pose extractor on import)."""

from harness.features.pose import openpose as _openpose  # noqa: F401  (registers it)
