"""Listing: one row per episode (source, size, span per timeline) and one per column (kind, shape)."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from lerobot_nb.inspect.access import ServerLike, dataset_of, file_of_url, source_files, to_polars
from lerobot_nb.inspect.shapes import probe_shapes
from lerobot_nb.inspect.streams import column_kind
from lerobot_nb.query import component_columns, index_timelines
from lerobot_nb.units import NS_PER_S

__all__ = ["list_columns", "list_episodes"]

_COLUMNS_SCHEMA = {
    "column": pl.String,
    "entity": pl.String,
    "archetype": pl.String,
    "component": pl.String,
    "kind": pl.String,
    "dtype": pl.String,
    "static": pl.Boolean,
    "length": pl.Int64,
    "height": pl.Int64,
    "width": pl.Int64,
}


def _files_and_sizes(server: ServerLike, table: pl.DataFrame) -> tuple[list[str], list[int | None]]:
    """Per row of the segment table: the user's file (else the storage URL) and its size in bytes
    (the server's figure when the file is not local)."""
    sources = source_files(server)
    files: list[str] = []
    sizes: list[int | None] = []
    for episode, urls, server_size in table.select(
        "rerun_segment_id", "rerun_storage_urls", "rerun_size_bytes"
    ).iter_rows():
        source = sources.get(episode) or (file_of_url(urls[0]) if urls else None)
        files.append(str(source) if source is not None else (urls[0] if urls else ""))
        sizes.append(source.stat().st_size if source is not None and source.is_file() else server_size)
    return files, sizes


def list_episodes(server: ServerLike) -> pl.DataFrame:
    """One row per episode, sorted by id.

    Columns: `episode`, `source` (the user's file, or the registered URL when attached to a
    server), `size_bytes` (of that file; the server's figure when it is not local), `chunks`,
    then per timeline `T`: `T_start`, `T_end` (datetime for timestamp timelines, int for
    sequence timelines) and `T_duration_s` (timestamp) or `T_steps` (sequence: end - start + 1).
    """
    dataset = dataset_of(server)
    table = to_polars(dataset.segment_table().to_arrow_table()).sort("rerun_segment_id")
    files, sizes = _files_and_sizes(server, table)
    columns: list[pl.Expr | pl.Series] = [
        pl.col("rerun_segment_id").alias("episode"),
        pl.Series("source", files, pl.String),
        pl.Series("size_bytes", sizes, pl.Int64),
        pl.col("rerun_num_chunks").cast(pl.Int64).alias("chunks"),
    ]
    for name, kind in sorted(index_timelines(dataset).items()):
        if f"{name}:start" not in table.columns:
            continue
        start, end = pl.col(f"{name}:start"), pl.col(f"{name}:end")
        columns += [start.alias(f"{name}_start"), end.alias(f"{name}_end")]
        if kind == "timestamp":
            columns.append(((end - start).dt.total_nanoseconds() / NS_PER_S).alias(f"{name}_duration_s"))
        else:
            columns.append((end - start + 1).alias(f"{name}_steps"))
    return table.select(columns)


def _leaf_type(dtype: pa.DataType) -> pa.DataType:
    while pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_fixed_size_list(dtype):
        dtype = dtype.value_type
    return dtype


def list_columns(server: ServerLike, *, shapes: bool = True) -> pl.DataFrame:
    """One row per component column (recording properties left out), sorted by name.

    Columns: `column` (`entity:Archetype:field`, the form every `--*-column` flag accepts),
    `entity`, `archetype`, `component`, `kind` (`numeric`, `text`, `image:raw`,
    `image:compressed`, `image:video`, ... or `other` for a non-data component), `dtype` (leaf
    arrow type), `static`, `length` (values per row of a numeric stream), `height`, `width`
    (pixels of an image stream). With `shapes=False` the last three stay empty (no data read).
    """
    dataset = dataset_of(server)
    infos = component_columns(dataset)
    arrow = {f.name: f.type for f in dataset.schema().to_arrow()}
    length, size = probe_shapes(server, infos) if shapes else ({}, {})
    rows = []
    for info in infos:
        dtype = arrow.get(info.name)
        height, width = size.get(info.name, (None, None))
        rows.append(
            {
                "column": info.name,
                "entity": info.entity,
                "archetype": info.archetype,
                "component": info.component,
                "kind": column_kind(info),
                "dtype": str(_leaf_type(dtype)) if dtype is not None else "",
                "static": info.is_static,
                "length": length.get(info.name),
                "height": height,
                "width": width,
            }
        )
    return pl.DataFrame(rows, schema=_COLUMNS_SCHEMA)
