"""The MTL release (s-Aff-Wild2): two annotation files of sparse images, a test list, images.

Formats follow ``aff-wild2-tasks.md`` section 4 to the letter:

- Annotation files per edition: ABAW3 ``Third ABAW Annotations/MTL_Challenge/train_set.txt``
  and ``validation_set.txt``; ABAW4, ABAW7 and ABAW11 ``training_set_annotations.txt`` and
  ``validation_set_annotations.txt``. The reference does not say in which folder the latter
  lie; they are looked for at the root and in the folders ``SEARCH_DEPTH`` levels below it.
- Line 1 is a header whose first four names are ``image,valence,arousal,expression`` (the rest
  was never seen: rows are read by position). Every data line holds 16 fields: the image
  ``<video>/<NNNNN>.jpg`` (sparse frame numbers), valence, arousal, expression, the 12 AUs in
  ``AU_NAMES`` order. Missing labels per task in the same row: VA ``-5`` (both), expression
  ``-1``, AUs ``-1`` (all 12 together).
- Images: ``cropped_aligned/<video>/<NNNNN>.jpg``; test images under
  ``mtl_test_data/cropped_aligned`` (ABAW4) or ``test_data/cropped_aligned`` (ABAW7).
- Test list, header ``image,valence,arousal,expression,aus``, one image per line: ABAW3
  ``Multi_Task_Learning_Challenge_test_set_release.txt``, ABAW4
  ``MTL_Challenge_test_set_release.txt`` (no trailing comma), ABAW7 ``test_set_examples/MTL.txt``
  (a trailing comma after each image). ABAW11's list name is not known: the ABAW7 layout is
  assumed for ABAW11 (same annotation file names; CPRL calls the list ``<test_list>``), so an
  ABAW7-shaped release is reported as ``ABAW7/11``.

Rows are parsed with pandas over the whole file (the real training file has 142,333 rows);
checks are array operations; a malformed row is a ``ReleaseFormatError`` naming the file and
line and quoting at most ``QUOTE`` characters of the bad field.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.rowscan import RowProblem, line_text, scan, split_lines
from harness.data.valuefiles import AU_INVALID, AU_NAMES, VA_INVALID, _read, quoted
from harness.errors import HarnessError, ReleaseFormatError

#: The first four header names of an annotation file (the rest was never seen).
HEADER_START = ("image", "valence", "arousal", "expression")
#: Line 1 of every edition's test list and of a submission: 5 names over 16-field rows.
TEST_HEADER = "image,valence,arousal,expression,aus"
FIELDS = 4 + len(AU_NAMES)
COLUMNS = ("image", "valence", "arousal", "expression", *AU_NAMES)
EXPR_INVALID = -1
N_CLASSES = 8
IMAGES = "cropped_aligned"
#: The folders holding the test images' ``cropped_aligned`` (ABAW4, ABAW7): not image roots of
#: the per-video tasks (``harness.data.layout`` skips them).
ABAW4_TEST, ABAW7_TEST = TEST_FOLDERS = ("mtl_test_data", "test_data")
SEARCH_DEPTH = 2
#: The image path of a row: ``<video>/<NNNNN>.jpg`` (five digits or more).
IMAGE_PATTERN = r"^(?P<video>[^/\\\s]+)/(?P<frame>[0-9]{5,9})\.jpg$"


@dataclass(frozen=True)
class MtlEdition:
    """One edition's MTL file names (paths relative to the folder that holds them)."""

    edition: str
    train: Path
    val: Path
    test_list: Path
    test_images: tuple[Path, ...]


