"""Audio: decoding from video containers, windows, and the extractors."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from harness.errors import HarnessError, ReleaseFormatError
from harness.features.audio.decoding import load_audio
from harness.features.audio.densenet import DenseNet121
from harness.features.audio.extractor import (
    AudioExtractor,
    create_audio_extractor,
    list_audio_extractors,
)
from harness.features.audio.logmel import LOGMEL_NAMES
from harness.features.audio.windows import SAMPLE_RATE, AudioTrack, window_centres, window_flags


def _tone(seconds: float, freq: float, amp: float, sr: int) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_video(path: Path, seconds: float, *, audio: bool = True, sr: int = 44100,
               fps: int = 10) -> Path:
    """A tiny mp4 (mpeg4 video, optional AAC mono sine at 440 Hz) written with PyAV."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        sound = out.add_stream("aac", rate=sr, layout="mono") if audio else None
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        if sound is not None:
            y = _tone(seconds, 440.0, 0.3, sr)
            for start in range(0, len(y), 1024):
                chunk = av.AudioFrame.from_ndarray(y[None, start:start + 1024], format="fltp",
                                                   layout="mono")
                chunk.sample_rate, chunk.pts = sr, start
                out.mux(sound.encode(chunk))
            out.mux(sound.encode())
        out.mux(video.encode())
    return path


def test_decodes_aac_in_mp4_to_16k(tmp_path):
    track = load_audio(make_video(tmp_path / "v.mp4", 2.0))
    assert track.sr == SAMPLE_RATE and track.has_audio and not window_flags(track).any()
    assert track.samples.dtype == np.float32 and track.samples.ndim == 1
    assert abs(track.duration - 2.0) < 0.1
    assert abs(len(track.samples) / SAMPLE_RATE - 2.0) < 0.1
    mid = track.samples[SAMPLE_RATE // 2: SAMPLE_RATE]
    assert 0.15 < np.sqrt(np.mean(mid ** 2)) < 0.3  # the 0.3-amplitude sine survived
    zero_crossings = np.count_nonzero(np.diff(np.signbit(mid))) / 0.5 / 2
    assert abs(zero_crossings - 440) < 10


def test_no_audio_stream_gives_silence_flag_and_warning(tmp_path):
    path = make_video(tmp_path / "mute.mp4", 1.5, audio=False)
    with pytest.warns(UserWarning, match="mute.mp4.*no audio"):
        track = load_audio(path)
    assert not track.has_audio
    assert abs(track.duration - 1.5) < 0.15
    assert len(track.samples) == round(track.duration * SAMPLE_RATE)
    assert not track.samples.any()
    assert window_flags(track).all()


def test_unreadable_file_names_the_file(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00not a video at all" * 50)
    with pytest.raises(ReleaseFormatError, match="broken.mp4"):
        load_audio(path)
    with pytest.raises(HarnessError, match="not found"):
        load_audio(tmp_path / "absent.mp4")


def test_window_centres():
    assert np.allclose(window_centres(2.0), [0.5, 1.0, 1.5, 2.0])
    assert len(window_centres(2.01)) == 5
    assert np.allclose(window_centres(0.0), [0.5])
    assert np.allclose(window_centres(0.3), [0.5])
    assert len(window_centres(600.0)) == 1200


def _track(y: np.ndarray) -> AudioTrack:
    return AudioTrack(y, SAMPLE_RATE, True, len(y) / SAMPLE_RATE)


def test_logmel_shape_and_cues():
    ext = create_audio_extractor("logmel")
    assert isinstance(ext, AudioExtractor) and ext.dim == len(LOGMEL_NAMES)
    quiet = ext(_track(_tone(3.0, 150.0, 0.05, SAMPLE_RATE)))
    assert quiet.shape == (6, ext.dim) and quiet.dtype == np.float32
    loud = ext(_track(_tone(3.0, 150.0, 0.5, SAMPLE_RATE)))
    high = ext(_track(_tone(3.0, 300.0, 0.05, SAMPLE_RATE)))
    col = {n: i for i, n in enumerate(LOGMEL_NAMES)}
    r = 2  # a window fully inside the tone
    assert loud[r, col["log_rms_mean"]] - quiet[r, col["log_rms_mean"]] == pytest.approx(
        np.log(10), abs=0.1)
    assert high[r, col["pitch_oct_mean"]] - quiet[r, col["pitch_oct_mean"]] == pytest.approx(
        1.0, abs=0.05)
    assert high[r, col["centroid_khz_mean"]] > quiet[r, col["centroid_khz_mean"]]
    assert quiet[r, col["voiced_fraction"]] > 0.9
    silent = ext(_track(np.zeros(SAMPLE_RATE * 2, np.float32)))
    assert silent[:, col["voiced_fraction"]].max() == 0


def test_logmel_last_window_is_padded():
    ext = create_audio_extractor("logmel")
    feats = ext(_track(_tone(1.2, 200.0, 0.2, SAMPLE_RATE)))
    assert feats.shape[0] == len(window_centres(1.2)) == 3
    assert np.isfinite(feats).all()


def test_deepspectrum_with_local_random_weights(tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "densenet121.pth"
    torch.save(DenseNet121().state_dict(), weights)
    ext = create_audio_extractor("deepspectrum", weights=weights)
    track = _track(_tone(1.5, 300.0, 0.2, SAMPLE_RATE))
    images = ext.images(track)
    assert images.shape == (3, 128, 98, 3) and 0 <= images.min() and images.max() <= 1
    feats = ext(track)
    assert feats.shape == (3, 1024) and feats.dtype == np.float32
    assert ext.config()["weights_sha256_16"]


def test_deepspectrum_without_weights_explains():
    with pytest.raises(HarnessError, match="never downloads"):
        create_audio_extractor("deepspectrum")


def test_registry():
    # hf: serves every --audio hf:DIR (harness.features.huggingface registers it)
    assert list_audio_extractors() == ["logmel", "deepspectrum", "egemaps", "hf:"]
    with pytest.raises(HarnessError, match="known audio extractors: logmel"):
        create_audio_extractor("mfcc")
    with pytest.raises(HarnessError, match="takes no weights"):
        create_audio_extractor("logmel", weights="x.pth")


def test_egemaps_missing_package_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "opensmile", None)  # import now fails like a missing package
    with pytest.raises(HarnessError, match=r"pip install abaw-harness\[opensmile\]"):
        create_audio_extractor("egemaps")


@pytest.mark.skipif(importlib.util.find_spec("opensmile") is None, reason="opensmile absent")
def test_egemaps_shape():
    ext = create_audio_extractor("egemaps")
    assert ext(_track(_tone(1.5, 200.0, 0.2, SAMPLE_RATE))).shape == (3, 88)


@pytest.mark.parametrize("suffix", ["mkv", "avi"])
def test_truncated_file_keeps_what_decodes_and_warns(tmp_path, suffix):
    full = make_video(tmp_path / f"full.{suffix}", 4.0)
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.6)])
    with pytest.warns(UserWarning, match=f"cut.{suffix}"):
        track = load_audio(cut)
    assert track.has_audio and len(track.samples) == round(track.duration * SAMPLE_RATE)
    assert np.abs(track.samples[: SAMPLE_RATE]).max() > 0.1  # the start decoded
    flags = window_flags(track)  # rows starting after the audio's end are marked imputed
    assert track.audio_end is not None and track.audio_end < 3.5
    assert not flags[0]
    assert flags.tolist() == (window_centres(track.duration) - 0.5 >= track.audio_end).tolist()
    if suffix == "mkv":  # the header keeps the full 4 s duration
        assert flags[-1]


