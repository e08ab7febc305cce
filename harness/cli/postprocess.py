"""``harness smooth`` and ``harness ensemble``: derived runs from saved logits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli import options as o
from harness.console import out

WindowOpt = Annotated[float, typer.Option(
    "--window", help="Window in seconds (full width), converted with each video's own fps.")]
SweepOpt = Annotated[bool, typer.Option(
    "--sweep", help="Score a grid of filters and windows on validation and keep the best "
    "(out of fold on fold sets); saves sweep.csv and sweep.png.")]
MethodsOpt = Annotated[str | None, typer.Option(
    help="Comma-separated filters for --sweep; default: all registered.")]
WindowsOpt = Annotated[str | None, typer.Option(
    help="Comma-separated windows (s) for --sweep; default: 0.25,0.5,1,1.5,2,3,4,6,8,12.")]
ExcludeOpt = Annotated[bool, typer.Option(
    "--exclude-imputed", help="Only frames whose face was observed enter a window.")]
BiasOpt = Annotated[bool, typer.Option(
    "--tune-bias", help="Per-class logit offsets chosen for macro F1 on validation (marked "
    "\\[val-tuned]; tuned out of fold on fold sets).")]
ThresholdsOpt = Annotated[bool, typer.Option(
    "--tune-thresholds", help="AU: one decision threshold per AU chosen for its F1 on "
    "validation (marked \\[val-tuned]; tuned out of fold on fold sets).")]
TimelinesOpt = Annotated[bool, typer.Option(
    help="Per-video timeline plots of validation (truth, raw, post-processed labels; EXPR).")]
TestTimelinesOpt = Annotated[bool, typer.Option(
    "--test-timelines", help="Also plot a timeline per test video.")]


def _show(done) -> None:
    from harness.postprocess.comparison import derived_report

    for part in derived_report(done.derived, done.release):
        out.print(part, soft_wrap=isinstance(part, str), markup=False)


def smooth_cmd(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Argument(
        help="Run folder or id (with saved logits); or the --config file's run.")] = None,
    config: o.ConfigOpt = None,
    method: Annotated[str, typer.Option(
        help="Filter: mean, median, gaussian, hamming or mode (or a registered one); mode "
        "needs labels (EXPR only).")]
    = "median",
    window: WindowOpt = 3.4,
    sweep: SweepOpt = False,
    methods: MethodsOpt = None,
    windows: WindowsOpt = None,
    exclude_imputed: ExcludeOpt = False,
    tune_bias: BiasOpt = False,
    tune_thresholds: ThresholdsOpt = False,
    timelines: TimelinesOpt = True,
    test_timelines: TestTimelinesOpt = False,
    task: o.TaskOpt = "expr",
    data: o.DataOpt = None,
    workdir: o.OutOpt = Path("harness-out"),
    quiet: o.QuietOpt = False,
    track: o.TrackOpt = None,
) -> None:
    """Temporal smoothing of a run's saved outputs, as a derived run (validation and test):
    EXPR class probabilities, VA values, AU probabilities."""
    from harness.api.postprocess import smooth

    _show(smooth(**o.given(ctx)))


def ensemble_cmd(
    ctx: typer.Context,
    runs: Annotated[list[str] | None, typer.Argument(
        help="Runs of one split (e.g. seeds), or of fold1..fold5 (pooled out-of-fold).")]
    = None,
    config: o.ConfigOpt = None,
    baseline: Annotated[list[str] | None, typer.Option(
        help="Pick runs of this baseline from the results store instead (repeatable).")]
    = None,
    split: Annotated[str, typer.Option(
        help="With --baseline: all (the latest complete fold set) or one split (the latest "
        "run of each configuration, e.g. seeds).")] = "all",
    combine: Annotated[str | None, typer.Option(
        help="EXPR: logits (mean of logits, the default), probs (mean of probabilities) or "
        "vote (labels); VA: mean (of values); AU: probs (each AU's mean probability, the "
        "default) or logits.")] = None,
    smooth: Annotated[str | None, typer.Option(
        "--smooth", help="Then smooth with this filter (mean, median, gaussian, hamming, "
        "mode).")] = None,
    window: WindowOpt = 3.4,
    sweep: SweepOpt = False,
    methods: MethodsOpt = None,
    windows: WindowsOpt = None,
    exclude_imputed: ExcludeOpt = False,
    tune_bias: BiasOpt = False,
    tune_thresholds: ThresholdsOpt = False,
    timelines: TimelinesOpt = True,
    test_timelines: TestTimelinesOpt = False,
    task: o.TaskOpt = "expr",
    data: o.DataOpt = None,
    workdir: o.OutOpt = Path("harness-out"),
    quiet: o.QuietOpt = False,
    track: o.TrackOpt = None,
) -> None:
    """Average (or vote) several runs' outputs, optionally smoothed, as a derived run."""
    from harness.api.postprocess import ensemble

    _show(ensemble(**o.given(ctx)))
