"""Issue #29 at the command line: outputs that would destroy inputs, a --workdir that is a
file, out-of-range options, a full disk, and absurd figures in the results store.

Every command runs in-process through ``harness.cli.main`` (the console entry point, so the
one-red-line-exit-2 handling is the user's), which keeps the torch import paid once.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXPR, make_release
from tests.conftest import harness_in_process as harness

TINY = ("--face-epochs", "2", "--threads", "1", "--quiet")


def refused(code: int, err: str, *words: str) -> None:
    """One clear error: exit 2, the words expected, no traceback."""
    assert code == 2, err
    assert "Traceback" not in err
    flat = " ".join(err.replace("\u2502", " ").split())  # a usage error comes in a panel
    for w in words:
        assert w in flat, err


@pytest.fixture(scope="module")
def done(synth_root, tmp_path_factory):
    """A copy of the synthetic release (tests may try to write over it) and one finished run
    on it: the release, its workdir, the run folder and its metrics."""
    from harness.api.run import run

    base = tmp_path_factory.mktemp("robust")
    release = base / "release"
    shutil.copytree(synth_root, release)
    workdir = base / "w"
    result = run("current_face", data=release, workdir=workdir, face_epochs=2, threads=1,
                 quiet=True).results[0]
    return release, workdir, result.run_dir, result.scores


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


# -- 1. outputs never over inputs ----------------------------------------------------------

def _inputs(release: Path, run_dir: Path) -> list[Path]:
    """One file of each kind the release and a run folder hold."""
    image = next((release / "cropped_aligned").rglob("*.jpg"))
    return [
        release / "CVPR_5th_ABAW_EXPR_test_set_sample.txt",
        next((release / EXPR / "Train_Set").glob("*.txt")),
        next((release / "names_of_videos_in_each_test_set").glob("*.txt")),
        image,
        next((release / "synth_truth").rglob("*.txt")),
        run_dir / "config.json",
        run_dir.parent.parent / "leaderboard.jsonl",
    ]


def test_submit_never_writes_over_the_release_or_a_run(done, monkeypatch, capsys):
    """main: --out <release>/<template> replaced the template, rc 0."""
    release, workdir, run_dir, _ = done
    before = _snapshot(release) | {f"run:{k}": v for k, v in _snapshot(run_dir).items()}
    for target in _inputs(release, run_dir):
        code, _, err = harness(monkeypatch, capsys, "submit", "--data", release,
                               "--workdir", workdir, "--out", target)
        refused(code, err, "refusing to write --out", "overwrite")
        code, _, err = harness(monkeypatch, capsys, "submit", "--data", release,
                               "--workdir", workdir, "--out", target, "--zip")
        assert code == 2, err
    assert _snapshot(release) | {f"run:{k}": v for k, v in _snapshot(run_dir).items()} \
        == before
    # a folder as --out: one error, not IsADirectoryError
    code, _, err = harness(monkeypatch, capsys, "submit", "--data", release,
                           "--workdir", workdir, "--out", workdir)
    refused(code, err, "is a folder")
    # and a file path elsewhere still works
    code, out, err = harness(monkeypatch, capsys, "submit", "--data", release,
                             "--workdir", workdir, "--out", workdir / "mine.txt")
    assert code == 0, err
    assert (workdir / "mine.txt").is_file() and "it validates" in out


def test_other_output_options_never_write_over_inputs(done, tmp_path, monkeypatch, capsys):
    """splits --write, leaderboard --plot, bench --json, data synth --out."""
    release, workdir, run_dir, _ = done
    template = release / "CVPR_5th_ABAW_EXPR_test_set_sample.txt"
    before = template.read_bytes(), (run_dir / "config.json").read_bytes()
    for args in (("splits", "--data", release, "--write", template),
                 ("splits", "--data", release, "--write", release / "cropped_aligned"),
                 ("leaderboard", "--workdir", workdir, "--plot", run_dir / "config.json"),
                 ("leaderboard", "--workdir", workdir, "--plot",
                  workdir / "leaderboard.jsonl"),
                 ("leaderboard", "--workdir", workdir, "--plot", tmp_path)):
        code, _, err = harness(monkeypatch, capsys, *args)
        refused(code, err)
        assert "refusing to write" in err or "is a folder" in err, err
    assert (template.read_bytes(), (run_dir / "config.json").read_bytes()) == before
    # bench --json into a folder: refused before minutes of measuring, not after
    code, _, err = harness(monkeypatch, capsys, "bench", "--quick", "--json", tmp_path)
    refused(code, err, "is a folder")
    # data synth into a folder holding other files: refused, the files untouched
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, _, err = harness(monkeypatch, capsys, "data", "synth", "--out", mine,
                           "--annotations-only")
    refused(code, err)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


# -- 2. --workdir that is a file -----------------------------------------------------------

@pytest.mark.parametrize("command", [
    ("run", "only_video"), ("submit",), ("smooth",), ("ensemble",), ("leaderboard",)])
@pytest.mark.parametrize("where", ["workdir", "runs"])
def test_a_workdir_that_is_a_file_is_one_error(command, where, tmp_path, monkeypatch, capsys):
    """main: NotADirectoryError traceback."""
    workdir = tmp_path / "w"
    if where == "runs":
        workdir.mkdir()
        (workdir / "runs").write_text("not a folder")
    else:
        workdir.write_text("not a folder")
    code, _, err = harness(monkeypatch, capsys, *command, "--workdir", workdir)
    refused(code, err, "is a file")


# -- 3. out-of-range options, refused before any folder is made ----------------------------

BAD_RUN_OPTIONS = [
    ("--batch-size", "0"), ("--epochs", "0"), ("--epochs", "-1"), ("--lr", "nan"),
    ("--lr", "-1"), ("--lr", "inf"), ("--face-epochs", "0"), ("--workers", "-1"),
    ("--threads", "0"), ("--window-frames", "0"), ("--chunk-frames", "0"),
    ("--frame-stride", "0"), ("--face-oof", "-1"),
]


@pytest.mark.parametrize("option", BAD_RUN_OPTIONS, ids=lambda o: " ".join(o))
def test_bad_run_options_stop_before_any_folder(option, tmp_path, monkeypatch, capsys):
    release = make_release(tmp_path / "release")
    workdir = tmp_path / "w"
    code, _, err = harness(monkeypatch, capsys, "run", "dense_temporal", "--data", release,
                           "--workdir", workdir, *option)
    refused(code, err, option[0].removeprefix("--").split("-")[0])
    assert not (workdir / "runs").exists() or not any((workdir / "runs").iterdir())


@pytest.mark.parametrize(("args", "word"), [
    (("smooth", "--window", "0"), "window"), (("smooth", "--window", "nan"), "window"),
    (("smooth", "--window", "-1"), "window"), (("smooth", "--window", "inf"), "window"),
    (("smooth", "--sweep", "--windows", "1,nan"), "windows"),
    (("smooth", "--sweep", "--windows", "0.5,-2"), "window"),
    (("ensemble", "--window", "nan"), "window"),
    (("ensemble", "--smooth", "median", "--window", "0"), "window"),
    (("bench", "--quick", "--batch-sizes", "0"), "--batch-sizes"),
    (("bench", "--quick", "--batch-sizes", "8,-1"), "--batch-sizes"),
    (("bench", "--quick", "--repeats", "0"), "--repeats"),
    (("bench", "--quick", "--threads", "0"), "--threads"),
    (("extract", "--workers", "-1"), "--workers"), (("extract", "--face-oof", "-1"), "--face-oof"),
    (("extract", "--threads", "0"), "--threads"),
    (("extract", "--shard", "3/2"), "--shard"), (("extract", "--shard", "0/0"), "--shard"),
    (("data", "synth", "--seconds", "nan"), "--seconds"),
    (("data", "synth", "--seconds", "0"), "seconds"),
    (("data", "synth", "--videos", "0"), "--videos"),
], ids=lambda a: " ".join(a) if isinstance(a, tuple) else "")
def test_bad_options_elsewhere_are_one_error(args, word, tmp_path, monkeypatch, capsys):
    """main: the NaN windows passed PostConfig's ``<= 0`` check; bench took any count."""
    monkeypatch.chdir(tmp_path)
    workdir = tmp_path / "w"
    extra = ["--workdir", workdir] if args[0] in ("smooth", "ensemble") else []
    extra += ["--json", tmp_path / "b.json"] if args[0] == "bench" else []
    extra += ["--out", tmp_path / "c"] if args[:2] == ("data", "synth") else []
    code, _, err = harness(monkeypatch, capsys, *args, *extra)
    refused(code, err, word)
    assert not (workdir / "runs").exists()
    assert not (tmp_path / "b.json").exists() and not (tmp_path / "c").exists()


