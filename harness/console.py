"""The one rich console the harness prints through (stderr for chatter, stdout for results)."""

from __future__ import annotations

from rich.console import Console

out = Console()
err = Console(stderr=True)
