"""What the API functions share: reading a release, rank 0, user modules, option values.

Nothing here imports torch: a single process is rank 0 without asking ``torch.distributed``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from harness.config_files import load_dataclass, nest, read_config_file
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.data.release import Release

T = TypeVar("T")


def is_main() -> bool:
    """False on the other ranks of a torchrun job: only rank 0 reports."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return True
    from harness import distributed

    return distributed.is_main()


def load_release(data: Path | None, release: Release | None = None,
                 task: str | None = None) -> Release:
    """``release`` if given, else ``task``'s part of the one at ``data`` (None: the embedded
    corpus; task None: EXPR); under torchrun only rank 0 shows the release's warnings."""
    if release is not None:
        from harness.tasks import get_task

        if task is not None and release.task is not get_task(task):
            return _load_quietly(release.root, task)
        return release
    return _load_quietly(data, task)


def _load_quietly(data: Path | None, task: str | None) -> Release:
    from harness.data.release import load_release as _load

    with warnings.catch_warnings():
        if not is_main():  # every rank reads the same release: rank 0 reports it
            warnings.simplefilter("ignore")
        return _load(data, task=task)


def load_user_modules(modules: Sequence[str] | None) -> list[str]:
    """Import the user's baseline modules (names or .py files), as ``python -m`` would find
    them beside the user; returns the names they registered, each module's said on stderr."""
    if not modules:
        return []
    from baselines import load_baseline_module
    from harness.console import err

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    names = []
    for m in modules:
        added = load_baseline_module(m)
        err.print(f"Registered from {m}: {', '.join(added)}")
        names += added
    return names


def configured(cls: type[T], config: str | Path | Mapping | T | None,
               options: Mapping[str, Any], keys: Mapping[str, str]) -> T:
    """``cls`` from ``config`` (a file, a dict of its keys, or an instance; None: defaults)
    with ``options`` laid over it.

    ``options`` are API keywords; ``keys`` maps each to its dotted config key. A keyword left
    at None is not given and keeps the file's (or the default) value: on the command line only
    the options the user typed are given.
    """
    given = {keys[k]: v for k, v in options.items() if v is not None}
    if config is None or isinstance(config, cls):
        base = config
    elif isinstance(config, str | Path):
        base = load_dataclass(cls, read_config_file(config), source=str(config))
    elif isinstance(config, Mapping):
        base = load_dataclass(cls, config, source="config")
    else:
        raise HarnessError(f"config must be a file, a dict or a {cls.__name__}, not "
                           f"{type(config).__name__}")
    if base is not None and not given:
        return base
    return load_dataclass(cls, nest(given), source="options", base=base)


def numbers(option: str, text: str | Sequence[float], *, count: int | None = None,
            what: str = "numbers") -> tuple[float, ...]:
    """Comma-separated numbers (``"0.5,1,2"``) or a sequence of them, as a tuple of floats."""
    if not isinstance(text, str):
        values = tuple(float(x) for x in text)
    else:
        try:
            values = tuple(float(x) for x in text.split(","))
        except ValueError:
            what = f"{count} numbers" if count else what
            raise HarnessError(f"{option} takes {what} separated by commas, not {text!r}") \
                from None
    if count is not None and len(values) != count:
        raise HarnessError(f"{option} takes {count} numbers (one a channel), not {text!r}")
    return values


def names(text: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``"a,b"`` or ``["a", "b"]`` -> ``("a", "b")``."""
    if text is None:
        return None
    return tuple(text.split(",")) if isinstance(text, str) else tuple(text)


def check_workdir(workdir: Path | str | None) -> Path | None:
    """``--workdir`` (and its ``runs`` folder) must be folders, or not exist yet: a file there
    would stop the command late with ``NotADirectoryError``, perhaps after hours of features."""
    if workdir is None:
        return None
    from harness.paths import check_folder
    from harness.records.folder import RUNS_DIR

    check_folder(Path(workdir) / RUNS_DIR, "--workdir")
    return Path(workdir)


def protected_inputs(release: Release | None = None,
                     workdir: Path | str | None = None) -> list[Path]:
    """What no output the user names may write over: every file and folder the release reads
    (its root, which holds annotations, template, test list and images, and any folder an
    ``ABAW_*`` override points elsewhere), the embedded corpus's hidden test labels, and the
    run folders and the results store (``leaderboard.jsonl``, named as in
    ``harness.records.store``; not imported, it would load the metrics) under ``workdir``."""
    from harness.records.folder import RUNS_DIR

    guarded: list[Path] = []
    if release is not None:
        lay = release.layout
        guarded += [lay.root, lay.train_dir, lay.val_dir, *lay.image_roots, *lay.video_dirs,
                    *lay.cropped_roots]
        guarded += [p for p in (lay.pose_dir, lay.test_list, lay.template) if p is not None]
    if workdir is not None:
        guarded += [Path(workdir) / RUNS_DIR, Path(workdir) / "leaderboard.jsonl"]
    return guarded
