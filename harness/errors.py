"""One error family, so the CLI can turn any expected failure into one red line and exit 2."""

from __future__ import annotations

import contextlib
import pickle
import zipfile
from collections.abc import Iterator
from pathlib import Path


class HarnessError(Exception):
    """An expected failure the user can fix (bad input, missing file, refused request)."""


class ReleaseFormatError(HarnessError):
    """A file of the release (or a user file in a release format) breaks the format.

    Carries the file and, where it applies, the 1-based line (or frame / row) so the message
    points at the exact place to fix.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        where = f"{self.path}" if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {message}")


class DiskFullError(HarnessError):
    """No space left where the harness writes: one message naming the folder and the space.

    Raised by every writer of ``harness.atomic`` (the temp file removed first), so a full disk
    never shows as a library's traceback and never leaves a half-written file.
    """

    def __init__(self, folder: str | Path, free: int | None, needed: int | None = None,
                 writing: str | Path | None = None):
        self.folder, self.free, self.needed = Path(folder), free, needed
        parts = [f"no space left on the device of {self.folder}"]
        if writing is not None:
            parts.append(f"while writing {writing}")
        if needed is not None:
            parts.append(f"needs {_mb(needed)}")
        parts.append(f"{_mb(free)} free" if free is not None else "free space unknown")
        super().__init__(", ".join(parts) + "; free some space (or point ABAW_HARNESS_HOME / "
                         "--workdir elsewhere) and run the command again")


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


#: What reading a damaged file raises: cut short (a copy interrupted, a full disk), edited by
#: hand, or another format (npz, torch zip, JSON, pickle refused by ``weights_only``).
_DAMAGE = (OSError, ValueError, KeyError, TypeError, EOFError, RuntimeError,
           zipfile.BadZipFile, pickle.UnpicklingError)


@contextlib.contextmanager
def reading(path: str | Path, hint: str = "") -> Iterator[None]:
    """Turn a damaged file into one error naming it, instead of a library's traceback.

    The harness writes every file atomically, so damage comes from outside (a partial copy
    of a run folder, an edit); the message says which file, what the reader found and, with
    ``hint``, what to do about it.
    """
    try:
        yield
    except HarnessError:
        raise
    except _DAMAGE as exc:
        detail = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        raise HarnessError(f"{path}: damaged or unreadable ({detail})"
                           + (f"; {hint}" if hint else "")) from None
