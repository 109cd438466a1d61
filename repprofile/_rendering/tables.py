"""Plain-text building blocks: aligned text tables and number cells.

Only the standard library; every text document of :mod:`repprofile._rendering.text`
and the command line are built from these.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["number", "text_table"]


def text_table(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Rows as columns padded to their widest cell, two spaces apart, one line a row.

    Columns whose index is in ``right`` are right-aligned, the others left-aligned;
    trailing spaces are stripped and the text ends with a newline.
    """
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def number(v: float | None, digits: int = 2) -> str:
    """A table cell: ``v`` with ``digits`` decimals, or ``-`` for no value."""
    return "-" if v is None else f"{v:.{digits}f}"
