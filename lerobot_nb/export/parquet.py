"""Parquet files of a dataset: one row group per write, files rolled by size like lerobot's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lerobot_nb.lerobot_v3.layout import DEFAULT_FEATURES, next_file
from lerobot_nb.stats import FeatureStats, numeric_stats

__all__ = ["META_LOCATION", "RollingParquet", "arrow_column", "bookkeeping_columns", "bookkeeping_stats"]

#: The episodes metadata columns that say which file a row lives in.
META_LOCATION = ("meta/episodes/chunk_index", "meta/episodes/file_index")


@dataclass
class RollingParquet:
    """A parquet file per (chunk, file), rolled like lerobot: before an episode would pass the limit."""

    root: Path
    template: str
    schema: pa.Schema
    max_bytes: float
    chunks_size: int
    chunk: int = 0
    file: int = 0
    _writer: pq.ParquetWriter | None = None
    _rows_in_file: int = 0

    def path(self) -> Path:
        """The open (chunk, file)'s parquet path under `root`."""
        return self.root / self.template.format(chunk_index=self.chunk, file_index=self.file)

    def target(self, num_rows: int) -> tuple[int, int]:
        """The (chunk, file) the next `num_rows` rows go to; rolls to a new file if needed."""
        if self._writer is not None:
            size = self.path().stat().st_size
            per_row = size / self._rows_in_file if self._rows_in_file else 0.0
            if size + per_row * num_rows >= self.max_bytes:
                self.close()
                self.chunk, self.file = next_file(self.chunk, self.file, self.chunks_size)
        if self._writer is None:
            self.path().parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self.path(), self.schema, compression="snappy", use_dictionary=True
            )
            self._rows_in_file = 0
        return self.chunk, self.file

    def write(self, table: pa.Table) -> tuple[int, int]:
        """Write `table` as one row group into the file `target` picks."""
        where = self.target(table.num_rows)
        assert self._writer is not None
        self._writer.write_table(table)
        self._rows_in_file += table.num_rows
        return where

    def write_rows(self, rows: Sequence[dict[str, Any]], *, location: tuple[str, str]) -> None:
        """Write dict rows as one row group, setting the `location` (chunk, file) columns of each
        row to the file they went to (the episodes metadata records where it lives)."""
        chunk, file = self.target(len(rows))
        for row in rows:
            row[location[0]], row[location[1]] = chunk, file
        self.write(pa.Table.from_pylist(list(rows), schema=self.schema))

    def close(self) -> None:
        """Close the open file, if any; the next write opens a new file at the current (chunk, file)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()


def arrow_column(values: np.ndarray, type_: pa.DataType) -> pa.Array:
    """A (T,) or (T, D) array as an arrow column of `type_` (fixed-size lists for vectors)."""
    if pa.types.is_fixed_size_list(type_):
        flat = pa.array(np.ascontiguousarray(values).reshape(-1), type=type_.value_type)
        return pa.FixedSizeListArray.from_arrays(flat, type=type_)
    return pa.array(np.asarray(values).reshape(-1), type=type_)


def bookkeeping_columns(
    length: int, fps: int, *, episode_index: int, from_index: int, task_index: np.ndarray
) -> dict[str, np.ndarray]:
    """lerobot's five columns of one episode: timestamp = float32(k / fps), frame k, global index."""
    return {
        "timestamp": (np.arange(length, dtype=np.float64) / fps).astype(np.float32),
        "frame_index": np.arange(length, dtype=np.int64),
        "episode_index": np.full(length, episode_index, dtype=np.int64),
        "index": np.arange(from_index, from_index + length, dtype=np.int64),
        "task_index": np.asarray(task_index, dtype=np.int64),
    }


def bookkeeping_stats(columns: dict[str, np.ndarray], fps: int) -> dict[str, FeatureStats]:
    """Statistics of the five columns, as lerobot's writer computes them."""
    stats = {key: numeric_stats(columns[key]) for key in DEFAULT_FEATURES}
    # lerobot takes timestamp stats from the float64 k / fps it buffers, before the float32 cast
    stats["timestamp"] = numeric_stats(np.arange(len(columns["timestamp"]), dtype=np.float64) / fps)
    return stats
