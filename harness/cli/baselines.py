"""``harness baselines``: registered baselines, their modalities and parameter counts."""

from __future__ import annotations

from harness.cli.options import BaselineModuleOpt
from harness.console import out


def baselines_cmd(baseline_module: BaselineModuleOpt = None) -> None:
    """List registered baselines with their modalities and parameter counts."""
    from harness.api.data import baselines
    from harness.cli.tables import baselines_table

    out.print(baselines_table(baselines(baseline_module)))