#: Newest first. ABAW11's test list name is not known: ABAW7's is taken (see module doc).
EDITIONS = (
    MtlEdition("ABAW7/11", Path("training_set_annotations.txt"),
               Path("validation_set_annotations.txt"), Path("test_set_examples", "MTL.txt"),
               (Path(ABAW7_TEST, IMAGES),)),
    MtlEdition("ABAW4", Path("training_set_annotations.txt"),
               Path("validation_set_annotations.txt"),
               Path("MTL_Challenge_test_set_release.txt"), (Path(ABAW4_TEST, IMAGES),)),
    MtlEdition("ABAW3", Path("Third ABAW Annotations", "MTL_Challenge", "train_set.txt"),
               Path("Third ABAW Annotations", "MTL_Challenge", "validation_set.txt"),
               Path("Multi_Task_Learning_Challenge_test_set_release.txt"),
               # ABAW3's test image folder: not found; both later names are accepted
               (Path(ABAW4_TEST, IMAGES), Path(ABAW7_TEST, IMAGES))),
)
TEST_LIST_NAMES = tuple(dict.fromkeys(e.test_list.name for e in EDITIONS))


# ------------------------------------------------------------------------------- arrays

@dataclass(frozen=True)
class MtlLabels:
    """The rows of one annotation file (or of hidden test truth), in file order."""

    path: Path
    images: np.ndarray  # (n,) object: ``<video>/<NNNNN>.jpg`` as written
    videos: np.ndarray  # (n,) object: the image's video folder
    frames: np.ndarray  # (n,) int32: its frame number
    va: np.ndarray  # (n, 2) float32, -5 = missing
    expr: np.ndarray  # (n,) int8, -1 = missing
    au: np.ndarray  # (n, 12) int8, -1 = missing

    def __len__(self) -> int:
        return len(self.images)

    @property
    def va_valid(self) -> np.ndarray:
        return (self.va >= -1).all(axis=1) & (self.va <= 1).all(axis=1)

    @property
    def expr_valid(self) -> np.ndarray:
        return self.expr >= 0

    @property
    def au_valid(self) -> np.ndarray:
        return (self.au >= 0).all(axis=1)

    def select(self, mask: np.ndarray) -> MtlLabels:
        return MtlLabels(self.path, self.images[mask], self.videos[mask], self.frames[mask],
                         self.va[mask], self.expr[mask], self.au[mask])

    def rows(self) -> np.ndarray:
        """(n, 15) float32 ``[valence, arousal, expression, AU1..AU26]``: the task's array."""
        return np.concatenate([self.va, self.expr[:, None].astype(np.float32),
                               self.au.astype(np.float32)], axis=1)


def _line_of(starts: np.ndarray, offset: int) -> int:
    """0-based line index of a byte offset."""
    return int(np.searchsorted(starts, offset, side="right")) - 1


def _check_header(path: Path, buf: np.ndarray, starts, ends) -> None:
    header = line_text(buf, int(starts[0]), int(ends[0])).strip()
    names = [f.strip().lower() for f in header.split(",")]
    if tuple(names[:4]) != HEADER_START:
        raise ReleaseFormatError(
            path, f"line 1 {quoted(header)} is not the MTL header (it starts with "
            f"{','.join(HEADER_START)})", line=1)


