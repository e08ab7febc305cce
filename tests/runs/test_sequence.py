"""The sequence contract: chunks of consecutive frames in, logits for every frame out.

Chunks here are short (8-16 frames) so that every test video spans at least three of them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from baselines import chunk, create_baseline, get_baseline
from harness.features.cache import Packed
from harness.features.chunks import ChunkSet, ChunkSpec
from harness.features.windows import SourceTable, eval_batch_items
from harness.fusion_stage import SequenceStage, TrainConfig, predict_chunk_logits, train_baseline
from harness.records import FrameOutputs
from harness.train import TrainState


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models: a second OpenMP thread only adds waits on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


LENGTHS = (40, 57, 33, 64)  # >= 3 chunks of 8 or 11 frames each
DIMS = {"face": 12, "audio": 6, "pose": 4}


def _chunks(spec: ChunkSpec, lengths=LENGTHS, seed: int = 0, invalid: float = 0.2) -> ChunkSet:
    """Videos whose face feature shows the class; audio and pose at 2 rows a second (timed)."""
    rng = np.random.default_rng(seed)
    n = np.asarray(lengths, np.int64)
    labels = rng.integers(0, 8, n.sum())
    labels[rng.random(n.sum()) < invalid] = -1
    face = rng.normal(size=(n.sum(), DIMS["face"])).astype(np.float32)
    face[np.arange(n.sum()), np.maximum(labels, 0)] += 3.0
    starts = np.concatenate(([0], np.cumsum(n)))
    keys = tuple(f"v{i}" for i in range(n.size))
    flag = rng.random(n.sum()) < 0.1  # some faces copied from a neighbour
    tables = {"face": SourceTable(Packed(keys, starts, face, np.zeros(n.sum()), flag),
                                  np.arange(n.size), True, None)}
    for m in ("audio", "pose"):
        rows = [np.arange(0, k / 30.0, 0.5) for k in n]
        t_starts = np.concatenate(([0], np.cumsum([r.size for r in rows])))
        times = np.concatenate(rows)
        feat = rng.normal(size=(times.size, DIMS[m])).astype(np.float32)
        owner = np.repeat(np.arange(n.size), [r.size for r in rows])
        tables[m] = SourceTable(Packed(keys, t_starts, feat, times, np.zeros(times.size, bool)),
                                np.arange(n.size), False, times + owner * float(2**20))
    return ChunkSet(list(keys), n, np.full(n.size, 30.0), labels.astype(np.int8), tables, spec)


@pytest.mark.parametrize("spec", [chunk(8), chunk(12, stride=4), chunk(8, overlap="mean"),
                                  chunk(12, stride=4, overlap="mean"), chunk(11)])
def test_every_frame_predicted_exactly_once_whatever_the_grid(spec):
    cs = _chunks(spec)
    for shift in range(spec.eval_stride + 1):
        owner, start = cs.eval_chunks(shift)
        assert np.all(np.bincount(owner) >= 3)  # each video spans three chunks or more
        total, count = torch.zeros(len(cs), 1), torch.zeros(len(cs))
        cs.combine(owner, start, torch.ones(owner.size, spec.frames, 1), total, count)
        each = 1 if spec.overlap == "centre" else spec.frames // spec.eval_stride
        assert torch.all(count == each), (shift, count.unique())
    model = create_baseline("dense_sequence", DIMS)
    logits = predict_chunk_logits(model, cs, TrainConfig(chunk_batch_size=3))
    assert logits.shape == (len(cs), 8) and np.isfinite(logits).all()
    # the run folder's writer takes them as it takes a window set's: every frame, once
    out = FrameOutputs.from_frames(cs.names, cs.name_idx, cs.frames, logits,
                                   np.zeros(len(cs), bool))
    assert out.offsets[-1] == sum(LENGTHS)


def test_prediction_takes_chunks_inside_a_video_first_and_bounds_its_batches(monkeypatch):
    cs = _chunks(chunk(12, stride=8))
    owner, start = cs.eval_chunks(3)
    order = cs.eval_order(owner, start)
    assert np.array_equal(np.sort(order), np.arange(owner.size))  # a permutation
    edge = (start < 0) | (start + 12 > cs.n_frames[owner])
    assert edge.any() and not edge.all()
    k = int((~edge).sum())
    assert not edge[order[:k]].any() and edge[order[k:]].all()
    assert np.all(np.diff(order[:k]) > 0)  # grid order within each group
    torch.manual_seed(0)
    model, cfg = create_baseline("dense_sequence", DIMS), TrainConfig(chunk_batch_size=4)
    ref = predict_chunk_logits(model, cs, cfg, shift=3)
    # batches bounded by bytes: 2 chunks of 12 frames x 22 features, then 1 chunk a batch
    per_chunk = 12 * (4 * sum(DIMS.values()) + len(DIMS) + 1)
    assert eval_batch_items(16, 12, DIMS, budget=2 * per_chunk) == 2
    assert eval_batch_items(16, 12, DIMS, budget=1) == 1  # at least one
    assert eval_batch_items(16, 12, DIMS, budget=1 << 30) == 16
    monkeypatch.setattr("harness.features.windows.EVAL_BATCH_BYTES", 2 * per_chunk)
    assert cs.eval_batch(16) == 2
    np.testing.assert_allclose(predict_chunk_logits(model, cs, cfg, shift=3), ref, atol=1e-5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _predict_on_rank(rank: int, port: int, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank),
                      LOCAL_WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from harness import distributed

    torch.set_num_threads(1)
    distributed.setup("cpu")
    torch.manual_seed(0)
    model = create_baseline("dense_sequence", DIMS)
    cfg = TrainConfig(chunk_batch_size=1)
    for name, spec, lengths in (("grid", chunk(12, stride=8), LENGTHS),
                                ("mean", chunk(8, overlap="mean"), LENGTHS),
                                ("one", chunk(12, stride=8), (5,))):  # one chunk: rank 1 idle
        np.save(os.path.join(out, f"{name}-{rank}.npy"),
                predict_chunk_logits(model, _chunks(spec, lengths), cfg))


def test_sequence_prediction_is_shared_out_over_ranks(tmp_path):
    """Two gloo processes each predict their part of the chunks; both get every frame's
    logits, equal to one process's (also when one rank has no chunk)."""
    mp.start_processes(_predict_on_rank, args=(_free_port(), str(tmp_path)), nprocs=2,
                       start_method="fork")
    torch.manual_seed(0)
    model = create_baseline("dense_sequence", DIMS)
    cfg = TrainConfig(chunk_batch_size=1)
    for name, spec, lengths in (("grid", chunk(12, stride=8), LENGTHS),
                                ("mean", chunk(8, overlap="mean"), LENGTHS),
                                ("one", chunk(12, stride=8), (5,))):
        ref = predict_chunk_logits(model, _chunks(spec, lengths), cfg)
        for rank in (0, 1):
            got = np.load(tmp_path / f"{name}-{rank}.npy")
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5, err_msg=f"{name} {rank}")


