"""Rows (entity, timeline values, archetypes) to Rerun chunks, one chunk per entity and row layout."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from lerobot_nb.sources.ros_rows import Row

if TYPE_CHECKING:
    import pyarrow as pa
    from rerun.chunk import Chunk

__all__ = ["rows_to_chunks"]


class _Arrow:
    """A plain arrow array where rerun wants something with `as_arrow_array()`."""

    def __init__(self, array: pa.Array) -> None:
        self._array = array

    def as_arrow_array(self) -> pa.Array:
        return self._array


def _layout(row: Row, batches: list[Any]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    return (row.entity, tuple(n for n, _ in row.times), tuple(str(b.component_descriptor()) for b in batches))


def rows_to_chunks(rows: Iterable[Row]) -> list[Chunk]:
    """Columnar chunks holding `rows`: rows with the same entity, timelines and components share one.

    Row order within a chunk is the input order; rows without times become static chunks.
    """
    groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[tuple[Row, list[Any]]]] = {}
    for row in rows:
        batches = [b for a in row.archetypes for b in a.as_component_batches()]
        groups.setdefault(_layout(row, batches), []).append((row, batches))
    # A static entity keeps one value: the last row, as Rerun's store would.
    return [
        _chunk(entity, timelines, members if timelines else members[-1:])
        for (entity, timelines, _), members in groups.items()
    ]


def _chunk(entity: str, timelines: tuple[str, ...], members: list[tuple[Row, list[Any]]]) -> Chunk:
    import pyarrow as pa
    import rerun as rr
    from rerun.chunk import Chunk

    indexes = [
        rr.TimeColumn(
            name, timestamp=np.array([row.times[i][1] for row, _ in members], dtype="datetime64[ns]")
        )
        for i, name in enumerate(timelines)
    ]
    columns = []
    for j, first in enumerate(members[0][1]):
        arrays = [batches[j].as_arrow_array() for _, batches in members]
        lengths = [len(a) for a in arrays]
        columns.append(
            rr.ComponentColumn(
                first.component_descriptor(), _Arrow(pa.concat_arrays(arrays)), lengths=lengths
            )
        )
    return Chunk.from_columns(entity, indexes=indexes, columns=columns)
