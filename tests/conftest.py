"""Shared fixtures: tiny hand-written releases in tmp dirs, and an isolated harness home."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from harness.data.labels import ANNOTATION_HEADER, TEMPLATE_HEADER

EXPR = Path("5th_ABAW_Annotations") / "EXPR_Classification_Challenge"


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory):
    """Never touch the user's cache: the test session gets its own harness home (set before
    any session- or module-scoped fixture builds caches)."""
    old = os.environ.get("ABAW_HARNESS_HOME")
    os.environ["ABAW_HARNESS_HOME"] = str(tmp_path_factory.getbasetemp() / "harness-home")
    yield
    if old is None:
        os.environ.pop("ABAW_HARNESS_HOME", None)
    else:
        os.environ["ABAW_HARNESS_HOME"] = old


def harness(*args, env=None, check=True) -> subprocess.CompletedProcess:
    """``python -m harness ARGS`` as a user runs it, in its own process."""
    proc = subprocess.run([sys.executable, "-m", "harness", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"harness {' '.join(map(str, args))} exited {proc.returncode}\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def cli_env(tmp_path_factory) -> dict[str, str]:
    """The environment of ``harness`` processes: their own home, wide tables."""
    e = dict(os.environ)
    e["ABAW_HARNESS_HOME"] = str(tmp_path_factory.mktemp("home"))
    e["COLUMNS"] = "200"
    return e


def harness_in_process(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """``harness ARGS`` through the console script's entry point in this process (fast):
    (exit code, stdout, stderr)."""
    from harness.cli import main

    monkeypatch.setattr(sys, "argv", ["harness", *map(str, args)])
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() replaces it
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    got = capsys.readouterr()
    return code, got.out, got.err


def write_labels(path: Path, labels, newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = newline.join([ANNOTATION_HEADER, *map(str, labels)]) + newline
    path.write_bytes(body.encode())
    return path


def write_template(path: Path, n_frames: dict[str, int]) -> Path:
    rows = [TEMPLATE_HEADER]
    for name, n in n_frames.items():
        rows += [f"{name}/{k:05d}.jpg," for k in range(1, n + 1)]
    path.write_text("\n".join(rows) + "\n")
    return path


def make_release(root: Path, *, train: dict | None = None, val: dict | None = None,
                 test: dict | None = None, faces: dict | None = None) -> Path:
    """A minimal ABAW5-shaped release; faces are empty jpg files (the index never opens them)."""
    rng = np.random.default_rng(0)
    train = train if train is not None else {
        f"vid{i}": rng.integers(-1, 8, 40 + i) for i in range(6)
    } | {"pair_left": rng.integers(0, 8, 30), "pair_right": rng.integers(0, 8, 30)}
    val = val if val is not None else {f"val{i}": rng.integers(-1, 8, 25) for i in range(3)}
    test = test if test is not None else {"t1": 12, "t2_left": 7}
    for split, labels in (("Train_Set", train), ("Validation_Set", val)):
        for name, lab in labels.items():
            write_labels(root / EXPR / split / f"{name}.txt", lab)
    tl = root / "names_of_videos_in_each_test_set"
    tl.mkdir(parents=True, exist_ok=True)
    (tl / "Expression_Classification_Challenge_test_set_release.txt").write_text(
        "\n".join(test) + "\n")
    write_template(root / "CVPR_5th_ABAW_EXPR_test_set_sample.txt", test)
    for name, frames in (faces or {}).items():
        d = root / "cropped_aligned" / name
        d.mkdir(parents=True, exist_ok=True)
        for k in frames:
            (d / f"{k:05d}.jpg").write_bytes(b"")
    (root / "cropped_aligned").mkdir(exist_ok=True)
    return root


@pytest.fixture
def tiny_release(tmp_path) -> Path:
    return make_release(tmp_path / "release", faces={"vid0": [1, 2, 5, 9], "val0": [3]})


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """A small synthetic corpus with media (faces, mp4 with audio, OpenPose), made once."""
    from harness.data.synth import synthesize

    root = tmp_path_factory.mktemp("synth") / "corpus"
    synthesize(root, seed=3, videos=8, seconds=8, progress=False)
    return root


@pytest.fixture(scope="session")
def synth_release(synth_root):
    import warnings

    from harness.data.release import load_release

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_release(synth_root)