def test_a_batch_without_padding_attends_unmasked_with_the_same_loss_and_gradients():
    """No padded step: the encoder gets no key mask (faster kernels) and trains exactly as with
    an all-False one (same dropout draws, same loss and gradients)."""
    gen = torch.Generator().manual_seed(0)
    batch = {"mask": torch.ones(3, 20, dtype=torch.bool)}
    for m, d in DIMS.items():
        batch[m] = torch.randn(3, 20, d, generator=gen)
        batch[f"{m}_mask"] = torch.rand(3, 20, generator=gen) > 0.2
    targets = torch.randint(8, (60,), generator=gen)
    seen = []

    def run(force_mask: bool):
        torch.manual_seed(0)
        model = create_baseline("dense_sequence", DIMS).train()
        forward = model.encoder.forward

        def encoder(h, src_key_padding_mask=None):
            seen.append(src_key_padding_mask)
            if force_mask:
                src_key_padding_mask = torch.zeros(h.shape[:2], dtype=torch.bool)
            return forward(h, src_key_padding_mask=src_key_padding_mask)

        model.encoder.forward = encoder
        torch.manual_seed(1)
        loss = nn.functional.cross_entropy(model(batch).reshape(-1, 8), targets)
        loss.backward()
        return loss.detach(), [p.grad for p in model.parameters()]

    (a, grads_a), (b, grads_b) = run(True), run(False)
    assert seen == [None, None]
    assert torch.equal(a, b)
    assert all(torch.equal(x, y) for x, y in zip(grads_a, grads_b))
    batch["mask"][0, :3] = False  # frames outside the video: the key mask is back
    run(False)
    assert seen[-1] is not None and bool(seen[-1][0, :3].all()) and not bool(seen[-1][1:].any())


