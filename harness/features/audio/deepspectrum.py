"""``deepspectrum``: the seed paper's audio features: each window's mel spectrogram rendered with
the viridis colour map and passed through an ImageNet DenseNet121 (weights from a local file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from harness.features.audio.extractor import register_audio_extractor
from harness.features.audio.windows import (
    HOP,
    HOP_S,
    N_FFT,
    SAMPLE_RATE,
    WINDOW_S,
    AudioTrack,
    at_rate,
    padded,
    pool_frames,
)
from harness.paths import file_digest

DS_MELS = 128
DS_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)



class DeepSpectrumExtractor:
    """Mel spectrogram of each window rendered as a viridis image, through ImageNet DenseNet121.

    Rendering is done with matplotlib's colour map applied directly to the array (no figure):
    128 mel bands x 98 frames, dB, min-max normalised per window, low frequencies at the bottom,
    resized to 224x224 and ImageNet-normalised. Output: the 1024-d pooled DenseNet feature.
    """

    name = "deepspectrum"
    dim = 1024

    def __init__(self, weights: str | Path | None, device: str = "cpu", batch_size: int = 64):
        if weights is None:
            raise HarnessError(
                "deepspectrum needs ImageNet DenseNet121 weights from a local file; the harness "
                "never downloads weights. Get torchvision's densenet121-a639ec97.pth and pass it "
                "with --audio-weights PATH (create_audio_extractor('deepspectrum', weights=PATH))."
            )
        from harness.features.audio.densenet import load_densenet121

        self.weights = Path(weights)
        self.device = device
        self.batch_size = batch_size
        self.model = load_densenet121(self.weights).to(device)
        self._digest = file_digest(self.weights)

    def config(self) -> dict:
        return {"name": self.name, "sr": SAMPLE_RATE, "n_mels": DS_MELS, "n_fft": N_FFT,
                "hop": HOP, "cmap": "viridis", "size": DS_SIZE, "window_s": WINDOW_S,
                "hop_s": HOP_S, "weights_sha256_16": self._digest, "version": 1}

    def spectrograms(self, track: AudioTrack) -> np.ndarray:
        """(rows, frames, mels) mel power in dB of every window (frames computed once)."""
        import librosa

        y, rows = padded(at_rate(track))
        mel = librosa.feature.melspectrogram(
            y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=DS_MELS, center=False)
        db = (10.0 * np.log10(mel.T + 1e-10)).astype(np.float32)  # (frames, mels)
        return pool_frames(db, N_FFT, HOP, SAMPLE_RATE, rows)

    def images(self, track: AudioTrack) -> np.ndarray:
        """(rows, 128, 98, 3) float32 RGB in [0, 1]: one spectrogram image per window."""
        return _render(self.spectrograms(track))

    def __call__(self, track: AudioTrack) -> np.ndarray:
        import torch

        spectra = self.spectrograms(track)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        out = []
        with torch.inference_mode():
            for start in range(0, len(spectra), self.batch_size):
                # rendered per batch: a long video's images would not fit in memory at once
                x = torch.from_numpy(_render(spectra[start:start + self.batch_size]))
                x = torch.nn.functional.interpolate(
                    x.permute(0, 3, 1, 2), size=(DS_SIZE, DS_SIZE), mode="bilinear",
                    align_corners=False)
                x = ((x - mean) / std).to(self.device)
                out.append(self.model(x).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32)


def _render(spectra: np.ndarray) -> np.ndarray:
    """(n, frames, mels) dB -> (n, mels, frames, 3) viridis RGB, each window min-max scaled,
    low frequencies at the bottom as in a plotted spectrogram."""
    from matplotlib import colormaps

    lo = spectra.min(axis=(1, 2), keepdims=True)
    hi = spectra.max(axis=(1, 2), keepdims=True)
    norm = (spectra - lo) / np.maximum(hi - lo, 1e-6)
    lut = colormaps["viridis"](np.linspace(0.0, 1.0, 256))[:, :3].astype(np.float32)
    index = np.clip(np.rint(norm * 255), 0, 255).astype(np.intp)
    return np.ascontiguousarray(lut[np.flip(np.swapaxes(index, 1, 2), axis=1)])



register_audio_extractor("deepspectrum", DeepSpectrumExtractor, owner=__name__)
