"""abaw-harness: reproduce, compare and submit Aff-Wild2 expression (EXPR) systems.

The package follows the data flow of the challenge, one way:
``harness.data`` (release reader, embedded corpus, splits) -> ``harness.features`` (face, audio,
pose, cache, time windows) -> ``baselines`` -> ``harness.runs`` (the one loop in
``harness.train``, run folders) -> ``submissions`` -> ``leaderboard``. ``harness.cli`` is a thin
typer layer on top.

The two entry points below are loaded lazily, so ``import harness.data`` stays light and no
module deep in the flow imports this facade.
"""

from harness.version import __version__

__all__ = ["__version__", "load_release", "run"]


def run(baseline: str, split: str = "official", **kwargs):
    """Run a registered baseline on a split (see ``harness.runs.run``)."""
    from harness.runs import run as _run

    return _run(baseline, split, **kwargs)


def load_release(root=None, **overrides):
    """Read an Aff-Wild2 release, or the embedded corpus (see ``harness.data.release``)."""
    from harness.data.release import load_release as _load

    return _load(root, **overrides)
