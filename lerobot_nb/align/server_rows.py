"""Rows of one episode read from a Rerun server: what the dataset offers, and checks of the rows.

`Catalog` lists the dataset's columns, timelines, sizes and index ranges once per run; the
functions turn a numeric column into a matrix, catch timestamps that go back in logging order,
and find the dimension names a recording logged with a stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.query import ColumnInfo, StreamRows, component_columns, index_timelines

if TYPE_CHECKING:
    from rerun.catalog import DatasetEntry

__all__ = ["Catalog", "check_monotonic", "first_text", "name_columns", "numeric_matrix", "recorded_names"]


@dataclass
class Catalog:
    """What the dataset offers, listed once per run."""

    columns: dict[str, ColumnInfo]
    timelines: dict[str, str]
    dataset: Any = None
    _sizes: dict[str, int] | None = None
    _starts: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def of(cls, dataset: DatasetEntry) -> Catalog:
        """List the dataset's component columns and index timelines (one server query each)."""
        return cls({c.name: c for c in component_columns(dataset)}, dict(index_timelines(dataset)), dataset)

    def size_bytes(self, episode: str) -> int | None:
        """The episode's stored size as the server reports it (None if it does not say)."""
        if self._sizes is None:
            self._sizes = {}
            try:
                table = self.dataset.segment_table().to_arrow_table()
                if "rerun_size_bytes" in table.column_names:
                    ids = table.column("rerun_segment_id").to_pylist()
                    self._sizes = dict(zip(ids, table.column("rerun_size_bytes").to_pylist(), strict=True))
            except Exception:  # an older server without the column: fall back to the file size
                self._sizes = {}
        size = self._sizes.get(episode)
        return int(size) if size is not None else None

    def index_start(self, episode: str, index: str) -> int | None:
        """The episode's first value on timeline `index` (timeline units), as the server lists it."""
        if not self._starts:
            table = self.dataset.segment_table().to_arrow_table()
            ids = table.column("rerun_segment_id").to_pylist()
            for name in self.timelines:
                if f"{name}:start" in table.column_names:
                    starts = table.column(f"{name}:start").cast(pa.int64()).to_pylist()
                    self._starts |= {
                        (e, name): int(v) for e, v in zip(ids, starts, strict=True) if v is not None
                    }
        return self._starts.get((episode, index))


def _describe_time(t: int, t0: int, per_s: Fraction) -> str:
    return f"{(t - t0) / float(per_s):.3f} s into the episode"


def numeric_matrix(rows: StreamRows, key: str, per_s: Fraction) -> np.ndarray:
    """`(N, D)` float64 from a list-of-numbers column; errors for ragged or all-NaN streams."""
    values = rows.values
    if pa.types.is_null(values.type) or not (
        pa.types.is_list(values.type)
        or pa.types.is_large_list(values.type)
        or pa.types.is_fixed_size_list(values.type)
    ):
        raise LerobotNbError(f"column {rows.column} is not a list of numbers ({values.type})", stream=key)
    inner = values.type.value_type
    if not (pa.types.is_floating(inner) or pa.types.is_integer(inner) or pa.types.is_boolean(inner)):
        raise LerobotNbError(f"column {rows.column} holds {inner}, not numbers", stream=key)
    lengths = pc.list_value_length(values).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths != lengths[0]).any():
        i = int(np.argmax(lengths != lengths[0]))
        raise LerobotNbError(
            f"vector length changes from {lengths[0]} to {lengths[i]} at "
            f"{_describe_time(int(rows.times[i]), int(rows.times[0]), per_s)} (sample {i})",
            stream=key,
        )
    width = int(lengths[0]) if len(lengths) else 0
    if width == 0:
        raise LerobotNbError("every sample is an empty vector", stream=key)
    flat = pc.list_flatten(values).cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
    out = np.asarray(flat, dtype=np.float64).reshape(len(values), width)
    if np.isnan(out).all():
        raise LerobotNbError(f"all {len(out)} samples are NaN", stream=key)
    return out


def _steps_back(rows: StreamRows) -> np.ndarray:
    """`(i, t)` pairs where, in log order, the index time `t[i + 1]` is before `t[i]`."""
    if rows.order is None or len(rows) < 2:
        return np.empty((0, 2), np.int64)
    mask = rows.order >= 0
    t = rows.times[mask][np.argsort(rows.order[mask], kind="stable")]
    back = np.flatnonzero(np.diff(t) < 0)
    return np.stack([t[back], t[back + 1]], axis=1) if len(back) else np.empty((0, 2), np.int64)


def check_monotonic(
    rows: StreamRows, key: str, per_s: Fraction, order_name: str | None, recheck: Callable[[], StreamRows]
) -> None:
    """Rows sorted by log order (`order_name`, e.g. log_time) must not go back on the index.

    The joint query merges rows of different entities that share a time, so a row's log time
    may be another stream's; a suspected step back is confirmed on this stream's rows alone.
    """
    if not len(_steps_back(rows)):
        return
    back = _steps_back(recheck())
    if len(back):
        t0 = int(rows.times[0])
        raise LerobotNbError(
            f"timestamps are not monotonic: in {order_name} order the sample at "
            f"{_describe_time(int(back[0, 1]), t0, per_s)} comes after the one at "
            f"{_describe_time(int(back[0, 0]), t0, per_s)} ({len(back)} step(s) back)",
            stream=key,
        )


def first_text(values: Any) -> str | None:
    """A text cell as a string: the first element of a list cell; None for a null or empty cell."""
    if values is None:
        return None
    if isinstance(values, list):
        values = values[0] if values else None
    return None if values is None else str(values)


def recorded_names(
    catalog: Catalog,
    entity: str,
    component: str,
    width: int,
    static_of: dict[str, Any],
    temporal: dict[str, StreamRows],
) -> tuple[str, ...] | None:
    """Per-dimension names of a numeric stream: `SeriesLines:names` or the component's `names`."""
    for col in name_columns(entity, component.split(":", 1)[0]):
        if col not in catalog.columns:
            continue
        value = static_of.get(col)
        if value is None and col in temporal and len(temporal[col]):
            value = temporal[col].values[0].as_py()
        if isinstance(value, list) and len(value) == width and all(isinstance(v, str) for v in value):
            return tuple(value)
    return None


def name_columns(entity: str, archetype: str) -> list[str]:
    """Where a numeric stream's dimension names may be, best first."""
    return [
        f"{entity}:SeriesLines:names",
        f"{entity}:{archetype}:names",
        f"{entity}:{archetype}:joint_names",
        f"{entity}:{archetype}:name",
    ]
