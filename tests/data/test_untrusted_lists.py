"""Split membership files (``--folds``) and test lists from elsewhere: absurd fields get one
short error naming the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def harness(*args, home):
    env = dict(os.environ, ABAW_HARNESS_HOME=str(home), COLUMNS="200", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "harness", *args], env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("field, value, message", [
    ("name", "../../escape", "split name '../../escape'"),
    ("name", "a/b", "split name 'a/b'"),
    ("seed", "seven", "seed 'seven' is not"),
    ("train", ["x" * 100_000], "100,000 characters"),
], ids=["parent-dirs", "slash", "seed", "huge-name"])
def test_bad_membership_fields_are_refused_short(tmp_path, synth_root, synth_release, field,
                                                 value, message):
    split = {"name": "official", "train": sorted(synth_release.train)[:3],
             "val": sorted(synth_release.val), "seed": 1}
    split[field] = value
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps({"splits": [split]}))
    out = harness("splits", "--data", str(synth_root), "--folds", str(folds),
                  home=tmp_path / "home")
    said = " ".join((out.stdout + out.stderr).split())
    assert out.returncode == 2 and "Traceback" not in said, said[-3000:]
    assert "folds.json" in said and message in said, said[-3000:]
    assert len(said) < 2000  # a 100,000-character field is quoted by a short prefix


@pytest.mark.parametrize("bad, message", [
    ("v" * 100_000, "100,000 characters"),
    ("bell\x07name", "not a plain video name"),
], ids=["huge", "control-character"])
def test_absurd_test_list_names_are_refused_short(tmp_path, bad, message):
    from tests.conftest import make_release

    root = make_release(tmp_path / "release")
    test_list = next((root / "names_of_videos_in_each_test_set").glob("*.txt"))
    test_list.write_text(test_list.read_text() + bad + "\n")
    out = harness("data", "info", "--data", str(root), home=tmp_path / "home")
    said = " ".join((out.stdout + out.stderr).split())
    assert out.returncode == 2 and "Traceback" not in said, said[-3000:]
    assert test_list.name in said and message in said and len(said) < 2000, said[-3000:]
