"""``harness.report_results``: the docs' results tables regenerated from runs it makes
(``harness report results``; see ``harness.report``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from harness.api.common import check_workdir


def report_results(out: Path = Path("results.md"), *, mode: str = "quick",
                   data: Path | None = None, workdir: Path = Path("harness-report"),
                   baselines: Sequence[str] | None = None,
                   fusion_seeds: Sequence[int] | None = None,
                   face_seeds: Sequence[int] | None = None,
                   corpus_seeds: Sequence[int] | None = None, threads: int = 1,
                   epochs: int | None = None, face_epochs: int | None = None,
                   batch_size: int | None = None, videos: int | None = None,
                   seconds: float | None = None, task: str | None = None,
                   say: Callable[[str], None] | None = None, command: str = ""):
    """Run every baseline over the mode's seeds and write the tables (mean ± std), machine,
    versions and commands to ``out`` (between its report markers if it has them).

    ``task``: ``expr`` (default), ``va`` or ``au``; the runs are that challenge's, and the
    tables show its leaderboard columns on validation and its metric on the hidden test.

    >>> harness.report_results("docs/results.md", mode="quick")   # doctest: +SKIP
    """
    from harness.api.common import protected_inputs
    from harness.console import err
    from harness.paths import check_output_file
    from harness.report import REPORT_BASELINES, ReportConfig, make_report

    cfg = ReportConfig(out=Path(out), mode=mode, data=data, workdir=Path(workdir),
                       baselines=tuple(baselines or REPORT_BASELINES),
                       fusion_seeds=tuple(fusion_seeds or ()), face_seeds=tuple(face_seeds or ()),
                       corpus_seeds=tuple(corpus_seeds or ()), threads=threads, epochs=epochs,
                       face_epochs=face_epochs, batch_size=batch_size, videos=videos,
                       seconds=seconds, task=task)
    check_workdir(cfg.workdir)
    check_output_file(cfg.out, "--out", protected_inputs(workdir=cfg.workdir))
    _check_baselines(cfg.baselines)
    return make_report(cfg, say=say or (lambda line: err.print(line, soft_wrap=True)),
                       command=command)


def _check_baselines(names: Sequence[str]) -> None:
    """An unknown baseline is refused before the first run, not after an hour of others."""
    from baselines import get_baseline

    for name in names:
        get_baseline(name)