def _check_lines(path: Path, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
    """Blank lines, non-ASCII bytes and field counts of the data lines (line index 1..)."""
    blank = np.flatnonzero(ends[1:] <= starts[1:])
    if blank.size:
        raise ReleaseFormatError(path, "an empty line among the rows", line=int(blank[0]) + 2)
    body = buf[starts[1]:]
    odd = np.flatnonzero(body >= 128)
    if odd.size:
        i = _line_of(starts, int(odd[0]) + int(starts[1]))
        raise ReleaseFormatError(
            path, f"a non-ASCII character in {quoted(line_text(buf, int(starts[i]), int(ends[i])))}"
            " (values are ASCII decimals)", line=i + 1)
    commas = np.flatnonzero(buf == ord(","))
    count = np.searchsorted(commas, ends[1:]) - np.searchsorted(commas, starts[1:]) + 1
    bad = np.flatnonzero(count != FIELDS)
    if bad.size:
        i = int(bad[0]) + 1
        raise ReleaseFormatError(
            path, f"{int(count[i - 1])} field(s) where an MTL row has {FIELDS} (image, valence, "
            f"arousal, expression, 12 AUs): {quoted(line_text(buf, int(starts[i]), int(ends[i])))}",
            line=i + 1)


def _table(path: Path, data: bytes, first: int, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """All data lines (16 columns, the values as strings) and (n, 15) float64 values.

    Fast path: pandas' C parser reads the 15 value columns as floats directly; when a field is
    no number it fails, and the slow path reads strings to name the first bad field's line.
    """
    body = io.BytesIO(data[first:])
    kw = dict(header=None, names=list(range(FIELDS)), na_filter=False, skip_blank_lines=False,
              engine="c")
    try:
        table = pd.read_csv(body, dtype={0: str} | {k: np.float64 for k in range(1, FIELDS)},
                            **kw)
        values = table.iloc[:, 1:].to_numpy(np.float64)
        if len(table) == n and np.isfinite(values).all():
            return table, values
    except (ValueError, pd.errors.ParserError):
        pass
    try:
        table = pd.read_csv(io.BytesIO(data[first:]), dtype=str, **kw)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ReleaseFormatError(path, f"unreadable rows ({quoted(str(exc))})") from None
    if len(table) != n:
        raise ReleaseFormatError(path, f"{len(table):,} rows parsed where {n:,} lines were "
                                 "counted (a stray carriage return or quote?)")
    return table, _numbers(path, table)


def _numbers(path: Path, table: pd.DataFrame) -> np.ndarray:
    """(n, 15) float64 of columns 1..15; a field that is no ASCII decimal names its line."""
    values = table.iloc[:, 1:].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        raise ReleaseFormatError(path, f"{COLUMNS[j + 1]} {quoted(str(table.iat[i, j + 1]))} "
                                 "is not a number", line=i + 2)
    return values


def quoted_name(text: str, limit: int = 80) -> str:
    """An image path for a message: whole up to ``limit`` characters (they are ~25), else cut."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text):,} characters)"


def _field(table: pd.DataFrame, i: int, column: int) -> str:
    """Field ``column`` of row ``i`` as written (values parsed as floats are re-read from the
    raw line kept in ``table.attrs``)."""
    raw = table.attrs.get("lines")
    if raw is not None:
        buf, starts, ends = raw
        return line_text(buf, int(starts[i]), int(ends[i])).split(",")[column].strip()
    return str(table.iat[i, column]).strip()


def _refuse(path: Path, table: pd.DataFrame, bad: np.ndarray, column: int, why: str) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        field = _field(table, i, column)
        shown = quoted_name(field) if column == 0 else quoted(field)
        raise ReleaseFormatError(path, f"{COLUMNS[column]} {shown} "
                                 f"{why}", line=i + 2)


def _labels(path: Path, table: pd.DataFrame, values: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    va, expr, au = values[:, 0:2], values[:, 2], values[:, 3:]
    inside = (va >= -1) & (va <= 1)
    marker = va == VA_INVALID
    for j in range(2):
        _refuse(path, table, ~(inside[:, j] | marker[:, j]), 1 + j,
                f"is outside [-1, 1] and not the missing marker {VA_INVALID:g}")
    _refuse(path, table, (expr != np.round(expr)) | (expr < EXPR_INVALID) | (expr >= N_CLASSES),
            3, f"is not a class 0..{N_CLASSES - 1} or the missing marker {EXPR_INVALID}")
    bad_au = ~np.isin(au, (0, 1, AU_INVALID))
    if bad_au.any():
        i, j = (int(x) for x in np.argwhere(bad_au)[0])
        raise ReleaseFormatError(path, f"{AU_NAMES[j]} {quoted(_field(table, i, 4 + j))} is "
                                 f"not 0, 1 or the missing marker {AU_INVALID}", line=i + 2)
    half = marker.any(axis=1) & ~marker.all(axis=1)
    part = (au == AU_INVALID).any(axis=1) & ~(au == AU_INVALID).all(axis=1)
    for mask, what in ((half, "-5 in one VA column only"), (part, "-1 for only some AUs")):
        if mask.any():
            warnings.warn(f"{path}: {int(mask.sum())} row(s) have {what} (first line "
                          f"{int(np.flatnonzero(mask)[0]) + 2}); that task is treated as "
                          "missing there", stacklevel=4)
    va32 = va.astype(np.float32)
    va32[half] = VA_INVALID
    au8 = au.astype(np.int8)
    au8[part] = AU_INVALID
    return va32, expr.astype(np.int8), au8


def parse_mtl_rows(path: Path, data: bytes) -> MtlLabels:
    """The 16-field rows of an MTL annotation file's bytes (``path`` names it in errors)."""
    buf, starts, ends = split_lines(data)
    if starts.size == 0:
        raise ReleaseFormatError(path, "empty MTL annotation file (no header, no rows)")
    _check_header(path, buf, starts, ends)
    if starts.size == 1:
        raise ReleaseFormatError(path, "the file has a header but no rows", line=1)
    _check_lines(path, buf, starts, ends)
    table, values = _table(path, data[:int(ends[-1])], int(starts[1]), int(starts.size - 1))
    table.attrs["lines"] = (buf, starts[1:], ends[1:])
    images = table[0].str.strip()
    videos, frames = _image_parts(path, data, table)
    dup = images.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((images == images.iat[i]).to_numpy())[0]) + 2
        raise ReleaseFormatError(path, f"image {quoted_name(images.iat[i])} repeats line {first}",
                                 line=i + 2)
    va, expr, au = _labels(path, table, values)
    return MtlLabels(path, images.to_numpy(object), videos, frames, va, expr, au)


def _image_parts(path: Path, data: bytes, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Video folder and frame number of each row's image, parsed over the bytes
    (``harness.data.rowscan``); the first row whose image is not ``<video>/<NNNNN>.jpg``
    (five digits or more) names its line."""
    rows = scan(data)
    digits = rows.comma - rows.slash - 1 - len(".jpg")
    bad = (rows.problem != RowProblem.OK) | (digits < 5)
    _refuse(path, table, bad, 0, "is not an image path <video>/<NNNNN>.jpg")
    videos = np.array(rows.run_names, dtype=object)[rows.run_of_row]
    return videos, rows.frames.astype(np.int32)


def read_mtl_annotations(path: str | Path, images: Path | None = None) -> MtlLabels:
    """One MTL annotation file; with ``images`` (a ``cropped_aligned`` folder) every row's image
    must exist there, else the error names the first row without one."""
    path = Path(path)
    labels = parse_mtl_rows(path, _read(path))
    if images is not None:
        check_images(path, labels.images, images)
    return labels


def check_images(path: Path, images: np.ndarray, folder: Path) -> None:
    """Every ``<video>/<NNNNN>.jpg`` of ``images`` exists under ``folder`` (one listing per
    video folder, not one stat per image); the first missing one names its line of ``path``."""
    present: set[str] = set()
    for video in pd.unique(pd.Series(images).str.split("/", n=1).str[0]):
        try:
            with os.scandir(folder / video) as it:
                present.update(f"{video}/{e.name}" for e in it)
        except (FileNotFoundError, NotADirectoryError):
            continue
    missing = ~pd.Series(images).isin(present).to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise ReleaseFormatError(path, f"image {quoted_name(str(images[i]))} is not in {folder} "
                                 f"({int(missing.sum()):,} row(s) have no image)", line=i + 2)


# ---------------------------------------------------------------------------- test list

@dataclass(frozen=True)
class MtlTestList:
    """The test images in list order (the order a submission must follow)."""

    path: Path
    images: tuple[str, ...]
    trailing_comma: bool  # ABAW7's ``MTL.txt`` writes ``<image>,``

    @property
    def n_rows(self) -> int:
        return len(self.images)

    @property
    def videos(self) -> np.ndarray:
        return image_parts(self.images)[0]

    @property
    def frames(self) -> np.ndarray:
        return image_parts(self.images)[1]


def image_parts(images) -> tuple[np.ndarray, np.ndarray]:
    """Video folder and frame number of checked ``<video>/<NNNNN>.jpg`` paths (a test list's,
    or rows taken from one)."""
    parts = pd.Series(list(images), dtype=object).str.rsplit("/", n=1)
    return (parts.str[0].to_numpy(object),
            parts.str[1].str.slice(0, -4).astype(np.int64).to_numpy())


def read_mtl_test_list(path: str | Path) -> MtlTestList:
    """An edition's test list: the 5-name header, then ``<video>/<NNNNN>.jpg`` per line, with
    or without one trailing comma (ABAW7's ``MTL.txt`` has it; it is stripped)."""
    path = Path(path)
    buf, starts, ends = split_lines(_read(path))
    if starts.size == 0:
        raise ReleaseFormatError(path, "empty MTL test list")
    header = line_text(buf, int(starts[0]), int(ends[0])).strip()
    if header != TEST_HEADER:
        raise ReleaseFormatError(path, f"line 1 {quoted(header)} is not the MTL test-list "
                                 f"header {TEST_HEADER!r}", line=1)
    if starts.size == 1:
        raise ReleaseFormatError(path, "the test list has a header but no images", line=1)
    data = bytes(buf[int(starts[1]):int(ends[-1])])
    if not data.isascii():
        at = int(np.flatnonzero(buf[starts[1]:] >= 128)[0]) + int(starts[1])
        i = _line_of(starts, at)
        raise ReleaseFormatError(path, "a non-ASCII character in "
                                 f"{quoted(line_text(buf, int(starts[i]), int(ends[i])))}",
                                 line=i + 1)
    rows = pd.Series(data.decode("ascii").split("\n")).str.rstrip("\r").str.strip()
    if len(rows) != starts.size - 1:
        raise ReleaseFormatError(path, "a stray carriage return among the rows")
    comma = rows.str.endswith(",").to_numpy()
    images = rows.str.rstrip(",").str.strip()
    bad = ~images.str.fullmatch(IMAGE_PATTERN[1:-1]).to_numpy(bool) | (
        rows.str.count(",").to_numpy() > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ReleaseFormatError(path, f"{quoted_name(rows.iat[i])} is not a test image "
                                 "<video>/<NNNNN>.jpg (with at most a trailing comma)",
                                 line=i + 2)
    dup = images.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise ReleaseFormatError(path, f"image {quoted_name(images.iat[i])} is listed twice",
                                 line=i + 2)
    return MtlTestList(path, tuple(images.tolist()), bool(comma.any()))


# ------------------------------------------------------------------------------- layout

@dataclass(frozen=True)
class MtlLayout:
    """Where an MTL release's pieces lie under ``root``."""

    root: Path
    edition: str
    train: Path
    val: Path
    images: Path | None
    test_list: Path | None
    test_images: Path | None


def _search_dirs(root: Path) -> list[Path]:
    """``root`` and the folders ``SEARCH_DEPTH`` levels below it (image folders not entered)."""
    out, frontier = [root], [root]
    for _ in range(SEARCH_DEPTH):
        nxt = []
        for d in frontier:
            try:
                entries = sorted(e.name for e in os.scandir(d)
                                 if e.is_dir() and not e.name.startswith("."))
            except OSError:
                continue
            nxt += [d / e for e in entries if e != IMAGES and e not in TEST_FOLDERS]
        out += nxt
        frontier = nxt
    return out


def find_mtl_release(root: str | Path) -> MtlLayout:
    """The first edition whose two annotation files are found under ``root``; its test list
    decides between ABAW4 and ABAW7/11 (same annotation names)."""
    root = Path(root)
    if not root.is_dir():
        raise HarnessError(f"{root} is not a folder")
    dirs = _search_dirs(root)
    candidates = []
    for edition in EDITIONS:
        for d in dirs:
            if (d / edition.train).is_file() and (d / edition.val).is_file():
                test = next((t / edition.test_list for t in dirs
                             if (t / edition.test_list).is_file()), None)
                candidates.append((edition, d, test))
                break
    if not candidates:
        looked = ", ".join(dict.fromkeys(f"{e.train.as_posix()} + {e.val.name}"
                                         for e in EDITIONS))
        raise HarnessError(f"{root} is not an MTL (s-Aff-Wild2) release: none of {looked} was "
                           f"found there or up to {SEARCH_DEPTH} folders below")
    edition, folder, test = next((c for c in candidates if c[2] is not None), candidates[0])
    images = next((d / IMAGES for d in dirs if (d / IMAGES).is_dir()), None)
    test_images = next((d / t for t in edition.test_images for d in dirs
                        if (d / t).is_dir()), None)
    return MtlLayout(root, edition.edition, folder / edition.train, folder / edition.val,
                     images, test, test_images)


@dataclass(frozen=True)
class MtlRelease:
    layout: MtlLayout
    train: MtlLabels
    val: MtlLabels
    test: MtlTestList | None

    @property
    def edition(self) -> str:
        return self.layout.edition


def load_mtl_release(root: str | Path, *, check_images: bool = True) -> MtlRelease:
    """Read the MTL part of a release: both annotation files (every row's image checked under
    ``cropped_aligned`` when that folder exists and ``check_images``) and the test list."""
    layout = find_mtl_release(root)
    images = layout.images if check_images else None
    train = read_mtl_annotations(layout.train, images)
    val = read_mtl_annotations(layout.val, images)
    test = read_mtl_test_list(layout.test_list) if layout.test_list is not None else None
    if test is not None and check_images and layout.test_images is not None:
        _check_test_images(test, layout.test_images)
    return MtlRelease(layout, train, val, test)


def _check_test_images(test: MtlTestList, folder: Path) -> None:
    """Test images are checked like annotated ones; line numbers are the list's (header = 1)."""
    check_images(test.path, np.array(test.images, dtype=object), folder)


# -------------------------------------------------------------------------- the array form

def rows_valid(rows: np.ndarray) -> np.ndarray:
    """Per task validity of ``MtlLabels.rows()`` arrays: (n, 3) bool (VA, EXPR, AU)."""
    va = ((rows[:, 0:2] >= -1) & (rows[:, 0:2] <= 1)).all(axis=1)
    return np.stack([va, rows[:, 2] >= 0, (rows[:, 3:] >= 0).all(axis=1)], axis=1)


def rows_summary(arrays: list[np.ndarray]) -> dict:
    """Rows, per-task valid counts, images per EXPR class and positives per AU (valid rows)."""
    rows = np.concatenate(arrays) if arrays else np.zeros((0, FIELDS - 1), np.float32)
    ok = rows_valid(rows)
    expr = rows[ok[:, 1], 2].astype(np.int64)
    au = rows[ok[:, 2], 3:].astype(np.int64)
    from harness.data.labels import CLASSES

    return {"rows": int(len(rows)), "valid_frames": int(ok.any(axis=1).sum()),
            "va_valid": int(ok[:, 0].sum()), "expr_valid": int(ok[:, 1].sum()),
            "au_valid": int(ok[:, 2].sum()),
            "class_counts": dict(zip(CLASSES, np.bincount(expr, minlength=N_CLASSES).tolist())),
            "au_positives": dict(zip(AU_NAMES, au.sum(axis=0).tolist() if len(au)
                                     else [0] * len(AU_NAMES)))}
