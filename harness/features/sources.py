"""Where a modality's features come from, and how its rows line up with frames.

A baseline declares the modalities it reads (``face``, ``audio``, ``pose``, or any name); each is
served by a ``FeatureSource``: the harness's own extractors, or features a user imported
(``harness extract --from DIR --as NAME``). Sources differ in two ways that matter for windows:
per-frame features have one row per frame 1..N of a name and are aligned by frame number; the
others have rows at their own times (audio every 0.5 s, OpenPose twice a second) and are aligned
by time. Audio is stored once per video, shared by ``x_left`` and ``x_right``.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.data.videos import video_of
from harness.features.cache import FeatureCache, Features


@dataclass(frozen=True)
class FeatureSource:
    """A modality's cached features: ``name`` is what tables and ``run.json`` call them."""

    name: str
    cache: FeatureCache
    per_frame: bool  # one row per frame 1..N (aligned by frame); else rows at their own times
    by_video: bool = False  # stored per underlying video (``x_left``/``x_right`` share it)

    def key(self, name: str) -> str:
        """The cache entry of an annotation or test name."""
        return video_of(name) if self.by_video else name

    def load(self, name: str) -> Features:
        return self.cache.load(self.key(name))