def make_offset_video(path: Path, seconds: float, segments: list[tuple[float, float]],
                      sr: int = 44100, fps: int = 10) -> Path:
    """An mp4 whose AAC audio holds a 440 Hz tone only over ``segments`` (start, length) s,
    written with those timestamps: a late start and gaps, as real files can have."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        sound = out.add_stream("aac", rate=sr, layout="mono")
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        for start, length in segments:
            y = _tone(length, 440.0, 0.3, sr)
            for s in range(0, len(y), 1024):
                chunk = av.AudioFrame.from_ndarray(y[None, s:s + 1024], format="fltp",
                                                   layout="mono")
                chunk.sample_rate, chunk.pts = sr, round(start * sr) + s
                out.mux(sound.encode(chunk))
        out.mux(sound.encode())
        out.mux(video.encode())
    return path


def _rms(track: AudioTrack, start: float, end: float) -> float:
    y = track.samples[round(start * track.sr):round(end * track.sr)]
    return float(np.sqrt(np.mean(y ** 2)))


def test_audio_that_starts_late_stays_on_the_video_clock(tmp_path):
    track = load_audio(make_offset_video(tmp_path / "late.mp4", 4.0, [(1.5, 2.0)]))
    assert _rms(track, 0.0, 1.4) < 0.01  # silence before the stream starts (was the tone)
    assert 0.15 < _rms(track, 1.6, 3.4) < 0.3
    assert _rms(track, 3.6, 4.0) < 0.01
    flags = window_flags(track)  # row r covers [0.5 r, 0.5 r + 1]
    assert flags[0] and not flags[1:7].any()  # [0, 1] holds no audio; [1, 2] on do


def test_a_gap_in_the_audio_stays_a_gap(tmp_path):
    track = load_audio(make_offset_video(tmp_path / "gap.mp4", 4.0, [(0.0, 1.0), (2.5, 1.0)]))
    assert 0.15 < _rms(track, 0.1, 0.9) < 0.3
    assert _rms(track, 1.1, 2.4) < 0.01  # the gap (was filled by the later audio)
    assert 0.15 < _rms(track, 2.6, 3.4) < 0.3
    assert track.spans is not None and len(track.spans) == 2
    assert window_flags(track)[3]  # row 3 covers [1.5, 2.5]: no audio in it
