"""abaw-harness: reproduce, compare and submit Aff-Wild2 expression (EXPR) systems.

The package follows the data flow of the challenge, one way:
``harness.data`` (release reader, embedded corpus, splits) -> ``harness.features`` (face, audio,
pose, cache, time windows) -> ``baselines`` -> ``harness.train`` / ``harness.runs`` ->
``submissions`` -> ``leaderboard``. ``harness.cli`` is a thin typer layer on top.
"""

__version__ = "0.1.0"
