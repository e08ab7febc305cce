"""Stage 1, extraction and windows on a small synthetic corpus (real files, real formats)."""

import numpy as np
import pytest

from harness.data.splits import get_split
from harness.features.extract import FeatureConfig, all_names, builtin_source, extract_all
from harness.features.face.config import FaceConfig
from harness.features.timeline import CURRENT_STEP
from harness.features.windows import build_windows


@pytest.fixture(scope="module")
def extracted(synth_release):
    cfg = FeatureConfig(face=FaceConfig(max_epochs=2, batch_size=64), device="cpu")
    split = get_split(synth_release, "official")
    caches, stage = extract_all(synth_release, split, ("face", "audio", "pose"), cfg, quiet=True)
    return split, caches, stage, cfg


def test_face_stage_records_best_epoch_by_f1(extracted):
    _, _, stage, _ = extracted
    assert stage.checkpoint.is_file() and 1 <= stage.best_epoch <= 2
    assert stage.best_val_f1 == max(h["val_macro_f1"] for h in stage.history)


def test_stage1_and_its_features_record_what_made_them(synth_release, extracted):
    import torch

    from harness.paths import file_digest

    _, caches, stage, _ = extracted
    rec = stage.provenance
    assert rec["key"] == stage.key and rec["digest"] == file_digest(stage.checkpoint)
    made = rec["made_by"]
    assert (made["device"], made["seed"], made["torch"]) == ("cpu", 0, torch.__version__)
    assert made["threads"] == 1 and made["cpu_capability"]  # --feature-threads: 1, fixed
    name = all_names(synth_release)[0]
    assert caches["face"].entry_provenance(name)["made_by"]["stage1"] == rec["digest"]


def test_every_name_has_one_face_row_per_frame(synth_release, extracted):
    _, caches, _, _ = extracted
    for name in all_names(synth_release):
        f = caches["face"].load(name)
        assert f.feat.shape[0] == synth_release.n_frames(name)
        assert np.isfinite(f.feat).all()
        have = synth_release.faces.frames(name)
        assert not f.flag[have[have <= f.feat.shape[0]] - 1].any()  # own face: not flagged


def test_rerun_does_no_work(synth_release, extracted):
    split, caches, stage, cfg = extracted
    def stamps(cs) -> dict:  # every file of every cache, with when it was last written
        return {f: f.stat().st_mtime_ns for c in cs.values() for f in c.dir.rglob("*")}

    before = stamps(caches)
    face_file = caches["face"].dir / all_names(synth_release)[0] / "feat.npy"
    t0 = face_file.stat().st_mtime_ns
    caches2, stage2 = extract_all(synth_release, split, ("face", "audio", "pose"), cfg, quiet=True)
    assert stage2.checkpoint == stage.checkpoint
    assert face_file.stat().st_mtime_ns == t0
    assert {m: c.dir for m, c in caches2.items()} == {m: c.dir for m, c in caches.items()}
    assert before and stamps(caches2) == before  # nothing written, nothing added or removed


def test_windows_cover_every_validation_frame(synth_release, extracted):
    split, caches, _, _ = extracted
    sources = {m: builtin_source(m, c) for m, c in caches.items()}
    ws = build_windows(synth_release, split.val, sources, labelled_only=False)
    assert len(ws) == sum(synth_release.n_frames(n) for n in split.val)
    assert ws.batch(np.arange(len(ws)))["mask"][:, CURRENT_STEP].all()
    batch = ws.batch(np.arange(5))
    assert batch["face"].shape == (5, 12, ws.dims["face"])
    assert batch["audio"].shape[:2] == (5, 12) and batch["pose"].shape == (5, 12, 36)
    train = build_windows(synth_release, split.train, sources, labelled_only=True)
    assert (train.labels >= 0).all()


def test_same_run_twice_gives_identical_metrics(synth_root, tmp_path):
    """The determinism users rely on: one command, twice, the same numbers (CPU)."""
    from harness.fusion_stage import TrainConfig
    from harness.runs import run

    kw = dict(data=synth_root, features=FeatureConfig(face=FaceConfig(max_epochs=2),
                                                       device="cpu"), quiet=True)
    a = run("only_video", train=TrainConfig(max_epochs=2, batch_size=32), out=tmp_path / "a",
            **kw)
    b = run("only_video", train=TrainConfig(max_epochs=2, batch_size=32), out=tmp_path / "b",
            **kw)
    assert a.scores == b.scores
    pa = (a.run_dir / "predictions" / "test").iterdir()
    for f in sorted(pa):
        assert f.read_bytes() == (b.run_dir / "predictions" / "test" / f.name).read_bytes()


def test_batches_carry_each_modalitys_observed_mask(synth_root, synth_release, extracted):
    """Faces copied from a neighbour, audio of a video without a stream: flagged in the cache,
    False in the batch's per-modality mask (and the models mask them)."""
    import json

    split, caches, _, _ = extracted
    sources = {m: builtin_source(m, c) for m, c in caches.items()}
    names = list(split.train) + list(split.val)
    ws = build_windows(synth_release, names, sources, labelled_only=False)
    batch = ws.batch(np.arange(len(ws)))
    manifest = json.loads((synth_root / "synth.json").read_text())
    silent = {n for n, v in manifest["names"].items()
              if not manifest["videos"][v["video"]]["has_audio"]} & set(names)
    assert silent, "the corpus has a video without audio"
    for i, name in enumerate(ws.names):
        rows = ws.name_idx == i
        audio = batch["audio_mask"][rows].numpy()
        assert not audio.any() if name in silent else audio[:, CURRENT_STEP].any()
        face_flag = np.asarray(caches["face"].load(name).flag)[ws.frames[rows] - 1]
        assert np.array_equal(batch["face_mask"][rows, CURRENT_STEP].numpy(), ~face_flag)
        assert not (batch["face_mask"] & ~batch["mask"]).any()
    assert np.array_equal(ws.observed("face"), batch["face_mask"][:, CURRENT_STEP].numpy())
    assert not ws.observed("face").all(), "the corpus has frames without a face"


def test_a_damaged_face_model_is_an_error_naming_it(synth_release, extracted):
    """The stage-1 cache, damaged outside the harness: say which file, not a traceback."""
    from harness.errors import HarnessError
    from harness.features.face.model import load_face_model

    split, _, stage, cfg = extracted
    meta = stage.checkpoint.with_suffix(".json")
    saved_meta, saved_ckpt = meta.read_bytes(), stage.checkpoint.read_bytes()
    try:
        meta.write_text('{"best_epoch": 1,')
        with pytest.raises(HarnessError, match=rf"{meta.name}: damaged or unreadable"):
            extract_all(synth_release, split, ("face",), cfg, quiet=True)
        meta.write_bytes(saved_meta)
        stage.checkpoint.write_bytes(saved_ckpt[:200])
        with pytest.raises(HarnessError, match=rf"{stage.checkpoint.name}: damaged"):
            load_face_model(cfg.face.backbone, stage.checkpoint, "cpu")
    finally:
        meta.write_bytes(saved_meta)
        stage.checkpoint.write_bytes(saved_ckpt)
