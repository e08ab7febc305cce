"""benchmarks/gpu/check.sh on the CPU at tiny sizes: every step runs and writes its figures,
so the script cannot rot between the rare runs on a GPU machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "gpu" / "check.sh"


def test_gpu_check_cpu_path_writes_every_figure(tmp_path):
    out = tmp_path / "figures"
    env = dict(os.environ, PYTHON=sys.executable, CHECK_BASELINES="only_video",
               CHECK_WORK=str(tmp_path / "work"), OMP_NUM_THREADS="1")
    done = subprocess.run(["bash", str(SCRIPT), "--device", "cpu", str(out)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    log = (out / "progress.log").read_text()
    ends = [line for line in log.splitlines() if " end " in line]
    assert ends and all(line.endswith("rc=0") for line in ends), log
    assert "install" not in log  # everything was importable: nothing installed
    bench = json.loads((out / "bench-only_video.json").read_text())
    assert {r["mode"] for r in bench["rows"]} == {"infer", "train"}
    face = json.loads((out / "bench-face.json").read_text())
    assert face["data_path_rows"] and face["backbone_rows"]
    for name in ("dense_sequence", "attention_fusion"):
        info = json.loads((out / f"run-{name}.json").read_text())
        assert "predict test" in [s["stage"] for s in info["stages"]]
    assert json.loads((out / "torchrun.json").read_text())["ranks"] == 1
    assert json.loads((out / "device.json").read_text())["cuda"] in (True, False)
