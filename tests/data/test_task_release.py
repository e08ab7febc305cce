"""Releases read per task: every edition's folders, test list, template (ABAW5 and ABAW6 rows)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from harness.data.layout import find_release
from harness.data.release import load_release
from harness.errors import HarnessError, ReleaseFormatError
from harness.tasks import get_task

EDITION_FOLDERS = [(name, folder) for name in ("va", "au")
                   for folder in get_task(name).annotation_folders]


@pytest.mark.parametrize("name, folder", EDITION_FOLDERS,
                         ids=[f"{n}-{f.root}" for n, f in EDITION_FOLDERS])
def test_every_edition_folder_is_found_and_read(task_release, name, folder):
    root = task_release(name, folder=folder.path)
    release = load_release(root, task=name)
    assert release.task is get_task(name) and release.layout.edition == folder.edition
    assert release.layout.train_dir == root / folder.path / "Train_Set"
    assert len(release.train) == 8 and len(release.val) == 3
    assert release.labels("pair_left").shape == (20, get_task(name).output_size)
    assert release.test_names == ["t1", "t2_left"] and release.template.n_rows == 19
    assert release.n_frames("vid2") == 32 and release.n_frames("t1") == 12


@pytest.mark.parametrize("name, placeholder", [("va", "0.5,-0.5"),
                                               ("au", "1,0,1,1,1,0,0,1,0,0,0,1")])
def test_abaw6_template_with_placeholders_in_test_set_examples(task_release, name,
                                                               placeholder):
    root = task_release(name, template_dir="test_set_examples", template_values=placeholder)
    release = load_release(root, task=name)
    assert release.layout.template.parent.name == "test_set_examples"
    assert release.template.n_frames == {"t1": 12, "t2_left": 7}


def test_a_task_reads_only_its_own_folders_and_test_files(task_release):
    root = task_release("va")
    with pytest.raises(HarnessError, match="not an Aff-Wild2 AU release: none of .*"
                                           "AU_Detection_Challenge"):
        load_release(root, task="au")
    with pytest.raises(HarnessError, match="not an Aff-Wild2 EXPR release"):
        load_release(root)


def test_template_with_the_other_tasks_header_is_refused(task_release, tmp_path):
    root = task_release("au")
    template = root / get_task("au").template_names[0]
    template.write_text(template.read_text().replace(get_task("au").template_header,
                                                     get_task("va").template_header))
    with pytest.raises(ReleaseFormatError, match=":1: header"):
        _ = load_release(root, task="au").template


def test_a_malformed_file_stops_the_load_with_its_line(task_release):
    root = task_release("va")
    path = find_release(root, task="va").train_dir / "vid1.txt"
    lines = path.read_text().splitlines()
    lines[4] = "0.2,1.7"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReleaseFormatError, match=r"vid1.txt:5: arousal 1.7 is outside"):
        load_release(root, task="va")


def test_duplicate_name_is_kept_in_validation_for_every_task(task_release):
    rng = np.random.default_rng(1)
    au = get_task("au")
    values = (rng.random((9, 12)) < 0.5).astype(np.int8)
    root = task_release("au", train={f"v{i}": values for i in range(3)} | {"dup": values},
                        val={"dup": values, "w": values})
    with pytest.warns(UserWarning, match="dup"):
        release = load_release(root, task=au)
    assert "dup" not in release.train and release.duplicates == ("dup",)


def test_the_default_task_is_expr(tiny_release):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        release = load_release(tiny_release)
    assert release.task is get_task("expr") and release.labels("vid0").dtype == np.int8
