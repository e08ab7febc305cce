"""MTL through training: the release as per-video sequences, the masked multi-task loss, the
three-head outputs, run files, and runs end to end through the command line.

One tiny corpus (8 videos of 6 s, seed 3) with its s-Aff-Wild2 part serves every test.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from baselines import get_baseline
from harness.data.mtl import load_mtl_release, read_mtl_test_list
from harness.data.release import load_release
from harness.data.splits import official_split
from harness.errors import HarnessError, ReleaseFormatError
from harness.features.chunks import build_chunks, chunk
from harness.losses import au_bce_loss, au_pos_weight, ccc_loss, task_loss
from harness.metrics.mtl import mtl_scores
from harness.records import RunFolder
from harness.runs import RunConfig
from harness.tasks import get_task
from harness.tasks.mtl import NO_LABEL
from harness.train import class_weights, validation_figure
from tests.conftest import harness

COMMON = ("--epochs", 2, "--face-epochs", 2, "--batch-size", 16, "--threads", 1, "--quiet")
MTL = get_task("mtl")


@pytest.fixture(scope="module")
def release(corpus):
    return load_release(corpus, task="mtl")


# ----------------------------------------------------------------------- sequences

def test_each_video_holds_its_rows_at_their_frames_and_nothing_between(corpus, release):
    rows = load_mtl_release(corpus)
    for part, labels in (("train", rows.train), ("val", rows.val)):
        arrays = getattr(release, part)
        assert set(arrays) == set(labels.videos)
        table = labels.rows()
        for video in arrays:
            mine = labels.videos == video
            frames = labels.frames[mine].astype(int)
            got = arrays[video]
            assert len(got) == frames.max()
            assert np.array_equal(got[frames - 1], table[mine])
            between = np.setdiff1d(np.arange(1, len(got) + 1), frames)
            assert (got[between - 1] == NO_LABEL).all()  # VA -5, never a valid -1
            assert not MTL.valid(got[between - 1]).any()


def test_faces_are_the_listed_images_only(corpus, release):
    """The embedded corpus's MTL rows point into a folder of every frame: the frames between
    them are not s-Aff-Wild2 images and must not reach MTL features."""
    rows = load_mtl_release(corpus)
    video = rows.train.videos[0]
    listed = np.sort(rows.train.frames[rows.train.videos == video].astype(int))
    assert np.array_equal(release.faces.frames(video), listed)
    on_disk = len(list((corpus / "cropped_aligned" / video).glob("*.jpg")))
    assert on_disk > listed.size
    test = read_mtl_test_list(rows.layout.test_list)
    tpl = release.template
    assert tpl.names == tuple(dict.fromkeys(test.videos.tolist()))
    videos, frames = tpl.rows()
    assert len(videos) == test.n_rows and frames.max() <= max(tpl.n_frames.values())
    first = tpl.names[0]
    assert release.faces.path(first, int(frames[0])).parts[-4:-2] == ("test_data",
                                                                       "cropped_aligned")
    assert release.n_frames(first) == frames[videos == first].max()


def test_official_split_is_the_two_files_and_chunks_pad_with_no_label(release):
    split = official_split(release)
    assert set(split.train) == set(release.train) and set(split.val) == set(release.val)
    cs = build_chunks(release, split.val, {}, chunk(64))
    owner, start = cs.eval_chunks()
    targets = cs.targets(owner, start)
    _, inside = cs.positions(owner, start)
    assert (targets[~inside] == NO_LABEL).all()
    assert not cs.target_mask(targets)[~inside].any()


def test_mtl_runs_train_on_every_image_unless_told():
    cfg = RunConfig(baseline="attention_fusion", task="mtl")
    assert cfg.train.frame_stride == 1 and cfg.features.face.frame_stride == 1
    assert RunConfig(baseline="attention_fusion").train.frame_stride == 5  # EXPR as before
    from harness.api.extract import ExtractConfig  # the same stage-1 model as harness run's

    assert ExtractConfig(task="mtl").features.face.identity() == cfg.features.face.identity()
    from harness.fusion_stage import TrainConfig

    kept = RunConfig(baseline="attention_fusion", task="mtl", train=TrainConfig(frame_stride=3))
    assert kept.train.frame_stride == 3
    assert RunConfig(baseline="only_video", task="mtl",
                     train=TrainConfig(va_loss="mse")).train.va_loss == "mse"  # the VA term


# ----------------------------------------------------------------------- loss and heads

def _batch(rng, n=64):
    t = np.empty((n, 15), np.float32)
    t[:, 0:2] = rng.uniform(-1, 1, (n, 2))
    t[:, 2] = rng.integers(0, 8, n)
    t[:, 3:] = rng.random((n, 12)) < 0.3
    t[rng.random(n) < 0.3, 0:2] = -5
    t[rng.random(n) < 0.4, 2] = -1
    t[rng.random(n) < 0.3, 3:] = -1
    out = torch.randn(n, 22, requires_grad=True)
    return t, out


def test_loss_is_the_three_terms_each_over_its_own_labels():
    rng = np.random.default_rng(0)
    t, out = _batch(rng)
    train = _batch(np.random.default_rng(1), 200)[0]
    loss = task_loss("mtl", train)(out, torch.from_numpy(t))
    va_ok, ex_ok, au_ok = t[:, 0] > -5, t[:, 2] >= 0, t[:, 3] >= 0
    tt = torch.from_numpy(t)
    ccc = ccc_loss(out[va_ok][:, 0:2], tt[va_ok][:, 0:2])
    weight = class_weights(train[train[:, 2] >= 0, 2].astype(int))
    per = F.cross_entropy(out[ex_ok][:, 2:10], tt[ex_ok][:, 2].long(), reduction="none")
    w = weight[tt[ex_ok][:, 2].long()]
    ce = (per * w).sum() / w.sum()
    pos = au_pos_weight(train[train[:, 3] >= 0, 3:].astype(int))
    bce = au_bce_loss(out[au_ok][:, 10:], tt[au_ok][:, 3:], pos)
    assert loss.item() == pytest.approx((ccc + ce + bce).item(), rel=1e-5)
    loss.backward()
    assert (out.grad[~va_ok][:, 0:2] == 0).all()  # a missing task gets no gradient
    assert (out.grad[~ex_ok][:, 2:10] == 0).all() and (out.grad[~au_ok][:, 10:] == 0).all()
    assert (out.grad[va_ok][:, 0:2] != 0).any() and (out.grad[ex_ok][:, 2:10] != 0).any()


def test_a_batch_without_a_task_still_trains_the_others():
    rng = np.random.default_rng(2)
    t, out = _batch(rng, 16)
    t[:, 2] = -1  # no expression in the whole batch
    loss = task_loss("mtl", _batch(rng, 100)[0])(out, torch.from_numpy(t))
    assert torch.isfinite(loss)
    loss.backward()
    assert (out.grad[:, 2:10] == 0).all() and (out.grad[:, 0:2] != 0).any()


def test_head_activation_decisions_and_figure():
    model = get_baseline("only_video").for_task({"face": 8}, "mtl").eval()
    batch = {"face": torch.randn(5, 12, 8) * 50, "mask": torch.ones(5, 12, dtype=torch.bool),
             "face_mask": torch.ones(5, 12, dtype=torch.bool)}
    out = model(batch)
    assert out.shape == (5, 22) and out[:, :2].abs().max() <= 1.0
    z = torch.randn(5, 22) * 5
    a = MTL.activate(z)  # tanh on VA; the EXPR and AU logits stay logits
    assert torch.equal(a[:, :2], z[:, :2].tanh()) and torch.equal(a[:, 2:], z[:, 2:])
    rng = np.random.default_rng(3)
    t, raw = _batch(rng, 40)
    outputs = raw.detach().numpy()
    dec = MTL.decisions(outputs)
    assert np.array_equal(dec[:, 2], outputs[:, 2:10].argmax(1))
    assert np.array_equal(dec[:, 3:], (outputs[:, 10:] >= 0).astype(np.float32))
    want = mtl_scores(t[:, 0:2], dec[:, 0:2], t[:, 2].astype(int), dec[:, 2].astype(int),
                      t[:, 3:].astype(int), dec[:, 3:].astype(int)).p_mtl
    assert validation_figure(MTL, t, outputs) == pytest.approx(want)


def test_run_files_round_trip_and_name_a_bad_line(tmp_path):
    rng = np.random.default_rng(4)
    rows = MTL.decisions(_batch(rng, 30)[1].detach().numpy())
    rows[:3] = NO_LABEL
    path = tmp_path / "v.txt"
    path.write_text(MTL.annotation_text(rows))
    (back,) = MTL.read_files([path])
    assert np.allclose(back, rows, atol=5e-5) and (back[:3] == NO_LABEL).all()
    lines = path.read_text().splitlines()
    fields = lines[7].split(",")
    fields[2] = "9"  # no such class
    lines[7] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReleaseFormatError, match=r"v\.txt:8: .*a class 0..7"):
        MTL.read_files([path])


def test_stats_and_scores_round_trip():
    rng = np.random.default_rng(5)
    truths, preds = [], []
    for _ in range(3):
        t, out = _batch(rng, 20)
        truths.append(t)
        preds.append(MTL.decisions(out.detach().numpy()))
    stats = MTL.video_stats(truths, preds)
    back = MTL.stats_from_arrays(MTL.stats_arrays(stats))
    assert back.scores() == stats.scores()
    w = rng.random((4, 3))
    assert np.allclose(back.p_mtl(w), stats.p_mtl(w))
    scores = stats.scores()
    assert MTL.scores_from_dict(json.loads(json.dumps(scores.to_dict()))) == scores
    assert list(MTL.figures(scores)) == ["P_VA", "P_EXPR", "P_AU", "P_MTL"]


# ----------------------------------------------------------------------- end to end

def _check(work, release, baseline):
    (run,) = [p for p in (work / "runs").iterdir() if p.name.startswith(baseline)]
    folder = RunFolder(run)
    assert folder.info().task == "mtl" and "val_P_MTL" in (run / "epochs.csv").read_text()
    test = folder.outputs("test")
    assert list(test.names) == list(release.template.names)
    assert test.logits.shape[1] == 22 and np.abs(test.logits[:, :2]).max() <= 1.0
    _, stats = folder.per_video_stats()
    assert stats.scores() == folder.metrics()
    row = json.loads((work / "leaderboard.jsonl").read_text().splitlines()[-1])
    assert row["task"] == "mtl" and set(row["figures"]) == set(MTL.leaderboard_columns)
    return folder


@pytest.fixture(scope="module")
def mtl_work(corpus, release, env, tmp_path_factory):
    """``current_face`` and ``attention_fusion --task mtl`` trained through the command line."""
    work = tmp_path_factory.mktemp("mtl-work")
    proc = harness("run", "current_face", "--task", "mtl", "--data", corpus, "--workdir",
                   work, *COMMON, env=env)
    assert "P_MTL" in proc.stdout and "P_EXPR" in proc.stdout
    harness("run", "attention_fusion", "--task", "mtl", "--data", corpus, "--workdir", work,
            *COMMON, env=env)
    harness("run", "only_video", "--task", "mtl", "--mtl-weighting", "uncertainty", "--data",
            corpus, "--workdir", work, *COMMON, env=env)
    return work


def test_runs_submit_validate_and_leaderboard_end_to_end(corpus, release, mtl_work, env,
                                                         tmp_path):
    _check(mtl_work, release, "current_face")
    folder = _check(mtl_work, release, "attention_fusion")
    assert json.loads((folder.path / "run.json").read_text())["features"].get("audio") is None
    sub = tmp_path / "mtl.txt"
    proc = harness("submit", folder.path.name, "--task", "mtl", "--data", corpus,
                   "--workdir", mtl_work, "--out", sub, env=env)
    assert "validates" in proc.stdout and "Test P_MTL" in proc.stdout
    test = read_mtl_test_list(load_mtl_release(corpus).layout.test_list)
    lines = sub.read_text().splitlines()
    assert lines[0] == "image,valence,arousal,expression,aus" and len(lines) == test.n_rows + 1
    assert [ln.split(",", 1)[0] for ln in lines[1:]] == list(test.images)
    assert all(len(ln.split(",")) == 16 for ln in lines[1:])
    # the file's rows are the run's predictions at the listed images
    per_video = folder.predictions("test")
    video, frame = test.images[5].split("/")
    row = per_video[video][int(frame[:-4]) - 1]
    assert lines[6].split(",")[3:] == [str(int(x)) for x in row[2:]]
    done = harness("validate", "--task", "mtl", "--data", corpus, sub, "--score", env=env)
    assert "valid" in done.stdout and "P_MTL" in done.stdout
    board = harness("leaderboard", "--task", "mtl", "--workdir", mtl_work, env=env).stdout
    for text in ("P_VA", "P_EXPR", "P_AU", "P_MTL", "current_face", "attention_fusion",
                 "95 % bootstrap intervals of P_MTL"):
        assert text in board
    assert "frame_stride" not in board  # every image is MTL's default, not another recipe


def test_post_processing_acts_on_each_head(corpus, mtl_work, env):
    from harness.records import RunFolder

    runs = sorted(p.name for p in (mtl_work / "runs").iterdir())
    fusion = next(r for r in runs if r.startswith("attention_fusion"))
    common = ("--task", "mtl", "--data", corpus, "--workdir", mtl_work)
    out = harness("smooth", fusion, "--method", "gaussian", "--window", 1,
                  "--tune-thresholds", *common, env=env).stdout
    assert "val P_MTL" in out and "test P_MTL" in out and "[val-tuned]" in out
    assert "Thresholds (probability, applied to test): AU1 " in out and "valence" not in out
    derived = RunFolder(mtl_work / "runs" / out.split("Derived run: ")[1].split()[0])
    source = RunFolder(mtl_work / "runs" / fusion)
    before, after = source.outputs("val").logits, derived.outputs("val").logits
    thr = json.loads((derived.path / "run.json").read_text())
    assert before.shape == after.shape == (before.shape[0], 22)
    assert "thresholds" in json.dumps(thr)
    out = harness("smooth", fusion, "--tune-bias", *common, env=env).stdout
    assert "Class offsets (log-probability): N " in out
    out = harness("ensemble", *runs[:2], *common, env=env).stdout
    assert "ensemble(" in out and "test P_MTL" in out


def test_learned_task_weights_train_with_the_model_and_leave_it_as_it_was(mtl_work, release):
    (run,) = [p for p in (mtl_work / "runs").iterdir() if p.name.startswith("only_video")]
    head = (run / "epochs.csv").read_text().splitlines()
    assert head[0].endswith("weight_va,weight_expr,weight_au") and len(head) == 3
    weights = [float(x) for x in head[-1].split(",")[-3:]]
    assert all(0 < w < 5 for w in weights) and weights != [0.5, 0.5, 0.5]  # they moved
    saved = torch.load(run / "checkpoint.pt", weights_only=True)
    fresh = get_baseline("only_video").for_task({"face": 32}, "mtl").state_dict()
    assert set(saved) == set(fresh)  # the baseline's own state dict, no weighting keys
    rows = [json.loads(x) for x in (mtl_work / "leaderboard.jsonl").read_text().splitlines()]
    (row,) = [r for r in rows if r["baseline"] == "only_video"]
    assert "mtl_weighting uncertainty" in json.dumps(row)  # another recipe, said


def test_uncertainty_weighting_is_kendalls_sum():
    from harness.losses import UncertaintyWeights

    w = UncertaintyWeights()
    with torch.no_grad():
        w.log_vars.copy_(torch.tensor([0.0, 1.0, -1.0]))
    terms = torch.tensor([0.4, 2.0, 0.3])
    want = sum(0.5 * np.exp(-s) * x + 0.5 * s for s, x in zip((0.0, 1.0, -1.0), terms.tolist()))
    assert w(terms).item() == pytest.approx(want)
    with pytest.raises(HarnessError, match="--mtl-weighting applies"):
        from harness.fusion_stage import TrainConfig

        RunConfig(baseline="only_video", task="va", train=TrainConfig(mtl_weighting="uncertainty"))


def test_store_rows_take_p_mtl_up_to_three():
    from harness.records import Result

    def row(p_mtl):
        return Result(run_id="r", baseline="b", split="official", dataset="d",
                      data_fingerprint="f", task="mtl",
                      figures={"P_VA": 0.6, "P_EXPR": 0.5, "P_AU": 0.7, "P_MTL": p_mtl})

    assert row(1.8).score == pytest.approx(1.8)
    with pytest.raises(ValueError, match=r"P_MTL must be a finite number in \[-1, 3\]"):
        row(3.2)


def test_a_baseline_that_needs_audio_is_refused_before_any_work(corpus, env, tmp_path):
    proc = harness("run", "dense_sequence", "--task", "mtl", "--data", corpus, "--workdir",
                   tmp_path, *COMMON, env=env, check=False)
    assert proc.returncode == 2 and "has face only" in proc.stderr
    assert not (tmp_path / "runs").exists()
    with pytest.raises(HarnessError, match="do not apply"):
        load_release(corpus, task="mtl", pose_dir=tmp_path)


def test_face_from_a_task_that_trained_on_mtl_validation_or_test_videos_is_refused(
        corpus, release, env, tmp_path):
    """s-Aff-Wild2's images are frames of Aff-Wild2 videos: a uni-task stage-1 model trained
    on a video that is an MTL validation or test video would leak its labels."""
    from harness.data.splits import SPLIT_NAMES, get_split
    from harness.features.face.transfer import leaked_names

    expr = load_release(corpus, task="expr")
    assert leaked_names(release, official_split(release), official_split(expr)) == []
    split, leaked = next((s, leaked) for s in SPLIT_NAMES
                         if (leaked := leaked_names(release, get_split(release, s),
                                                    get_split(expr, s))))
    proc = harness("run", "only_video", "--task", "mtl", "--face-from", "expr", "--split",
                   split, "--data", corpus, "--workdir", tmp_path, *COMMON, env=env,
                   check=False)
    assert proc.returncode == 2 and all(n in proc.stderr for n in leaked)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
