"""Hand-written VA / AU releases in tmp dirs, laid out like any edition's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.tasks import Task, get_task


def write_values(path: Path, task: Task, values, newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(task.annotation_text(np.asarray(values), crlf=newline == "\r\n").encode())
    return path


def write_task_template(path: Path, task: Task, n_frames: dict[str, int], values: str = ""
                        ) -> Path:
    """``values``: what follows the image location (ABAW5 nothing, ABAW6 placeholders)."""
    rows = [task.template_header]
    for name, n in n_frames.items():
        rows += [f"{name}/{k:05d}.jpg,{values}" for k in range(1, n + 1)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


def random_values(task: Task, n: int, rng: np.random.Generator) -> np.ndarray:
    """Valid values of the task's shape, with a short invalid run."""
    if task.output_size == 2:
        out = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    else:
        out = (rng.random((n, task.output_size)) < 0.3).astype(np.int8)
    out[n // 3: n // 3 + 2] = task.invalid
    return out


def make_task_release(root: Path, task: str | Task, *, folder: Path | None = None,
                      train: dict | None = None, val: dict | None = None,
                      test: dict | None = None, template_dir: str = "",
                      template_values: str = "") -> Path:
    """A release holding one task's annotations at ``folder`` (default: its ABAW5 folder)."""
    task = get_task(task)
    rng = np.random.default_rng(0)
    if folder is None:
        folder = next(f for f in task.annotation_folders if f.edition == "ABAW5").path
    train = train if train is not None else {
        f"vid{i}": random_values(task, 30 + i, rng) for i in range(6)
    } | {"pair_left": random_values(task, 20, rng), "pair_right": random_values(task, 20, rng)}
    val = val if val is not None else {f"val{i}-1": random_values(task, 25, rng)
                                       for i in range(3)}
    test = test if test is not None else {"t1": 12, "t2_left": 7}
    for split, values in (("Train_Set", train), ("Validation_Set", val)):
        for name, v in values.items():
            write_values(root / folder / split / f"{name}.txt", task, v)
    lists = root / "names_of_videos_in_each_test_set"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / task.test_lists[0]).write_text("\n".join(test) + "\n")
    write_task_template(root / template_dir / task.template_names[0], task, test,
                        template_values)
    return root


@pytest.fixture
def task_release(tmp_path):
    """``task_release("va", ...)``: a fresh release under tmp_path for one task."""
    count = iter(range(1000))

    def make(task: str, **kwargs) -> Path:
        return make_task_release(tmp_path / f"release{next(count)}", task, **kwargs)

    return make
