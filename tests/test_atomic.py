import os

import pytest

from harness.atomic import atomic_open, write_text


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "result.txt"
    write_text(p, "old\n")
    with pytest.raises(RuntimeError), atomic_open(p) as fh:
        fh.write("half of the new")
        raise RuntimeError("killed")
    assert p.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["result.txt"]


def test_written_files_have_ordinary_permissions(tmp_path):
    p = tmp_path / "a.txt"
    write_text(p, "x")
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(p).st_mode & 0o777 == 0o666 & ~mask
