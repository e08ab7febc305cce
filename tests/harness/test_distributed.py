"""Several processes, one result: the collectives on 2 gloo processes, and torchrun end to end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from harness import distributed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _collectives(rank: int, port: int, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank),
                      LOCAL_WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    distributed.setup("cpu")
    items = np.arange(7)
    mine = distributed.local_part(items)
    got = {
        "rank": distributed.rank(), "main": distributed.is_main(), "mine": mine.tolist(),
        "offset": distributed.part_offset(7), "shard": distributed.shard(),
        "gathered": distributed.gather(mine * 10, 7).tolist(),
        "gathered_2d": distributed.gather(np.stack([mine, -mine], 1).astype(np.float32),
                                          7).tolist(),
        "sum": distributed.all_sum([1.5, float(rank)]),
        "sum_tensor": distributed.all_sum_tensor(torch.tensor([[1.0, rank], [0.0, 2.0]])).tolist(),
        "broadcast": distributed.broadcast({"from": rank}),
    }
    order = os.path.join(out, "order.txt")
    with distributed.rank_zero_first():
        with open(order, "a") as fh:
            fh.write(f"{rank}\n")
    with open(os.path.join(out, f"{rank}.json"), "w") as fh:
        json.dump(got, fh)


def test_collectives_on_two_gloo_processes(tmp_path):
    mp.start_processes(_collectives, args=(_free_port(), str(tmp_path)), nprocs=2,
                       start_method="fork")
    r0, r1 = (json.loads((tmp_path / f"{r}.json").read_text()) for r in (0, 1))
    assert (r0["rank"], r0["main"], r1["rank"], r1["main"]) == (0, True, 1, False)
    assert r0["mine"] == [0, 1, 2, 3] and r1["mine"] == [4, 5, 6]
    assert (r0["offset"], r1["offset"]) == (0, 4)
    assert (r0["shard"], r1["shard"]) == ([1, 2], [2, 2])
    for r in (r0, r1):  # every rank gets every part, in order
        assert r["gathered"] == [0, 10, 20, 30, 40, 50, 60]
        assert r["gathered_2d"] == [[k, -k] for k in range(7)]
        assert r["sum"] == [3.0, 1.0]
        assert r["sum_tensor"] == [[2.0, 1.0], [0.0, 4.0]]
        assert r["broadcast"] == {"from": 0}
    assert (tmp_path / "order.txt").read_text() == "0\n1\n"  # rank 0 first


def test_single_process_is_the_identity():
    items = np.arange(5)
    assert distributed.local_part(items) is items
    assert distributed.gather(items, 5) is items
    assert distributed.all_sum([2.0, 3]) == [2.0, 3]
    t = torch.ones(2)
    assert distributed.all_sum_tensor(t) is t
    assert distributed.broadcast("x") == "x" and distributed.shard() is None
    assert distributed.is_main() and distributed.world_size() == 1


def _torchrun(home, work, corpus) -> dict:
    env = dict(os.environ, ABAW_HARNESS_HOME=str(home), OMP_NUM_THREADS="1", COLUMNS="200")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(_free_port()), "-m", "harness", "run", "only_video",
           "--data", str(corpus), "--workdir", str(work), "--face-epochs", "1", "--epochs", "2",
           "--batch-size", "32", "--workers", "1", "--face-oof", "2", "--quiet"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("only_video on official") == 1  # rank 0 alone reports
    (run,) = (work / "runs").iterdir()  # one run folder
    rows = (work / "leaderboard.jsonl").read_text().splitlines()
    assert len(rows) == 1  # one leaderboard row
    info = json.loads((run / "run.json").read_text())
    assert info["ranks"] == 2
    return json.loads((run / "metrics.json").read_text())


@pytest.mark.slow
def test_torchrun_two_processes_one_run_same_result(tmp_path, synth_root):
    """Stage 1 (cross-fitted: every rank trains each fold model) and fusion with DDP over gloo,
    extraction sharded: one run folder, one row, and the same seed gives the same metrics for
    the same number of processes."""
    first = _torchrun(tmp_path / "home-a", tmp_path / "work-a", synth_root)
    again = _torchrun(tmp_path / "home-b", tmp_path / "work-b", synth_root)
    assert first == again
    models = sorted(p.name for p in (tmp_path / "home-a").rglob("face_models/*.pt"))
    assert len(models) == 3 and sum("-oof" in m for m in models) == 2, models  # full + 2 folds