def test_training_chunks_cover_every_labelled_frame_once_at_seeded_random_offsets():
    cs = _chunks(chunk(8))
    labelled = np.flatnonzero(cs.frame_labels >= 0)
    grids = []
    for epoch_seed in (0, 1):
        gen = torch.Generator().manual_seed(epoch_seed)
        owner, start = cs.train_chunks(gen)
        targets = cs.targets(owner, start)
        pos, inside = cs.positions(owner, start)
        flat = (cs.offsets[owner][:, None] + pos)[targets >= 0]
        assert np.array_equal(np.sort(flat), labelled)  # every labelled frame exactly once
        assert np.all(inside[targets >= 0])
        again = cs.train_chunks(torch.Generator().manual_seed(epoch_seed))
        assert all(np.array_equal(a, b) for a, b in zip((owner, start), again))
        grids.append(start[owner == 0] % 8)
    assert not np.array_equal(grids[0], grids[1])  # boundaries move between epochs


class LocalModel(nn.Module):
    """Logits from frames t-1..t+1 only: its receptive field fits in the centre rule's margin."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(DIMS["face"], 8, 3, padding=1)

    def forward(self, batch):
        return self.conv(batch["face"].transpose(1, 2)).transpose(1, 2)


def test_outputs_do_not_depend_on_where_the_grid_starts_beyond_the_overlap_rule():
    cs = _chunks(chunk(12, stride=8))  # margin 2 >= the local model's reach of 1
    torch.manual_seed(0)
    local, cfg = LocalModel(), TrainConfig(chunk_batch_size=4)
    ref = predict_chunk_logits(local, cs, cfg)
    for shift in range(1, 8):
        np.testing.assert_allclose(predict_chunk_logits(local, cs, cfg, shift=shift), ref,
                                   rtol=0, atol=1e-5)
    # a model that attends over the whole chunk: each frame's logits are those of the one chunk
    # that holds it in its centre part (start = k * stride - margin - shift), nothing else
    model = create_baseline("dense_sequence", DIMS).eval()
    spec, shift = cs.spec, 3
    got = predict_chunk_logits(model, cs, cfg, shift=shift)
    for video, frame in ((0, 0), (0, 17), (1, 56), (3, 30), (2, 32)):
        k = (frame + shift) // spec.eval_stride
        start = k * spec.eval_stride - spec.margin - shift
        with torch.no_grad():
            one = model(cs.batch(np.array([video]), np.array([start])))[0, frame - start]
        np.testing.assert_allclose(got[cs.offsets[video] + frame], one.numpy(), atol=1e-5)


def test_invalid_labels_and_padding_never_reach_the_loss():
    cs = _chunks(chunk(16))
    cfg = TrainConfig(chunk_batch_size=4, device="cpu")
    stage = SequenceStage(cs, cs, cfg, torch.device("cpu"))
    _, batches = stage.batches(1, torch.Generator().manual_seed(0))
    inputs, targets, labelled = next(iter(batches))
    assert bool((targets >= 0).all()) and int(labelled.sum()) == targets.numel()
    assert not bool((labelled & ~inputs["mask"]).any())  # no target outside a video
    outside = ~inputs["mask"]
    assert bool(outside.any()) and bool((inputs["mask"] & ~labelled).any())
    logits = torch.randn(*labelled.shape, 8)
    loss = stage.loss(logits, targets, labelled)
    changed = logits.clone()
    changed[~labelled] = 100.0 * torch.randn(int((~labelled).sum()), 8)  # invalid + padding
    assert torch.equal(stage.loss(changed, targets, labelled), loss)
    changed[labelled] += torch.randn(int(labelled.sum()), 8)
    assert not torch.equal(stage.loss(changed, targets, labelled), loss)  # the test can fail
    # the features of frames outside the video never reach any frame's logits
    model = create_baseline("dense_sequence", DIMS).eval()
    other = {k: v.clone() for k, v in inputs.items()}
    for m in DIMS:
        other[m][outside] = 1e3
    with torch.no_grad():
        a, b = model(inputs), model(other)
    assert torch.allclose(a[inputs["mask"]], b[inputs["mask"]], atol=1e-5)
    assert bool((a[outside] == 0).all())


CFG = dict(max_epochs=3, lr=3e-3, device="cpu", early_stop=10, chunk_batch_size=4)


def _fit(**kw):
    torch.manual_seed(123)
    model = create_baseline("dense_sequence", DIMS)
    res = train_baseline(model, _chunks(chunk(16), seed=0), _chunks(chunk(16), seed=1),
                         TrainConfig(**CFG), quiet=True, **kw)
    return model, res


def test_learns_and_resumes_exactly_after_a_kill(tmp_path):
    model, full = _fit()
    assert full.best_val_f1 > 0.4  # the face feature shows the class (chance: 0.125)
    assert [h["epoch"] for h in full.history] == [1, 2, 3]
    assert full.history[0]["frames_per_s"] > 0
    state_file = tmp_path / "last.pt"

    def killed_after_epoch_1(history):
        if history[-1]["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _fit(state_file=state_file, on_epoch=killed_after_epoch_1)
    assert TrainState.load(state_file).epoch == 1
    resumed_model, resumed = _fit(state_file=state_file, resume=True)
    assert [(h["train_loss"], h["val_macro_f1"]) for h in resumed.history] == [
        (h["train_loss"], h["val_macro_f1"]) for h in full.history]
    for k, v in model.state_dict().items():
        assert torch.equal(v, resumed_model.state_dict()[k]), k


def test_registry_declares_the_sequence_form():
    spec = get_baseline("dense_sequence")
    assert spec.sequence == chunk(300) and spec.sequence.margin == 75
    assert get_baseline("dense_temporal").sequence is None
    with pytest.raises(ValueError, match="stride dividing"):
        chunk(300, stride=7, overlap="mean")
    assert chunk(301).eval_stride == 151 and chunk(2).margin == 0


# ------------------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def feature_corpus(tmp_path_factory):
    """The features-only corpus (small), imported as ``harness extract --from`` does."""
    from harness.data.release import load_release
    from harness.data.synth.scale_features import synthesize_features_only
    from harness.features.extract import all_names
    from harness.features.imported import import_features

    root = tmp_path_factory.mktemp("seq_features") / "corpus"
    home = tmp_path_factory.mktemp("seq_home")
    old = os.environ.get("ABAW_HARNESS_HOME")
    os.environ["ABAW_HARNESS_HOME"] = str(home)
    try:
        synthesize_features_only(root, seed=1, real_scale=False, progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            release = load_release(root)
        for m, name in (("face", "face256"), ("audio", "audio1024"), ("pose", "pose36")):
            import_features(release, root / "features" / m, name, names=all_names(release),
                            quiet=True)
    finally:
        if old is None:
            os.environ.pop("ABAW_HARNESS_HOME", None)
        else:
            os.environ["ABAW_HARNESS_HOME"] = old
    return root, home


def _harness(*args: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "harness", *args], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_harness_run_dense_sequence_end_to_end(tmp_path, feature_corpus):
    root, home = feature_corpus
    env = dict(os.environ, ABAW_HARNESS_HOME=str(home), OMP_NUM_THREADS="1", COLUMNS="200")
    work = tmp_path / "work"
    feats = ("--face-features", "face256", "--audio-features", "audio1024",
             "--pose-features", "pose36")
    _harness("run", "dense_sequence", "--data", str(root), "--workdir", str(work), *feats,
             "--epochs", "1", "--chunk-frames", "64", "--threads", "1", "--quiet", env=env)
    (run,) = (work / "runs").iterdir()
    info = json.loads((run / "run.json").read_text())
    assert info["window"] == "chunks of 64 frames, stride 32, centre overlap"
    assert info["baseline"] == "dense_sequence"
    assert json.loads((run / "metrics.json").read_text())["macro_f1"] > 0
    config = json.loads((run / "config.json").read_text())
    assert config["chunk_frames"] == 64
    done = _harness("submit", str(run), "--data", str(root), "--workdir", str(work),
                    "--out", str(tmp_path / "sub.txt"), env=env)
    assert (tmp_path / "sub.txt").is_file(), done.stdout


def test_chunk_frames_is_for_sequence_baselines_only():
    from harness.errors import HarnessError
    from harness.runs import _chunks

    assert _chunks(get_baseline("dense_sequence").sequence, 64) == chunk(64)
    with pytest.raises(HarnessError, match="--chunk-frames applies to sequence baselines"):
        _chunks(get_baseline("dense_temporal").sequence, 64)
    with pytest.raises(HarnessError, match="--chunk-frames: a chunk needs 2 frames"):
        _chunks(get_baseline("dense_sequence").sequence, 1)
