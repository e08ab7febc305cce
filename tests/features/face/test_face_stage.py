"""Stage 1: a last batch of one image must not crash the BatchNorm head; EmoNet from scratch
warns that it is not the paper's system."""

import warnings

import pytest
import torch

from harness.data.release import load_release
from harness.data.splits import official_split
from harness.features.face.config import FaceConfig
from harness.features.face.model import build_face_model
from harness.features.face.stage import FaceFrameStage, _optimizer, warn_if_not_paper
from harness.train import fit
from tests.conftest import make_release


def test_an_epoch_of_one_image_more_than_full_batches_trains(tmp_path):
    """9 training images, batches of 4: the DataLoader's last batch would hold one image."""
    root = make_release(tmp_path / "r", train={"a": [0, 1, 2, 3, 4], "b": [5, 6, 7, 0, 1]},
                        val={"v": [0, 1, 2, 3]}, test={"t": 2},
                        faces={"a": [1, 2, 3, 4, 5], "b": [1, 2, 3, 4], "v": [1, 2, 3, 4]})
    release = load_release(root)
    cfg = FaceConfig(batch_size=4, frame_stride=1, max_epochs=2, device="cpu")
    torch.manual_seed(0)
    model = build_face_model("light")
    stage = FaceFrameStage(release, official_split(release), cfg, model, torch.device("cpu"))
    assert stage.train[0].size == 9 and 9 % cfg.batch_size == 1
    result = fit(model, _optimizer(model, cfg), stage, cfg.schedule(),
                 device=torch.device("cpu"), quiet=True)
    assert [h["epoch"] for h in result.history] == [1, 2]


def test_emonet_without_weights_warns_it_is_not_the_paper():
    with pytest.warns(UserWarning, match="from scratch.*not the paper's system"):
        warn_if_not_paper(FaceConfig(backbone="emonet"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_not_paper(FaceConfig(backbone="emonet", weights="emonet_8.pth"))
        warn_if_not_paper(FaceConfig(backbone="light"))


def test_stage_model_trained_on_other_faces_is_trained_again(tmp_path):
    """A stage-1 model records the faces it learnt from; other faces now: warned, retrained
    (its killed fine-tune's state, made on the old faces, is not resumed either)."""
    import json

    from harness.features.face.stage import _load_stage

    key = "light-official-0123456789"
    (tmp_path / f"{key}.pt").write_bytes(b"model")
    meta = {"best_epoch": 1, "best_val_f1": 0.5, "history": [],
            "inputs": ["old", "10 face images of 2 name(s), 0.1 MB"]}
    (tmp_path / f"{key}.json").write_text(json.dumps(meta))
    assert _load_stage(tmp_path, key, ("old", "same")).best_epoch == 1
    (tmp_path / f"{key}.state.pt").write_bytes(b"state")
    with pytest.warns(UserWarning, match=r"faces changed .*10 face images of 2 name\(s\), "
                                         r"0\.1 MB -> 12 face images"):
        assert _load_stage(tmp_path, key, ("new", "12 face images of 2 name(s)")) is None
    assert not (tmp_path / f"{key}.state.pt").exists()
    assert not (tmp_path / f"{key}.json").exists()
