"""What one cached entry is computed from, so that a changed input is recomputed.

The cache folder's key holds the configuration; the user's files a name's entry was computed
from (face images, a video, OpenPose files) are described by an ``Inputs`` recorded in the
entry's ``done.json`` and compared on every run. Files are described by name and size only
(one ``stat`` each, nothing opened): modification times are left out, so a copied release
keeps its cache, and a replaced or restored file (another size, files added or removed) is
caught.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Inputs:
    """What one entry is computed from: ``parts`` maps each input to a digest (compared) and a
    short description (shown when it changed), e.g. ``{"faces": ("9f3c...", "312 face images,
    1.2 MB")}``."""

    parts: dict[str, tuple[str, str]]

    def record(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in sorted(self.parts.items())}

    def changes(self, recorded: object) -> str | None:
        """Why ``recorded`` (a ``done.json`` record) differs from these inputs; None if not."""
        if not isinstance(recorded, dict):
            return "no record of its inputs (cached by an older harness)"
        why = []
        for key, (digest, now) in sorted(self.parts.items()):
            old = recorded.get(key)
            if not (isinstance(old, list) and len(old) == 2):
                why.append(f"{key}: not recorded")
            elif old[0] != digest:
                why.append(f"{key}: {old[1]} -> {now}" if old[1] != now else f"{key} changed")
        return "; ".join(why) or None


def files_part(paths: Iterable[Path]) -> tuple[str, str]:
    """(digest, description) of files by name and size; an absent file counts as absent."""
    h, count, size = hashlib.sha256(), 0, 0
    for path in paths:
        try:
            n = path.stat().st_size
        except OSError:
            n = -1
        h.update(f"{path.name}\0{n}\n".encode())
        count += n >= 0
        size += max(n, 0)
    return h.hexdigest()[:16], f"{count} file(s), {size / 1e6:.1f} MB"
