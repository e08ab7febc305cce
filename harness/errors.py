"""One error family, so the CLI can turn any expected failure into one red line and exit 2."""

from __future__ import annotations

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
