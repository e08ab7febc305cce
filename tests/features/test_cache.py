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


def test_transient_read_error_keeps_a_valid_entry(tmp_path, monkeypatch):
    """An I/O error on shared storage while another process reads: raise, delete nothing."""
    import errno

    c = _cache(tmp_path)
    feat = np.arange(12, dtype=np.float32).reshape(6, 2)
    c.save("v", feat, np.arange(6.0), np.zeros(6, bool))
    real_load = np.load

    def flaky(path, *args, **kwargs):
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(np, "load", flaky)
    with pytest.raises(HarnessError, match="left in place"):
        c.load("v")
    with pytest.raises(HarnessError, match="left in place"):
        c.has("v")  # not "missing": a re-run must not recompute over a valid entry
    monkeypatch.setattr(np, "load", real_load)
    assert (c.dir / "v" / "done.json").is_file()
    assert np.array_equal(c.load("v").feat, feat)


def test_damaged_header_or_marker_is_removed(tmp_path):
    c = _cache(tmp_path)
    for name, damage in (("h", "flag.npy"), ("m", "done.json")):
        c.save(name, np.ones((4, 2), np.float32), np.arange(4.0), np.zeros(4, bool))
        (c.dir / name / damage).write_bytes(b"\x93NUMPY garbage")
        assert not c.has(name) and not (c.dir / name).exists()


def test_changed_inputs_recompute_the_entry_and_its_packed_table(tmp_path):
    """An entry records what it was computed from; another input makes it stale (removed,
    reported once by name and reason), and a packed table holding it is rebuilt."""
    from harness.features.inputs import Inputs

    now = {"a": ("d1", "3 face images, 0.1 MB"), "b": ("e1", "2 face images, 0.1 MB")}
    cache = FeatureCache(tmp_path, "toy", {"v": 1},
                         inputs=lambda name: Inputs({"faces": now[name]}))
    for name, value in (("a", 1.0), ("b", 2.0)):
        cache.save(name, np.full((2, 3), value), np.arange(2.0), np.zeros(2, bool))
    assert float(cache.pack(["a", "b"]).feat[0, 0]) == 1.0
    now["a"] = ("d2", "5 face images, 0.2 MB")
    again = FeatureCache(tmp_path, "toy", {"v": 1},
                         inputs=lambda name: Inputs({"faces": now[name]}))
    with pytest.warns(UserWarning, match=r"1 cached name.*a: faces: 3 face images, 0\.1 MB -> "
                                         r"5 face images, 0\.2 MB"):
        assert again.missing(["a", "b"]) == ["a"]
    again.save("a", np.full((2, 3), 7.0), np.arange(2.0), np.zeros(2, bool))
    assert float(again.pack(["a", "b"]).feat[0, 0]) == 7.0  # not the old table's 1.0
    assert again.missing(["a", "b"]) == []


def test_entry_without_an_inputs_record_is_recomputed(tmp_path):
    """An entry cached before inputs were recorded cannot be vouched for: recomputed, said so."""
    from harness.features.inputs import Inputs

    FeatureCache(tmp_path, "toy", {}).save("a", np.ones((1, 2)), np.zeros(1), np.zeros(1, bool))
    cache = FeatureCache(tmp_path, "toy", {}, inputs=lambda n: Inputs({"video": ("x", "1 file")}))
    with pytest.warns(UserWarning, match="no record of its inputs"):
        assert cache.missing(["a"]) == ["a"]


def test_entries_record_their_digest_and_maker_beside_the_key(tmp_path):
    """Provenance is recorded in done.json, never in the key; an entry cached before it was
    recorded gets the same digest from its arrays."""
    import json

    import torch

    from harness.features.cache import set_provenance
    from harness.provenance import producing

    c = _cache(tmp_path)
    key = c.key
    feat = np.arange(12, dtype=np.float32).reshape(6, 2)
    with producing(device="cpu", seed=3):
        c.save("v", feat, np.arange(6.0), np.zeros(6, bool))
    c.save("w", feat + 1, np.arange(6.0), np.zeros(6, bool))
    marker = json.loads((c.dir / "v" / "done.json").read_text())
    made = marker["made_by"]
    assert made["threads"] == torch.get_num_threads() and (made["device"], made["seed"]) == \
        ("cpu", 3)
    assert made["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert made["torch"] == torch.__version__ and "device" not in c.entry_provenance("w")[
        "made_by"]
    assert _cache(tmp_path).key == key  # the key is the configuration's alone
    both = set_provenance(c, ["v", "w"])
    assert both["entries"] == 2 and both["cache"] == c.dir.name and len(both["made_by"]) == 2
    legacy = {k: marker[k] for k in ("feat_shape", "stamp")}  # as written before provenance
    (c.dir / "v" / "done.json").write_text(json.dumps(legacy))
    assert c.entry_provenance("v") == {"digest": marker["digest"], "made_by": None}
    assert set_provenance(c, ["w", "v"])["digest"] == both["digest"]
    c.invalidate("w")
    c.save("w", feat + 2, np.arange(6.0), np.zeros(6, bool))  # other numbers, other digest
    assert set_provenance(c, ["v", "w"])["digest"] != both["digest"]