# -- 4. a full disk ------------------------------------------------------------------------

def _no_space_in(folder: Path, monkeypatch) -> None:
    """Make every fsync of a file under ``folder`` fail with ENOSPC, as a full disk does."""
    import harness.atomic

    real = os.fsync
    folder = str(folder.resolve())

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(folder):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(harness.atomic.os, "fsync", fsync)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see fd paths")
def test_disk_full_is_one_error_and_leaves_nothing(done, tmp_path, monkeypatch, capsys):
    """main: a traceback, and every attempt left an unfinished run folder."""
    release, _, _, scores = done
    workdir = tmp_path / "w"
    with monkeypatch.context() as m:
        _no_space_in(workdir / "runs", m)
        code, _, err = harness(m, capsys, "run", "current_face", "--data", release,
                               "--workdir", workdir, *TINY)
    refused(code, err, "no space left", str(workdir), "removed the unfinished run folder")
    assert not any((workdir / "runs").iterdir())
    home = Path(os.environ["ABAW_HARNESS_HOME"])
    assert not [p for d in (workdir, home) for p in d.rglob("*.tmp")]
    # space freed: the same command gives what a run that never failed gave
    code, _, err = harness(monkeypatch, capsys, "run", "current_face", "--data", release,
                           "--workdir", workdir, *TINY)
    assert code == 0, err
    (run_dir,) = (workdir / "runs").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["macro_f1"] == pytest.approx(scores.macro_f1, abs=0)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see fd paths")
