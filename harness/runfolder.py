"""Transitional: ``harness.publish`` still imports ``RunFolder`` from here and reads
``run.json`` as a dict. Delete this module once it imports ``harness.records.RunFolder`` and
reads ``info().data_fingerprint`` / ``info().validation_tuned`` (the lead does it at merge).
"""

from __future__ import annotations

from harness.records import RunFolder as _RunFolder


class RunFolder(_RunFolder):
    """``harness.records.RunFolder`` with ``info()`` as the dict it was before ``RunInfo``."""

    def info(self) -> dict:  # type: ignore[override]
        return super().info().to_dict()
