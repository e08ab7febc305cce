"""The embedded default: a synthetic corpus laid out like the real release, made once.

Every command that gets no ``--data`` uses it, so the harness works on a fresh machine with no
licensed data. It is generated under ``harness_home()`` the first time and reused; a file lock
keeps concurrent first runs from generating it twice.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock
from rich.console import Console

from harness.paths import harness_home

#: Bumped whenever the generator's output changes, so caches of old corpora are not reused.
CORPUS_VERSION = 5  # 4: VA and AU annotations; 5: the MTL release (EXPR, VA, AU files unchanged)
DEFAULT_SEED = 0

_console = Console(stderr=True)


def default_corpus_path(seed: int = DEFAULT_SEED) -> Path:
    return harness_home() / "corpus" / f"synth-v{CORPUS_VERSION}-seed{seed}"


def ensure_default_corpus(seed: int = DEFAULT_SEED, *, quiet: bool = False) -> Path:
    """Path of the embedded corpus, generating it first if this machine has none yet."""
    from harness.data.synth import synthesize
    from harness.data.synth.staging import remove_partials

    path = default_corpus_path(seed)
    if (path / "synth.json").is_file():
        if not quiet:
            _console.print(f"[dim]Using the embedded synthetic corpus at {path}[/dim]")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not (path / "synth.json").is_file():
            remove_partials(path, only_dead=False)  # under the lock: every one is dead
            _console.print(
                f"No --data given: generating the embedded synthetic corpus (seed {seed}) "
                f"into {path} (once; later commands reuse it)."
            )
            synthesize(path, seed=seed, progress=not quiet)
    return path

