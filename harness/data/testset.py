"""The test release list and the frame template a submission must follow row for row."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.data.labels import TEMPLATE_HEADER
from harness.data.rowscan import ScannedRows, scan_rows
from harness.data.valuefiles import quoted
from harness.errors import ReleaseFormatError

#: A name becomes a folder name (caches, image folders): a file system's limit on one.
MAX_NAME = 255


@dataclass(frozen=True)
class Template:
    """The submission template: names in file order, each with frames 1..N consecutive."""

    path: Path
    header: str
    names: tuple[str, ...]
    n_frames: dict[str, int] = field(repr=False)

    @property
    def n_rows(self) -> int:
        return int(sum(self.n_frames.values()))


def _data_lines(path: Path) -> list[str]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ReleaseFormatError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        raise ReleaseFormatError(path, f"not UTF-8 text ({exc.reason})") from None
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def read_test_list(path: str | Path) -> list[str]:
    """Names of the test set, one per line, in file order (blank lines skipped)."""
    path = Path(path)
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(_data_lines(path), start=1):
        name = raw.strip()
        if not name:
            continue
        if name in seen:
            raise ReleaseFormatError(path, f"name {quoted(name)} repeats line {seen[name]}",
                                     line=i)
        if ("/" in name or "\\" in name or name.startswith(".") or len(name) > MAX_NAME
                or not name.isprintable()):
            raise ReleaseFormatError(path, f"name {quoted(name)} is not a plain video name "
                                     f"(at most {MAX_NAME} printable characters, no path)",
                                     line=i)
        seen[name] = i
        names.append(name)
    if not names:
        raise ReleaseFormatError(path, "the test list is empty")
    return names


def read_template(path: str | Path, header: str = TEMPLATE_HEADER) -> Template:
    """Parse and check the frame template (``CVPR_5th_ABAW_EXPR_test_set_sample.txt`` & co;
    ``header``: a task's ``template_header``, EXPR's by default). What follows the image
    location on a row (nothing in ABAW5, placeholder values in ABAW6) is ignored.

    Rows must be grouped by name and number frames 1..N without gaps: the submission is checked
    against exactly this, so a broken template is refused here with its line number.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReleaseFormatError(path, "file not found") from None
    found, rows = scan_rows(path, data, require_value=False)
    if found != header:
        raise ReleaseFormatError(path, f"header {quoted(found)} is not {header!r}", line=1)
    return template_from_rows(path, found, rows)


def template_from_rows(path: Path, header: str, rows: ScannedRows) -> Template:
    """Check grouping and consecutive frame numbers; the first violation names its line."""
    run = rows.run_of_row
    seen: dict[str, int] = {}
    run_starts = np.flatnonzero(np.diff(run, prepend=-1))
    for s, name in zip(run_starts, rows.run_names):
        if name in seen:
            raise ReleaseFormatError(
                path, f"rows of {quoted(name)} resume after other names (first block at line "
                f"{seen[name]}); rows must be grouped by video", line=int(rows.line[s]))
        seen[name] = int(rows.line[s])
    expected = np.arange(rows.n_rows) - run_starts[run] + 1
    bad = np.flatnonzero(rows.frames != expected)
    if bad.size:
        i = int(bad[0])
        raise ReleaseFormatError(
            path, f"{rows.run_names[run[i]]}: frame {rows.frames[i]} where frame "
            f"{expected[i]} was expected (frames must run 1..N without gaps)",
            line=int(rows.line[i]))
    lengths = np.diff(np.append(run_starts, rows.n_rows))
    return Template(
        path=path,
        header=header,
        names=tuple(rows.run_names),
        n_frames={name: int(k) for name, k in zip(rows.run_names, lengths)},
    )


def hidden_test_labels(release):
    """The test labels of ``release``'s task per template name (MTL: per test video, frames
    1..N with "no label" between its images), where the release has them:
    the embedded corpus keeps them in ``task.hidden_truth`` (the real Aff-Wild2 test labels are
    not public); None for a release without them (or without a template)."""
    from harness.paths import safe_child

    task = release.task
    folder = release.root / task.hidden_truth
    if task.sparse_images:  # MTL: one file of image rows, as per-video frames 1..N
        from harness.data.mtl import read_mtl_annotations
        from harness.data.mtl_sequences import dense_labels

        return dense_labels(read_mtl_annotations(folder), task) if folder.is_file() else None
    if not folder.is_dir() or release.layout.template is None:
        return None
    names = release.template.names
    arrays = task.read_files([safe_child(folder, f"{n}.txt") for n in names])
    return dict(zip(names, arrays))
