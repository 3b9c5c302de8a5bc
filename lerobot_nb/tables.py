"""Text tables for the terminal: one renderer for polars frames and lists of row dicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

__all__ = ["render_table"]

Rows = pl.DataFrame | Sequence[Mapping[str, object]]


def _cell(value: object, floats: str, max_width: int | None) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, float):
        text = format(value, floats)
    else:
        text = str(value)
    return text if max_width is None or len(text) <= max_width else text[: max_width - 3] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _records(table: Rows, columns: Sequence[str] | None) -> tuple[list[str], list[Mapping[str, object]]]:
    if isinstance(table, pl.DataFrame):
        # Temporal values as polars prints them (nanoseconds kept; Python datetimes stop at µs).
        table = table.with_columns(pl.col(pl.Datetime, pl.Date, pl.Duration, pl.Time).cast(pl.String))
        return list(columns or table.columns), list(table.iter_rows(named=True))
    rows = list(table)
    return list(columns or (rows[0] if rows else ())), rows


def render_table(
    table: Rows,
    columns: Sequence[str] | None = None,
    *,
    floats: str = ".3f",
    markdown: bool = False,
    max_width: int | None = 80,
    indent: str = "",
) -> str:
    """`table` (a polars frame or row dicts) as aligned text, one line per row under a header.

    `columns` picks and orders the columns (default: all). Floats use the format spec `floats`,
    None shows as `-`, cells longer than `max_width` (None: no limit) are cut with `...`. A column whose values
    are all numbers is right-aligned, any other left-aligned. `markdown` draws `| a | b |` rows
    under a `|---|` rule; otherwise columns are two spaces apart. Every line starts with `indent`.
    """
    names, rows = _records(table, columns)
    cells = [[_cell(r.get(c), floats, max_width) for c in names] for r in rows]
    right = [bool(rows) and all(_is_number(r.get(c)) for r in rows if r.get(c) is not None) for c in names]
    widths = [max(len(line[i]) for line in [names, *cells]) for i in range(len(names))]

    def line(values: Sequence[str]) -> str:
        padded = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)]
        return indent + ("| " + " | ".join(padded) + " |" if markdown else "  ".join(padded).rstrip())

    out = [line(names)]
    if markdown:
        out.append(indent + "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += [line(row) for row in cells]
    return "\n".join(out)
