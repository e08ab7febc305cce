"""``egemaps``: eGeMAPSv02 functionals of every window, via the optional ``opensmile`` package
(research licence)."""

from __future__ import annotations

import numpy as np

from harness.errors import HarnessError
from harness.features.audio.extractor import register_audio_extractor, takes_no_weights
from harness.features.audio.windows import (
    HOP_S,
    SAMPLE_RATE,
    WINDOW_S,
    AudioTrack,
    at_rate,
    padded,
)


class EGeMapsExtractor:
    """eGeMAPSv02 functionals (88-d) of each 1 s window, via the optional ``opensmile`` package."""

    name = "egemaps"
    dim = 88

    def __init__(self) -> None:
        try:
            import opensmile
        except ImportError as exc:
            raise HarnessError(
                "the egemaps extractor needs the optional opensmile package (research licence, "
                "see audEERING's terms): pip install abaw-harness[opensmile]"
            ) from exc
        self._version = getattr(opensmile, "__version__", "?")
        self._smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02,
            feature_level=opensmile.FeatureLevel.Functionals,
        )

    def config(self) -> dict:
        return {"name": self.name, "sr": SAMPLE_RATE, "feature_set": "eGeMAPSv02",
                "opensmile": self._version, "window_s": WINDOW_S, "hop_s": HOP_S, "version": 1}

    def __call__(self, track: AudioTrack) -> np.ndarray:
        y, rows = padded(at_rate(track))
        hop, win = round(HOP_S * SAMPLE_RATE), round(WINDOW_S * SAMPLE_RATE)
        feats = [self._smile.process_signal(y[r * hop: r * hop + win], SAMPLE_RATE).to_numpy()[0]
                 for r in range(rows)]
        return np.nan_to_num(np.stack(feats)).astype(np.float32)



register_audio_extractor("egemaps", takes_no_weights("egemaps", EGeMapsExtractor), owner=__name__)
