"""What the season tests (recipes, tracking, tuning) share: tiny corpora and the CLI in-process.

In-process so a test can monkeypatch what the command imports (a missing extra) and pays no
interpreter start-up; ``main`` is the console entry point, errors and exit codes included.
"""

from __future__ import annotations

import sys
from pathlib import Path

POSE_ONLY = str(Path(__file__).resolve().parents[1] / "examples" / "single_modality.py")


def tiny_corpus(root: Path, videos: int) -> Path:
    """A synthetic corpus of ``videos`` videos of 3 s (8 are enough for five folds)."""
    from harness.data.synth import synthesize

    synthesize(root, seed=3, videos=videos, seconds=3, progress=False)
    return root


def load(root: Path):
    import warnings

    from harness.data.release import load_release

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_release(root)


def cli(capsys, *args) -> tuple[int, str, str]:
    """``harness ARGS`` in this process: (exit code, stdout, stderr)."""
    import pytest

    from harness.cli import main

    capsys.readouterr()
    mp = pytest.MonkeyPatch()
    mp.setattr(sys, "argv", ["harness", *map(str, args)])
    mp.setenv("COLUMNS", "200")
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        mp.undo()
    captured = capsys.readouterr()
    return code, captured.out, captured.err
