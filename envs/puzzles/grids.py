"""Reading and writing the square grids that grid puzzles answer with (Sudoku, Futoshiki, N-Queens)."""

from __future__ import annotations

import re


def format_grid(rows: list[list[object]], sep: str = " ") -> str:
    """One line per row, cells separated by ``sep``."""
    return "\n".join(sep.join(str(c) for c in row) for row in rows)


def parse_grid(text: str, n_rows: int, n_cols: int, cell: str = r"\d+") -> list[list[str]] | None:
    """The last ``n_rows`` lines of ``text`` that hold exactly ``n_cols`` cells matching ``cell``.

    Lines with another number of cells (headings, prose, "Row 1:" labels that leave the count
    right are fine) are skipped; ``None`` when there are fewer than ``n_rows`` such lines.
    """
    pattern = re.compile(cell)
    rows = []
    for line in text.strip().splitlines():
        line = re.sub(r"^\s*(row\s*)?\d+\s*[:)]\s*", "", line, flags=re.IGNORECASE)
        cells = pattern.findall(line)
        if len(cells) == n_cols:
            rows.append(cells)
    if len(rows) < n_rows:
        if len(rows) == 0 and n_rows * n_cols > 0:  # the whole grid on one line
            flat = pattern.findall(text)
            if len(flat) == n_rows * n_cols:
                return [flat[r * n_cols : (r + 1) * n_cols] for r in range(n_rows)]
        return None
    return rows[-n_rows:]


def parse_int_grid(text: str, n: int) -> list[list[int]] | None:
    """An ``n`` x ``n`` grid of integers (digits may be run together when ``n`` < 10)."""
    cell = r"\d" if n < 10 else r"\d+"
    rows = parse_grid(text, n, n, cell)
    return None if rows is None else [[int(c) for c in row] for row in rows]
