"""Importing features computed elsewhere: formats, every validation error, caching, use."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.data.videos import video_of
from harness.errors import HarnessError
from harness.features.cache import cache_root
from harness.features.extract import all_names
from harness.features.imported import import_features, imported_source
from harness.features.timeline import CURRENT_STEP
from harness.features.windows import build_windows


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ABAW_HARNESS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _per_frame(release, folder, dim=5, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in all_names(release):
        np.save(folder / f"{name}.npy", rng.normal(size=(release.n_frames(name), dim)))
    return folder


def _nothing_imported(release, name):
    assert not (cache_root(release) / "imports" / f"{name}.json").exists()
    assert not any(p.is_dir() and any(p.iterdir())
                   for p in cache_root(release).glob(f"import-{name}-*"))


def test_per_frame_import_is_read_by_windows(synth_release, tmp_path, home):
    src = _per_frame(synth_release, tmp_path / "ext")
    done = import_features(synth_release, src, "ext", names=all_names(synth_release),
                           quiet=True)
    assert (done.kind, done.dim, done.n_names) == ("per-frame", 5, len(all_names(synth_release)))
    source = imported_source(synth_release, "ext")
    name = sorted(synth_release.val)[0]
    ws = build_windows(synth_release, [name], {"face": source}, labelled_only=False)
    batch = ws.batch(np.arange(len(ws)))
    expected = np.load(src / f"{name}.npy").astype(np.float32)
    assert np.array_equal(batch["face"][:, CURRENT_STEP].numpy(), expected)
    assert batch["face_mask"][:, CURRENT_STEP].all()


def test_frames_with_gaps_are_filled_and_flagged(synth_release, tmp_path, home):
    src = _per_frame(synth_release, tmp_path / "gaps")
    name = sorted(synth_release.val)[0]
    n = synth_release.n_frames(name)
    (src / f"{name}.npy").unlink()
    frames = np.arange(1, n + 1, 3)  # an extractor that saw a face in one frame in three
    feat = np.arange(frames.size, dtype=np.float32)[:, None] * np.ones((1, 5), np.float32)
    np.savez(src / f"{name}.npz", feat=feat, frame=frames)
    import_features(synth_release, src, "gaps", names=all_names(synth_release), quiet=True)
    got = imported_source(synth_release, "gaps").load(name)
    assert got.feat.shape == (n, 5)
    assert np.array_equal(~got.flag, np.isin(np.arange(1, n + 1), frames))
    assert got.feat[1, 0] == 0 and got.feat[2, 0] == 1  # frame 2 -> frame 1, frame 3 -> frame 4


def test_timed_features_shared_by_a_video(synth_release, tmp_path, home):
    src = tmp_path / "voice"
    src.mkdir()
    for video in sorted({video_of(n) for n in all_names(synth_release)}):
        t = np.arange(0, 10, 0.02)
        np.savez(src / f"{video}.npz", feat=np.stack([t, -t], 1), time=t)
    done = import_features(synth_release, src, "voice", names=all_names(synth_release),
                           quiet=True)
    assert done.kind == "timed"
    source = imported_source(synth_release, "voice")
    assert not source.per_frame
    name = sorted(synth_release.val)[0]
    ws = build_windows(synth_release, [name], {"voice": source}, labelled_only=False)
    batch = ws.batch(np.arange(len(ws)))
    times = ws.spec.step_times(ws.frames, ws.fps[ws.name_idx])
    inside = (times >= 0) & (times <= 10 - 0.02)
    assert np.allclose(batch["voice"][..., 0].numpy()[inside], times[inside], atol=0.011)


@pytest.mark.parametrize("damage, message", [
    ("rows", r"rows, but .* has \d+ frames"),
    ("nan", r"NaN or inf at row 3"),
    ("missing", r"no file for 1 name\(s\) a run needs"),
    ("unknown", r"'not_a_video' is neither a name nor a video"),
    ("size", r"feature size 7, but .* has 5"),
    ("npz", r"needs exactly one of 'frame'"),
])
def test_bad_files_are_refused_naming_the_file_and_nothing_is_written(
        synth_release, tmp_path, home, damage, message):
    src = _per_frame(synth_release, tmp_path / "bad")
    name = sorted(synth_release.train)[0]
    path = src / f"{name}.npy"
    n = synth_release.n_frames(name)
    if damage == "rows":
        np.save(path, np.ones((n - 1, 5)))
    elif damage == "nan":
        feat = np.ones((n, 5))
        feat[3, 2] = np.nan
        np.save(path, feat)
    elif damage == "missing":
        path.unlink()
    elif damage == "unknown":
        np.save(src / "not_a_video.npy", np.ones((3, 5)))
    elif damage == "size":
        np.save(path, np.ones((n, 7)))
    elif damage == "npz":
        path.unlink()
        np.savez(src / f"{name}.npz", feat=np.ones((n, 5)))
    with pytest.raises(HarnessError, match=message) as info:
        import_features(synth_release, src, "bad", names=all_names(synth_release), quiet=True)
    assert "nothing was written" in str(info.value)
    if damage != "missing":
        assert str(src) in str(info.value)
    _nothing_imported(synth_release, "bad")


def test_a_changed_file_is_imported_again(synth_release, tmp_path, home):
    src = _per_frame(synth_release, tmp_path / "ext")
    names = all_names(synth_release)
    first = import_features(synth_release, src, "ext", names=names, quiet=True)
    again = import_features(synth_release, src, "ext", names=names, quiet=True)
    assert again.cache_dir == first.cache_dir  # same files: nothing redone
    name = names[0]
    np.save(src / f"{name}.npy", np.zeros((synth_release.n_frames(name), 5)))
    changed = import_features(synth_release, src, "ext", names=names, quiet=True)
    assert changed.cache_dir != first.cache_dir
    assert not imported_source(synth_release, "ext").load(name).feat.any()
    index = json.loads((cache_root(synth_release) / "imports" / "ext.json").read_text())
    assert index["cache_key"] == changed.cache_dir.name


def test_reserved_and_unknown_names(synth_release, tmp_path, home):
    src = _per_frame(synth_release, tmp_path / "ext")
    for bad in ("face", "audio_mask", "9lives"):
        with pytest.raises(HarnessError, match="--as"):
            import_features(synth_release, src, bad, names=all_names(synth_release))
    with pytest.raises(HarnessError, match="harness extract --from DIR --as nothing"):
        imported_source(synth_release, "nothing")
