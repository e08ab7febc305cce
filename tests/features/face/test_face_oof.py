"""Cross-fitted stage-1 features: groups by recording, each training name's features from the
face model that did not see it, validation and test features shared with in-sample runs."""

import numpy as np
import pytest

from harness.data.release import load_release
from harness.data.splits import get_split
from harness.data.videos import recording_of
from harness.device import cpu_threads
from harness.errors import HarnessError
from harness.features.cache import FeatureCache
from harness.features.extract import FeatureConfig, extract_all
from harness.features.face.config import FaceConfig
from harness.features.face.features import extract_face_features
from harness.features.face.oof import (
    CrossFitCache,
    face_fit,
    oof_group_count,
    oof_groups,
    oof_splits,
)
from harness.features.face.stage import finetune_face
from tests.conftest import make_release


def test_groups_keep_recordings_whole_and_are_balanced(tmp_path):
    rng = np.random.default_rng(0)
    names = ["28-30-1280x720-1", "28-30-1280x720-3", "28-30-1280x720-4", "video2",
             "video2_left", *(f"{i}-30-640x360" for i in range(10)), "134"]
    rel = load_release(make_release(tmp_path, train={n: rng.integers(0, 8, 40) for n in names},
                                    val={"v": [0, 1]}))
    groups = oof_groups(rel, tuple(sorted(rel.train)), 3)
    assert sorted(n for g in groups for n in g) == sorted(names)
    for g in groups:
        others = {n for h in groups if h is not g for n in h}
        assert not {recording_of(n) for n in g} & {recording_of(n) for n in others}
    frames = [sum(40 for _ in g) for g in groups]
    assert max(frames) - min(frames) <= 3 * 40  # the 3-segment recording is the largest unit
    assert oof_groups(rel, tuple(sorted(rel.train)), 3) == groups  # no randomness
    with pytest.raises(HarnessError, match="K >= 2"):
        oof_groups(rel, tuple(rel.train), 1)
    with pytest.raises(HarnessError, match="fewer than 20 groups"):
        oof_groups(rel, tuple(rel.train), 20)
    assert face_fit(0) == "in-sample" and face_fit(5) == "oof5"


def test_fewer_recordings_than_groups_cross_fit_over_what_there_is():
    train = ("a-30-640x360-1", "a-30-640x360-2", "b", "c_left", "c_right")  # 3 recordings
    with pytest.warns(UserWarning, match="only 3 recordings; cross-fitting over 3 groups"):
        assert oof_group_count(train, 5) == 3
    assert oof_group_count(train, 2) == 2
    with pytest.raises(HarnessError, match="at least 2 training recordings.*--face-oof 0"):
        oof_group_count(("x_left", "x_right"), 5)


@pytest.fixture(scope="module")
def both_kinds(synth_release):
    face = FaceConfig(max_epochs=2, batch_size=64)
    split = get_split(synth_release, "official")
    inside, _ = extract_all(synth_release, split, ("face",),
                            FeatureConfig(face=face, device="cpu", face_oof=0), quiet=True)
    crossed, stage = extract_all(synth_release, split, ("face",),
                                 FeatureConfig(face=face, device="cpu", face_oof=2), quiet=True)
    return split, inside["face"], crossed["face"], stage


def test_training_features_come_from_the_model_that_did_not_see_them(synth_release, both_kinds,
                                                                     tmp_path):
    split, inside, crossed, stage = both_kinds
    assert isinstance(crossed, CrossFitCache) and crossed.oof.dir != inside.dir
    cfg = FaceConfig(max_epochs=2, batch_size=64, device="cpu")
    models = inside.dir.parent / "face_models"
    for fold, group in oof_splits(synth_release, split, 2):
        assert not set(group) & set(fold.train)
        fold_stage = finetune_face(synth_release, fold, cfg, models, show_progress=False)
        assert fold_stage.key != stage.key
        name = group[0]
        direct = FeatureCache(tmp_path, "face-light", {"fold": fold.name})
        with cpu_threads(FeatureConfig().feature_threads):  # as extract_all makes features
            extract_face_features(synth_release, [name], fold_stage, cfg, direct,
                                  show_progress=False)
        assert np.array_equal(crossed.load(name).feat, direct.load(name).feat)
        assert not np.array_equal(crossed.load(name).feat, inside.load(name).feat)


def test_validation_and_test_features_are_the_in_sample_ones(synth_release, both_kinds):
    split, inside, crossed, _ = both_kinds
    others = [*split.val, *synth_release.template.names]
    for name in others:
        assert np.array_equal(crossed.load(name).feat, inside.load(name).feat)
    assert not any((crossed.oof.dir / n).exists() for n in others)  # stored once
