"""CLI: eval and train (the agent loop)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the toolgym app."""
