"""The CLI's rich console, made on first use: rich is not imported until a command prints with it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@cache
def console() -> Console:
    """The shared console (it writes to whatever ``sys.stdout`` is at print time)."""
    from rich.console import Console

    return Console()
