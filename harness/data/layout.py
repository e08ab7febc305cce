"""Finding the pieces of an Aff-Wild2 release under a root folder, for one task.

Releases differ by edition (ABAW3, 5, 6, 10 folder names), by how faces are spread over image
roots, and by where people unpacked videos. A task's annotations (its folders per edition come
from the task, ``harness.tasks``), image roots, poses and its test files are looked for a few
levels down; videos at any depth below the root (the root included), since people unpack them
anywhere. No search ever descends into image roots (millions of jpgs), pose folders or
annotation sets. Any piece can be overridden one by one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from harness.data.mtl import TEST_FOLDERS as MTL_TEST_FOLDERS
from harness.errors import HarnessError
from harness.tasks import TRAIN_DIR, VAL_DIR, Task, get_task

VIDEO_SUFFIXES = (".mp4", ".avi")
SEARCH_DEPTH = 3
#: The face image sets of a release: ``cropped_aligned`` (112x112, aligned; the default) and
#: ``cropped`` (the detector's non-aligned crops, of varying size). Folders of a set are named
#: after it, optionally with a suffix (``cropped_aligned_new_50_vids``), or hold batch folders.
IMAGE_SETS = ("cropped_aligned", "cropped")
DEFAULT_IMAGE_SET = "cropped_aligned"


@dataclass(frozen=True)
class ReleaseLayout:
    root: Path
    edition: str
    train_dir: Path
    val_dir: Path
    image_roots: tuple[Path, ...]
    video_dirs: tuple[Path, ...]
    pose_dir: Path | None
    test_list: Path | None
    template: Path | None
    cropped_roots: tuple[Path, ...] = ()  # the non-aligned ``cropped`` set (``--image-set``)


def find_release(
    root: str | Path,
    *,
    annotations: str | Path | None = None,
    image_roots: tuple[str | Path, ...] | None = None,
    video_dirs: tuple[str | Path, ...] | None = None,
    pose_dir: str | Path | None = None,
    test_list: str | Path | None = None,
    template: str | Path | None = None,
    task: str | Task | None = None,
) -> ReleaseLayout:
    """Locate ``task``'s release (default EXPR) under ``root``; explicit arguments win over
    discovery.

    ``annotations`` is the task's challenge folder (the one holding ``Train_Set``).
    """
    task = get_task(task)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise HarnessError(f"data root {root} does not exist or is not a folder")
    dirs = _shallow_dirs(root)
    edition, expr_dir = _find_annotations(root, dirs, annotations, task)
    images = tuple(Path(p) for p in image_roots) if image_roots else _find_image_roots(dirs)
    layout = ReleaseLayout(
        root=root,
        edition=edition,
        train_dir=expr_dir / TRAIN_DIR,
        val_dir=expr_dir / VAL_DIR,
        image_roots=images,
        video_dirs=video_folders(tuple(Path(p) for p in video_dirs) if video_dirs else (root,)),
        pose_dir=Path(pose_dir) if pose_dir else _first_dir(dirs, "openpose"),
        test_list=Path(test_list) if test_list else _find_file(root, dirs, task.test_lists),
        template=Path(template) if template else _find_template(root, dirs, task),
        cropped_roots=_find_image_roots(dirs, "cropped"),
    )
    return _checked(layout, task)


def _checked(layout: ReleaseLayout, task: Task) -> ReleaseLayout:
    for label, path in ((TRAIN_DIR, layout.train_dir), (VAL_DIR, layout.val_dir)):
        if not path.is_dir():
            raise HarnessError(f"{layout.root} is not an {task.name.upper()} release: no {label} "
                               f"folder at {path}")
    for path in layout.image_roots:
        if not path.is_dir():
            raise HarnessError(f"folder {path} does not exist")
    return replace(layout, image_roots=tuple(dict.fromkeys(layout.image_roots)),
                   cropped_roots=tuple(dict.fromkeys(layout.cropped_roots)))


def _shallow_dirs(root: Path) -> list[Path]:
    """Folders down to a small depth, not entering image roots or per-video pose folders."""
    out: list[Path] = []
    frontier = [root]
    for _ in range(SEARCH_DEPTH):
        nxt = []
        for d in frontier:
            try:
                entries = [e for e in os.scandir(d) if e.is_dir() and not e.name.startswith(".")]
            except OSError:
                continue
            for e in sorted(entries, key=lambda e: e.name):
                path = Path(e.path)
                out.append(path)
                if not _is_leaf_store(path):
                    nxt.append(path)
        frontier = nxt
    return out


def _is_leaf_store(path: Path) -> bool:
    name = path.name.lower()
    return (image_set_of(path) is not None or name == "openpose" or name.endswith("_set"))


def image_set_of(path: Path) -> str | None:
    """The image set a folder named like ``cropped_aligned*`` or ``cropped[_*]`` holds."""
    name = path.name.lower()
    if name.startswith("cropped_aligned"):
        return "cropped_aligned"
    if name == "cropped" or name.startswith("cropped_"):
        return "cropped"
    return None


def _find_annotations(root, dirs, override, task: Task) -> tuple[str, Path]:
    if override is not None:
        return "custom", Path(override)
    if (root / TRAIN_DIR).is_dir():
        return "custom", root
    for folder in task.annotation_folders:
        for base in [root, *dirs]:
            if (base / folder.path).is_dir():
                return folder.edition, base / folder.path
    looked = ", ".join(dict.fromkeys(f.path.as_posix() for f in task.annotation_folders))
    raise HarnessError(
        f"{root} is not an Aff-Wild2 {task.name.upper()} release: none of {looked} was found "
        "(pass --annotations to point at the folder holding Train_Set)"
    )


def _find_image_roots(dirs: list[Path], image_set: str = DEFAULT_IMAGE_SET
                      ) -> tuple[Path, ...]:
    """Folders of ``image_set``; when one only holds batch folders, those are the roots."""
    roots: list[Path] = []
    for d in dirs:
        if image_set_of(d) != image_set or d.parent.name in MTL_TEST_FOLDERS:
            continue
        children = sorted(p for p in d.iterdir() if p.is_dir())
        if children and all(_holds_only_dirs(c) for c in children[:3]):
            roots.extend(children)
        else:
            roots.append(d)
    return tuple(roots)


def _holds_only_dirs(folder: Path) -> bool:
    with os.scandir(folder) as it:
        for i, e in enumerate(it):
            if e.name.lower().endswith(".jpg"):
                return False
            if i > 20:
                break
    return True


def video_folders(roots: tuple[Path, ...]) -> tuple[Path, ...]:
    """Every folder at any depth below ``roots`` (each root included) directly holding a video.

    Folders are visited in sorted order, each root first, so a stem found twice resolves the same
    way every time. Symbolic links to folders are followed once (a link loop is visited once).
    """
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for root in roots:
        if not root.is_dir():
            raise HarnessError(f"video folder {root} does not exist")
        stack = [root]
        while stack:
            folder = stack.pop()
            entries = _visit(folder, seen)
            if any(e.name.lower().endswith(VIDEO_SUFFIXES) and _is_file(e) for e in entries):
                found.append(folder)
            subdirs = [Path(e.path) for e in entries if not e.name.startswith(".") and _is_dir(e)]
            stack.extend(reversed([d for d in subdirs if not _is_leaf_store(d)]))
    return tuple(found)


def _visit(folder: Path, seen: set[tuple[int, int]]) -> list[os.DirEntry]:
    """The sorted entries of ``folder``, or none when it was visited already or is unreadable."""
    try:
        st = folder.stat()
        if (st.st_dev, st.st_ino) in seen:
            return []
        seen.add((st.st_dev, st.st_ino))
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _first_dir(dirs: list[Path], name: str) -> Path | None:
    return next((d for d in dirs if d.name == name), None)


def _find_file(root: Path, dirs: list[Path], names: tuple[str, ...]) -> Path | None:
    for base in [root, *dirs]:
        for n in names:
            if (base / n).is_file():
                return base / n
    return None


def _find_template(root: Path, dirs: list[Path], task: Task) -> Path | None:
    for base in [root, *dirs]:
        with os.scandir(base) as it:
            hits = sorted(e.path for e in it
                          if e.is_file() and task.template_pattern.match(e.name))
        if hits:
            return Path(hits[0])
    return None
