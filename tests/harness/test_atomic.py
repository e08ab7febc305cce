import errno
import os

import pytest

from harness.atomic import atomic_open, ensure_free_space, free_bytes, write_text
from harness.errors import DiskFullError


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


def _full(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_is_one_error_naming_the_folder_and_nothing_half_written(tmp_path,
                                                                            monkeypatch):
    p = tmp_path / "run" / "metrics.json"
    write_text(p, "old\n")
    monkeypatch.setattr(os, "fsync", _full)  # the kernel reports ENOSPC when data is flushed
    with pytest.raises(DiskFullError) as info:
        write_text(p, "new\n")
    assert str(p.parent) in str(info.value) and "MB free" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert p.read_text() == "old\n"
    assert os.listdir(p.parent) == ["metrics.json"]


def test_a_library_that_rewords_enospc_is_recognised(tmp_path):
    # torch.save's C++ writer raises RuntimeError("[enforce fail at inline_container.cc...]")
    # from the OSError: the chain, not the wording, says the disk is full.
    p = tmp_path / "checkpoint.pt"
    with pytest.raises(DiskFullError), atomic_open(p, "wb") as fh:
        fh.write(b"x")
        try:
            _full()
        except OSError as exc:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos") \
                from exc
    assert not list(tmp_path.iterdir())


def test_other_errors_pass_through_unchanged(tmp_path):
    with pytest.raises(OSError) as info, atomic_open(tmp_path / "a.txt") as fh:
        fh.write("x")
        raise OSError(errno.EACCES, "denied")
    assert not isinstance(info.value, DiskFullError)


def test_a_big_write_that_cannot_fit_is_refused_before_it_starts(tmp_path):
    free = free_bytes(tmp_path)
    assert free is not None and free > 0
    ensure_free_space(tmp_path, 1 << 20, "a small table")
    with pytest.raises(DiskFullError, match="needs .* MB"):
        ensure_free_space(tmp_path / "not" / "made", free + (1 << 30), "a packed table")
