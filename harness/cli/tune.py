"""``harness tune``: an Optuna search on the folds; every ``harness run`` option typed is held
fixed and left out of the search.

The run options are ``harness run``'s own (its signature, reused), so the two commands never
drift apart; ``--split``, ``--config``, ``--resume`` and ``--folds`` (a membership file there, the
tuning folds here) are not taken from it.
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import Annotated, Any

import typer

from harness.cli import options as o
from harness.cli.run import run_cmd
from harness.console import out

#: ``harness run`` parameters tune does not hold fixed (see the module docstring).
_NOT_HELD = ("ctx", "baseline", "split", "config", "resume", "folds")


def _tune(
    ctx: typer.Context,
    baseline: Annotated[str, typer.Argument(help="Registered baseline name.")],
    trials: Annotated[int, typer.Option(
        min=1, help="Finished (complete or pruned) trials the study should hold.")],
    space: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="TOML space file (\\[params.\"train.lr\"] tables); "
        "default: the baseline family's space.")] = None,
    study: Annotated[str | None, typer.Option(
        help="Study name (default: the baseline); the same name resumes it.")] = None,
    folds: Annotated[str | None, typer.Option(
        help="Tuning folds, comma-separated (default: fold1..fold5).")] = None,
    prune_after: Annotated[int, typer.Option(
        min=1, help="Prune a poor trial only after this many folds.")] = 2,
    sampler_seed: Annotated[int, typer.Option(
        help="TPE sampler seed (give each parallel worker its own).")] = 0,
    **run_options: Any,
) -> None:
    """Search hyperparameters on the folds (pooled out-of-fold macro F1); ends with
    <workdir>/tune/<study>/best.toml and search.png. Run it again to resume; start it in
    several processes (or Slurm array tasks) to search in parallel."""
    from harness.api.tune import tune

    result = tune(**o.given(ctx))
    o.say(f"study {result.study}: {result.complete} complete, {result.pruned} pruned, "
          f"{result.failed} failed")
    shown = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v!r}"
                      for k, v in result.best_params.items())
    o.say(f"best pooled out-of-fold macro F1 {result.best_value:.4f} ({shown or 'defaults'})")
    o.say(f"best configuration: {result.best_config}")
    o.say(f"search plot: {result.plot}")
    out.print(f"run it: harness run --config {result.best_config} --split all", soft_wrap=True,
              markup=False)


def _with_run_options(own) -> Any:
    """``own`` taking ``harness run``'s options as well (its parameters and their hints)."""
    hints = typing.get_type_hints(own, include_extras=True)
    run_hints = typing.get_type_hints(run_cmd, include_extras=True)
    mine = [p.replace(annotation=hints[p.name]) for p in inspect.signature(own).parameters.values()
            if p.kind is not p.VAR_KEYWORD]
    held = [p.replace(annotation=run_hints[name])
            for name, p in inspect.signature(run_cmd).parameters.items()
            if name not in _NOT_HELD and name not in hints]

    def command(**kwargs: Any) -> None:
        own(**kwargs)

    command.__signature__ = inspect.Signature(mine + held)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in mine + held}
    command.__doc__, command.__name__ = own.__doc__, "tune"
    return command


tune_cmd = _with_run_options(_tune)
