"""Features computed elsewhere (HSEmotion, MAE, wav2vec ...), imported into the feature cache.

``harness extract --from DIR --as NAME`` reads one file per annotation or test name:

- ``<name>.npy``: one row per frame (row k-1 = frame k, the labels' numbering), every frame;
- ``<name>.npz`` with ``feat`` (rows, d) and ``frame`` (1-based frame of each row, increasing):
  per-frame features with gaps (an extractor that skips frames without a face); the other
  frames take the nearest row and are flagged as not observed;
- ``<name>.npz`` with ``feat`` and ``time`` (seconds of each row, increasing): features at their
  own rate (audio at 50 Hz, say), aligned by time. Names that share a video (``x_left``,
  ``x_right``) may share one ``<video>.npz``.

Every file is checked before anything is written (row count against the name's frames, one
feature size throughout, NaN/inf, names the release does not have, names of the release with no
file), and every problem is reported with its file. The import is stored like the harness's own
features (one cache entry per name, memory-mapped, done markers), keyed by a digest of the
source files, so a changed file is re-imported; an index file written last makes the import
visible, so a killed import is never half-used.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.atomic import write_json
from harness.console import progress
from harness.data.release import Release
from harness.data.videos import video_of
from harness.errors import HarnessError, reading
from harness.features.cache import FeatureCache, cache_root
from harness.features.modalities import MODALITIES
from harness.features.sources import FeatureSource
from harness.features.timeline import fill_from_nearest, frame_times
from harness.paths import files_digest

IMPORTS_DIR = "imports"
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: How many problems one error message lists before saying "and N more".
_SHOWN = 20


@dataclass(frozen=True)
class ImportSummary:
    name: str
    kind: str  # "per-frame" or "timed"
    dim: int
    n_names: int
    n_rows: int
    cache_dir: Path


@dataclass(frozen=True)
class _File:
    path: Path
    feat: np.ndarray
    frame: np.ndarray | None  # 1-based frames of the rows (per-frame kinds)
    time: np.ndarray | None  # seconds of the rows (timed kind)


def import_features(release: Release, folder: Path, name: str, *, names: list[str],
                    quiet: bool = False) -> ImportSummary:
    """Validate every file of ``folder`` for ``names``, then cache them as feature set ``name``."""
    _check_name(name)
    folder = Path(folder)
    files = _source_files(folder)
    problems = _unknown_files(release, files, names)
    chosen = {n: files.get(n) or files.get(video_of(n)) for n in names}
    missing = sorted(n for n, p in chosen.items() if p is None)
    if missing:
        problems.append(f"{folder}: no file for {len(missing)} name(s) a run needs: "
                        + ", ".join(missing[:_SHOWN]) + (" ..." if len(missing) > _SHOWN else ""))
    by_path: dict[Path, _File | None] = {}
    for path in sorted({p for p in chosen.values() if p is not None}):
        got, found = _load(path)
        by_path[path] = got
        problems += found
    loaded = {n: by_path[p] for n, p in sorted(chosen.items()) if p and by_path[p] is not None}
    problems += _check_consistency(release, loaded)
    if problems:
        raise HarnessError(_report(name, problems))
    kind = _kind(next(iter(loaded.values())))
    digest = files_digest(sorted({f.path for f in loaded.values()}))
    cache = FeatureCache(cache_root(release), f"import-{name}", {"digest": digest, "kind": kind})
    _write_entries(release, cache, loaded, quiet)
    dim = int(next(iter(loaded.values())).feat.shape[1])
    write_json(_index_path(release, name), {  # written last: makes the import visible
        "name": name, "kind": kind, "dim": dim, "cache_key": cache.key, "digest": digest,
        "config": cache.config, "source": str(folder.resolve()), "names": len(loaded)})
    return ImportSummary(name, kind, dim, len(loaded),
                         sum(f.feat.shape[0] for f in loaded.values()), cache.dir)


def imported_source(release: Release, name: str) -> FeatureSource:
    """The feature set imported as ``name`` for this release."""
    index = _index_path(release, name)
    if not index.is_file():
        raise HarnessError(f"no imported features named {name!r} for this release; import them "
                           f"with: harness extract --from DIR --as {name}")
    with reading(index, f"import the features again (harness extract --from DIR --as {name})"):
        meta = json.loads(index.read_text())
        cache = FeatureCache(cache_root(release), f"import-{name}", meta["config"])
        return FeatureSource(name, cache, per_frame=meta["kind"] == "per-frame")


def _check_name(name: str) -> None:
    if not _NAME_RE.match(name) or name.endswith("_mask") or name == "mask":
        raise HarnessError(f"--as {name!r}: a feature set name is letters, digits and '_', "
                           "starting with a letter (not 'mask' or '..._mask')")
    if name in MODALITIES:
        raise HarnessError(f"--as {name!r} is the name of the harness's own {name} features; "
                           "choose another name (e.g. hsemotion) and use --face-features NAME")


def _index_path(release: Release, name: str) -> Path:
    return cache_root(release) / IMPORTS_DIR / f"{name}.json"


def _source_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise HarnessError(f"--from {folder}: no such folder")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".npy", ".npz") and path.is_file():
            if path.stem in files:
                raise HarnessError(f"{path}: {files[path.stem].name} holds the same name")
            files[path.stem] = path
    if not files:
        raise HarnessError(f"--from {folder}: no .npy or .npz files")
    return files


def _unknown_files(release: Release, files: dict[str, Path], names: list[str]) -> list[str]:
    known = set(names) | {video_of(n) for n in names}
    annotated = set(release.train) | set(release.val)
    if release.layout.template is not None:
        annotated |= set(release.template.names)
    known |= annotated | {video_of(n) for n in annotated} | set(release.videos)
    # a release serves several tasks: a peer's folder also holds the videos of the others
    roots = release.layout.image_roots
    return [f"{path}: {stem!r} is neither a name nor a video of this release"
            for stem, path in files.items()
            if stem not in known and not any((root / stem).is_dir() for root in roots)]


#: Arrays declared larger than this are refused before being read: no real feature file comes
#: near it (50 k frames x 4096 float32 is 0.8 GB), and a compressed ``.npz`` could otherwise
#: inflate far beyond memory.
MAX_ARRAY_BYTES = 8 << 30
#: Feature sizes beyond this are a transposed or broken array, not features.
MAX_DIM = 1 << 16
#: Rows checked for NaN/inf at once: memory stays bounded whatever the file's size.
_CHUNK_ROWS = 1 << 14
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}
_DAMAGED = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def _load(path: Path) -> tuple[_File | None, list[str]]:
    """One file, or None and its problems."""
    try:
        if path.suffix == ".npy":
            feat, frame, time = np.load(path, mmap_mode="r", allow_pickle=False), None, None
        else:
            with np.load(path, allow_pickle=False) as z:
                if "feat" not in z:
                    return None, [f"{path}: no 'feat' array (has {sorted(z.files)[:10]})"]
                too_big = _oversized(path, z)
                if too_big:
                    return None, too_big
                feat = z["feat"]
                frame = z["frame"] if "frame" in z else None
                time = z["time"] if "time" in z else None
            if (frame is None) == (time is None):
                return None, [f"{path}: needs exactly one of 'frame' (1-based frame of each "
                              "row) or 'time' (seconds of each row)"]
    except _DAMAGED as exc:
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        return None, [f"{path}: not a readable numpy file ({detail})"]
    problems = _check_array(path, feat, frame, time)
    return (None if problems else _File(path, feat, frame, time)), problems


def _oversized(path: Path, z) -> list[str]:
    """Arrays of an ``.npz`` whose headers announce more than ``MAX_ARRAY_BYTES``."""
    out = []
    for key in ("feat", "frame", "time"):
        if key not in z:
            continue
        with z.zip.open(f"{key}.npy") as fh:
            read_header = _HEADER_READERS.get(np.lib.format.read_magic(fh))
            if read_header is None:
                out.append(f"{path}: '{key}' has an unknown .npy format version")
                continue
            shape, _, dtype = read_header(fh)
        size = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if size > MAX_ARRAY_BYTES:
            out.append(f"{path}: '{key}' announces {shape} {dtype} ({size / 2**30:.1f} GiB), "
                       f"more than {MAX_ARRAY_BYTES / 2**30:.0f} GiB; refused unread")
    return out


def _real(values: np.ndarray) -> bool:
    return np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)


def _first_bad_row(feat: np.ndarray) -> int | None:
    """First row with NaN, inf or a value float32 (the cache's type) cannot hold."""
    limit = np.finfo(np.float32).max
    for start in range(0, feat.shape[0], _CHUNK_ROWS):
        block = np.asarray(feat[start:start + _CHUNK_ROWS], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(block) <= limit)
        if bad.any():
            return start + int(np.argwhere(bad)[0][0])
    return None


def _check_array(path: Path, feat: np.ndarray, frame, time) -> list[str]:
    if feat.ndim != 2 or 0 in feat.shape or not _real(feat):
        return [f"{path}: features must be a non-empty 2-D array of real numbers (rows, size), "
                f"got {feat.dtype} {feat.shape}"]
    if feat.shape[1] > MAX_DIM:
        return [f"{path}: {feat.shape[1]} features per row (shape {feat.shape}); at most "
                f"{MAX_DIM}: is the array transposed?"]
    row = _first_bad_row(feat)
    if row is not None:
        return [f"{path}: NaN or inf at row {row} (or a value beyond float32)"]
    for label, values in (("frame", frame), ("time", time)):
        if values is None:
            continue
        if values.shape != (feat.shape[0],):
            return [f"{path}: '{label}' has shape {values.shape}, expected ({feat.shape[0]},)"]
        if not _real(values):
            return [f"{path}: '{label}' must hold numbers, got {values.dtype}"]
        if not np.all(np.isfinite(values)) or np.any(np.diff(values) <= 0):
            return [f"{path}: '{label}' must be finite and strictly increasing"]
    if frame is not None and (not np.issubdtype(frame.dtype, np.integer) or frame[0] < 1):
        return [f"{path}: 'frame' holds 1-based integer frame numbers"]
    if time is not None and time[0] < 0:
        return [f"{path}: 'time' starts at {time[0]} s, before the video"]
    return []


def _check_consistency(release: Release, loaded: dict[str, _File]) -> list[str]:
    """One kind and one feature size throughout; per-frame rows that fit each name's frames."""
    problems: list[str] = []
    if not loaded:
        return problems
    first = next(iter(loaded.values()))
    for name, f in loaded.items():
        if f.feat.shape[1] != first.feat.shape[1]:
            problems.append(f"{f.path}: feature size {f.feat.shape[1]}, but {first.path.name} "
                            f"has {first.feat.shape[1]}: one feature size throughout")
        if (f.time is None) != (first.time is None):
            problems.append(f"{f.path}: per-frame and timed files mixed in one import "
                            f"({first.path.name} is {_kind(first)})")
        n = release.n_frames(name)
        if f.time is None and f.frame is None and f.feat.shape[0] != n:
            problems.append(f"{f.path}: {f.feat.shape[0]} rows, but {name} has {n} frames "
                            "(one row per frame: row k-1 is frame k)")
        if f.frame is not None and f.frame[-1] > n:
            problems.append(f"{f.path}: frame {int(f.frame[-1])}, but {name} has {n} frames")
    return problems


def _kind(f: _File) -> str:
    return "timed" if f.time is not None else "per-frame"


def _report(name: str, problems: list[str]) -> str:
    shown = "\n  ".join(problems[:_SHOWN])
    more = f"\n  ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
    return (f"import {name!r} refused, nothing was written ({len(problems)} problem(s)):"
            f"\n  {shown}{more}")


def _write_entries(release: Release, cache: FeatureCache, loaded: dict[str, _File],
                   quiet: bool) -> None:
    todo = cache.missing(sorted(loaded))
    with progress("names", disable=quiet or not todo) as bar:
        task = bar.add_task(f"{cache.extractor} (import)", total=len(todo), info="")
        for name in todo:
            f = loaded[name]
            if f.time is not None:
                cache.save(name, f.feat, f.time, np.zeros(f.feat.shape[0], bool))
            else:
                n = release.n_frames(name)
                feat, flag = _per_frame(f, n)
                cache.save(name, feat, frame_times(np.arange(1, n + 1), release.fps(name)), flag)
            bar.update(task, advance=1, info=name)


def _per_frame(f: _File, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows for frames 1..n; frames without a row take the nearest row's and are flagged."""
    if f.frame is None:
        return np.asarray(f.feat, dtype=np.float32), np.zeros(n, bool)
    return fill_from_nearest(np.asarray(f.feat), f.frame.astype(np.int64), n, f.feat.shape[1])
