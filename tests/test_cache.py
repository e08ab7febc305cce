import numpy as np
import pytest

from harness.errors import HarnessError
from harness.features.cache import FeatureCache


def _cache(tmp_path, **cfg):
    return FeatureCache(tmp_path, "face-light", cfg or {"stage": "x"})


def test_round_trip_and_memmap(tmp_path):
    c = _cache(tmp_path)
    feat = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    c.save("vid_left", feat, np.arange(10) / 30, np.zeros(10, bool))
    got = c.load("vid_left")
    assert isinstance(got.feat, np.memmap) and np.array_equal(got.feat, feat)
    assert c.missing(["vid_left", "other"]) == ["other"]


def test_key_changes_with_config(tmp_path):
    assert _cache(tmp_path, a=1).key != _cache(tmp_path, a=2).key


def test_truncated_file_is_detected_and_rebuilt(tmp_path):
    c = _cache(tmp_path)
    c.save("v", np.ones((100, 8), np.float32), np.arange(100.0), np.zeros(100, bool))
    f = c.dir / "v" / "feat.npy"
    f.write_bytes(f.read_bytes()[:200])  # a crash mid-copy
    assert not c.has("v")
    assert not (c.dir / "v").exists()  # removed, so a re-run rebuilds it
    assert c.missing(["v"]) == ["v"]


def test_half_written_entry_without_marker_is_missing(tmp_path):
    c = _cache(tmp_path)
    (c.dir / "v").mkdir()
    np.save(c.dir / "v" / "feat.npy", np.ones((3, 2)))
    assert c.missing(["v"]) == ["v"]


def test_nan_is_refused_with_name_and_row(tmp_path):
    c = _cache(tmp_path)
    feat = np.ones((5, 3), np.float32)
    feat[3, 1] = np.nan
    with pytest.raises(HarnessError, match=r"v1.*row 3"):
        c.save("v1", feat, np.arange(5.0), np.zeros(5, bool))
    assert c.missing(["v1"]) == ["v1"]


def test_unsafe_names_are_refused(tmp_path):
    c = _cache(tmp_path)
    for bad in ("../x", "/etc/passwd"):
        with pytest.raises(HarnessError, match="unsafe"):
            c.save(bad, np.ones((1, 1)), np.zeros(1), np.zeros(1, bool))
