"""The face data path: uint8 decoding in workers, resizing on the device, the same pixels and
features as OpenCV on the CPU in one process."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from harness.data.synth.cues import N_AU
from harness.data.synth.face_drawing import draw_face, random_identity
from harness.features.cache import FeatureCache
from harness.features.face.config import FaceConfig
from harness.features.face.features import extract_face_features
from harness.features.face.images import (
    FaceFiles,
    FaceImages,
    FaceLoader,
    chunks,
    default_workers,
    stored_size,
    to_model_input,
)
from harness.features.face.model import build_face_model
from harness.features.face.resize import resize_like_cv2
from harness.features.face.stage import FaceStage


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    """(N, 112, 112, 3) uint8 BGR: drawn faces through jpg, and pure noise (the hardest)."""
    rng = np.random.default_rng(0)
    drawn = []
    for _ in range(24):
        img = draw_face(random_identity(rng), rng.normal(0, 0.5, N_AU).astype(np.float32))
        img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        drawn.append(cv2.imdecode(cv2.imencode(".jpg", img)[1], cv2.IMREAD_COLOR))
    noise = rng.integers(0, 256, (8, 112, 112, 3), dtype=np.uint8)
    return np.concatenate([np.stack(drawn), noise])


@pytest.mark.parametrize("size", [64, 56, 32, 96, 224, 256])
def test_device_resize_gives_opencvs_pixels(faces, size):
    interp = cv2.INTER_AREA if size < 112 else cv2.INTER_LINEAR
    want = np.stack([cv2.resize(f, (size, size), interpolation=interp) for f in faces])
    got = resize_like_cv2(torch.from_numpy(faces).permute(0, 3, 1, 2), size)
    np.testing.assert_array_equal(got.permute(0, 2, 3, 1).numpy(), want)


@pytest.mark.parametrize("size", [64, 112, 256])
def test_model_input_is_the_old_cpu_path(faces, size):
    """Exactly what the loader made before: cv2 resize on uint8, BGR -> RGB, float / 255."""
    def old(img: np.ndarray) -> torch.Tensor:
        if img.shape[0] != size:
            interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
            img = cv2.resize(img, (size, size), interpolation=interp)
        rgb = np.ascontiguousarray(img[:, :, ::-1])
        return torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255.0)

    want = torch.stack([old(f) for f in faces])
    got = to_model_input(torch.from_numpy(faces), size)
    assert got.dtype == torch.float32 and got.is_contiguous()
    assert torch.equal(got, want)


def _files(tmp_path, faces: np.ndarray) -> FaceFiles:
    for k, img in enumerate(faces, start=1):
        cv2.imwrite(str(tmp_path / f"{k:05d}.jpg"), img)
    n = len(faces)
    return FaceFiles((str(tmp_path),), np.zeros(n, np.int32), np.arange(1, n + 1, dtype=np.int32))


def test_workers_keep_the_order_of_any_plan(tmp_path, faces):
    files = _files(tmp_path, faces)
    assert stored_size(files) == 112
    labels = np.arange(len(faces)) % 8
    plan = [np.array([5, 0, 31]), np.array([7]), np.arange(10, 30)[::-1]]
    one = FaceLoader(FaceImages(files, 112, labels), workers=0)
    two = FaceLoader(FaceImages(files, 112, labels), workers=2)
    for _ in range(2):  # the second pass reuses the persistent workers
        got0, got2 = list(one.batches(plan)), list(two.batches(plan))
        assert [len(b[0]) for b in got2] == [3, 1, 20]
        for (i0, ok0, y0), (i2, ok2, y2), idx in zip(got0, got2, plan):
            assert torch.equal(i0, i2) and i0.dtype == torch.uint8 and i0.shape[1:] == (112, 112, 3)
            assert ok0.all() and ok2.all() and y2.tolist() == labels[idx].tolist() == y0.tolist()
    assert list(two.batches([])) == []


def test_chunks_and_default_workers(monkeypatch):
    assert [c.tolist() for c in chunks(5, 2)] == [[0, 1], [2, 3], [4]]
    assert 1 <= default_workers() <= 8
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "64")  # many ranks per node: each takes its share
    assert default_workers() == 0


def test_workers_give_the_features_of_one_process(tmp_path, synth_release):
    """Extraction with 2 decoding workers writes exactly the features of 0 workers."""
    torch.manual_seed(0)
    ckpt = tmp_path / "face.pt"
    torch.save(build_face_model("light").state_dict(), ckpt)
    stage = FaceStage(ckpt, 1, 0.0, key="test")
    names = sorted(synth_release.train)[:3] + sorted(synth_release.val)[:1]
    caches = {}
    for workers in (0, 2):
        cfg = FaceConfig(device="cpu", batch_size=48, num_workers=workers)
        caches[workers] = FeatureCache(tmp_path / f"w{workers}", "face", {"w": workers})
        extract_face_features(synth_release, names, stage, cfg, caches[workers],
                              show_progress=False)
    for name in names:
        a, b = caches[0].load(name), caches[2].load(name)
        assert a.feat.shape == (synth_release.n_frames(name), 256)
        np.testing.assert_array_equal(a.feat, b.feat)
        np.testing.assert_array_equal(a.flag, b.flag)