def test_disk_full_in_smooth_leaves_no_derived_run(done, monkeypatch, capsys):
    release, workdir, run_dir, _ = done
    before = sorted((workdir / "runs").iterdir())
    with monkeypatch.context() as m:
        _no_space_in(workdir / "runs", m)
        code, _, err = harness(m, capsys, "smooth", run_dir, "--data", release,
                               "--workdir", workdir, "--quiet")
    refused(code, err, "no space left", "removed the unfinished run folder")
    assert sorted((workdir / "runs").iterdir()) == before


def test_disk_full_keeps_a_folder_being_resumed(tmp_path):
    """Only folders made in this attempt go: a resumed one holds earlier epochs."""
    from harness.errors import DiskFullError
    from harness.records import RunFolder
    from harness.records.lifecycle import removed_if_disk_full, start

    old = start(tmp_path, "x-", {"a": 1}, {"train": []})
    with pytest.raises(DiskFullError, match="removed the unfinished run folder"), \
            removed_if_disk_full(tmp_path):
        new = start(tmp_path, "y-", {"a": 1}, {"train": []})
        assert isinstance(old, RunFolder) and new.path.is_dir()
        raise RuntimeError("[enforce fail at inline_container.cc:672] . "
                           "PytorchStreamWriter failed writing file: No space left on device")
    assert old.path.is_dir() and not new.path.exists()


def test_packed_feature_table_checks_space_first(tmp_path, monkeypatch):
    """A memory-mapped table on a full disk is SIGBUS, not an error: space is checked first."""
    import numpy as np

    import harness.atomic
    from harness.errors import DiskFullError
    from harness.features.cache import Features, _write_packed

    monkeypatch.setattr(harness.atomic, "free_bytes", lambda folder: 1 << 20)
    entry = Features(np.zeros((1000, 256), np.float32), np.zeros(1000), np.zeros(1000, bool))
    with pytest.raises(DiskFullError, match="feat.npy"):
        _write_packed(tmp_path / "packed", [entry], ["a"], ["stamp-a"])
    assert not (tmp_path / "packed" / "feat.npy.tmp").exists()


# -- 5. absurd figures in the results store ------------------------------------------------

@pytest.mark.parametrize("bad", [1e308, float("nan"), float("inf"), -0.5, 1.5, "0.9", None,
                                 True])
def test_absurd_store_figures_are_skipped_with_a_warning(bad, done, tmp_path, monkeypatch,
                                                         capsys):
    """main: a row with macro_f1 1e308 showed "inf" in bold as the best of every column."""
    _, workdir, _, scores = done
    good = (workdir / "leaderboard.jsonl").read_text().splitlines()[0]
    row = json.loads(good)
    row["macro_f1"], row["run_id"] = bad, "absurd"
    store = tmp_path / "leaderboard.jsonl"
    store.write_text(good + "\n" + json.dumps(row) + "\n")
    code, out, err = harness(monkeypatch, capsys, "leaderboard", "--workdir", tmp_path,
                             "--format", "csv", "--no-ci")
    assert code == 0, err
    assert f"{store}:2" in err and "skipping" in err
    assert "inf" not in out.lower() and "nan" not in out.lower() and "1e+308" not in out
    assert f"{100 * scores.macro_f1:.1f}" in out
