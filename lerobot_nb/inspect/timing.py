"""Per-stream timing: the index timeline to use, sample counts, rates, gaps and jitter (-> polars)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.inspect.access import ServerLike, collect, dataset_of, to_polars, where
from lerobot_nb.inspect.streams import column_kind, stream_columns
from lerobot_nb.query import ColumnInfo, index_timelines
from lerobot_nb.units import NS_PER_S, median_interval

__all__ = ["default_index", "stream_stats", "stream_summary"]

#: Timelines the recorder or importer adds; used as index only when nothing better exists.
_BOOKKEEPING_TIMELINES = ("log_time", "log_tick", "message_log_time", "message_publish_time")
#: Preferred index timelines, best first.
_PREFERRED_INDEX = ("real_time", "ros2_timestamp", "timestamp", "time", "capture_time")
#: The per-episode figures of a stream, named for a timestamp timeline / for a sequence timeline.
_STAMP_FIGURES = ("span_s", "rate_hz", "nominal_hz", "largest_gap_s", "jitter_ms")
_STEP_FIGURES = ("span_steps", "rate_per_step", "nominal_per_step", "largest_gap_steps", "jitter_steps")


def _stream_coverage(server: ServerLike, index: str, infos: Sequence[ColumnInfo]) -> int:
    """How many of the streams `infos` have at least one sample on timeline `index`."""
    import datafusion.functions as f
    from datafusion import col

    if not infos:
        return 0
    entities = sorted({i.entity for i in infos})
    names = set(dataset_of(server).filter_contents(entities).reader(index=index).schema().names)
    present = [i.name for i in infos if i.name in names]
    if not present:
        return 0
    counts = collect(
        server,
        lambda d: (
            d.filter_contents(entities)
            .reader(index=index)
            .aggregate([], [f.count(col(c)).alias(c) for c in present])
        ),
    )
    return sum(1 for c in present if counts.column(c)[0].as_py())


def default_index(server: ServerLike) -> str:
    """The timeline on which the most streams have samples; ties go to the usual robot timelines
    (`real_time`, `ros2_timestamp`, ...), then timestamp before sequence, and the recorder's own
    bookkeeping timelines (`log_time`, `message_log_time`, ...) last."""
    dataset = dataset_of(server)
    kinds = index_timelines(dataset)
    if not kinds:
        raise LerobotNbError("the recordings have no timeline", file=where(server))
    if len(kinds) == 1:
        return next(iter(kinds))
    infos = stream_columns(server)

    def preference(name: str) -> tuple[int, int, str]:
        rank = _PREFERRED_INDEX.index(name) if name in _PREFERRED_INDEX else len(_PREFERRED_INDEX)
        if name in _BOOKKEEPING_TIMELINES:
            rank = len(_PREFERRED_INDEX) + 1
        return (rank, 0 if kinds[name] == "timestamp" else 1, name)

    coverage = {name: _stream_coverage(server, name, infos) for name in kinds}
    return min(kinds, key=lambda n: (-coverage[n], preference(n)))


def _timing(times: np.ndarray, per_s: float) -> tuple[int, tuple[float | None, ...], int]:
    """`(count, figures, gaps)` of sorted sample times (`per_s` timeline units per second).

    `figures` are span, effective rate, nominal rate (1 / median interval), largest interval and
    jitter (std of the intervals), in seconds (or steps); None where too few samples define one.
    """
    n = len(times)
    d = np.diff(times).astype(np.float64) / per_s
    span = float(times[-1] - times[0]) / per_s if n else 0.0
    median = median_interval(times)
    period = median / per_s if median is not None else None
    figures = (
        span,
        (n - 1) / span if n > 1 and span > 0 else None,
        1.0 / period if period is not None else None,
        float(d.max()) if len(d) else None,
        float(np.std(d)) if len(d) > 1 else None,
    )
    # A gap is an interval longer than 1.5 periods: samples that were lost or never logged.
    gaps = int(np.sum(d > 1.5 * period)) if period is not None else 0
    return n, figures, gaps


def _check_index(server: ServerLike, index: str) -> bool:
    """Whether `index` is a timestamp timeline; an error naming the timelines when it is none."""
    kinds = index_timelines(dataset_of(server))
    if index not in kinds:
        raise LerobotNbError(
            f"no timeline {index!r}; available: {', '.join(sorted(kinds))}", file=where(server)
        )
    return kinds[index] == "timestamp"


def _select(server: ServerLike, columns: Sequence[str] | None) -> list[ColumnInfo]:
    """The streams named by column or entity (all when `columns` is None)."""
    infos = stream_columns(server)
    if columns is None:
        return infos
    wanted = set(columns)
    infos = [i for i in infos if i.name in wanted or i.entity in wanted]
    missing = wanted - {i.name for i in infos} - {i.entity for i in infos}
    if missing:
        raise LerobotNbError(f"no temporal stream named {', '.join(sorted(missing))}", file=where(server))
    return infos


def _sample_flags(server: ServerLike, index: str, infos: Sequence[ColumnInfo]) -> pl.DataFrame | None:
    """One row per index value of any episode: `rerun_segment_id`, `__t` and, per stream, whether
    it has a sample there. One query that transfers no data values."""
    from datafusion import col

    if not infos:
        return None
    entities = sorted({i.entity for i in infos})
    present = set(dataset_of(server).filter_contents(entities).reader(index=index).schema().names)
    projected = [col(i.name).is_not_null().alias(i.name) for i in infos if i.name in present]
    table = collect(
        server,
        lambda d: (
            d.filter_contents(entities)
            .reader(index=index)
            .select(col("rerun_segment_id"), col(index).cast(pa.int64()).alias("__t"), *projected)
        ),
    )
    return to_polars(table).filter(pl.col("__t").is_not_null())


def _schema(is_stamp: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "episode": pl.String,
        "stream": pl.String,
        "entity": pl.String,
        "kind": pl.String,
        "count": pl.Int64,
        "first": pl.Int64,
        "last": pl.Int64,
    }
    schema.update({name: pl.Float64 for name in (_STAMP_FIGURES if is_stamp else _STEP_FIGURES)})
    schema["gaps"] = pl.Int64
    return schema


def _row(episode: str, info: ColumnInfo, times: np.ndarray, is_stamp: bool) -> dict[str, Any]:
    count, figures, gaps = _timing(times, float(NS_PER_S) if is_stamp else 1.0)
    span, rate, nominal, largest, jitter = figures
    if is_stamp and jitter is not None:
        jitter *= 1e3  # ms
    row: dict[str, Any] = {
        "episode": episode,
        "stream": info.name,
        "entity": info.entity,
        "kind": column_kind(info),
        "count": count,
        "first": int(times[0]) if len(times) else None,
        "last": int(times[-1]) if len(times) else None,
    }
    names = _STAMP_FIGURES if is_stamp else _STEP_FIGURES
    row.update(zip(names, (span, rate, nominal, largest, jitter), strict=True))
    row["gaps"] = gaps
    return row


def stream_stats(
    server: ServerLike, index: str | None = None, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """One row per episode and stream on timeline `index` (default: the suggested index).

    Columns: `episode`, `stream` (the column name), `entity`, `kind`, `count` (samples),
    `first`, `last` (datetime on timestamp timelines, int on sequence ones), and on a timestamp
    timeline `span_s`, `rate_hz` (effective: (count-1)/span), `nominal_hz` (1/median interval,
    robust to lost samples), `largest_gap_s`, `jitter_ms` (std of the intervals) and `gaps`
    (intervals longer than 1.5 median periods). On a sequence timeline the same figures come per
    step: `span_steps`, `rate_per_step`, `nominal_per_step`, `largest_gap_steps`, `jitter_steps`.
    Streams with no sample on `index` in an episode get `count` 0.

    `columns` narrows to these column names (`entity:Archetype:field`) or entity paths.
    One query for the whole dataset that only transfers which rows hold each stream.
    """
    index = index or default_index(server)
    is_stamp = _check_index(server, index)
    infos = _select(server, columns)
    flags = _sample_flags(server, index, infos)
    rows = []
    for episode in sorted(dataset_of(server).segment_ids()):
        ep_rows = flags.filter(pl.col("rerun_segment_id") == episode) if flags is not None else None
        for info in infos:
            if ep_rows is None or info.name not in ep_rows.columns:
                times = np.empty(0, np.int64)
            else:
                times = np.sort(ep_rows.filter(pl.col(info.name))["__t"].to_numpy())
            rows.append(_row(episode, info, times, is_stamp))
    out = pl.DataFrame(rows, schema=_schema(is_stamp))
    if is_stamp:
        out = out.with_columns(pl.col("first", "last").cast(pl.Datetime("ns")))
    return out


def stream_summary(stats: pl.DataFrame) -> pl.DataFrame:
    """`stream_stats` folded over episodes: one row per stream.

    Columns: `stream`, `kind`, `episodes` (with at least one sample), `samples` (total),
    `nominal_hz` (median over episodes) with `nominal_hz_min` / `_max`, `largest_gap_s` (worst),
    `jitter_ms` (median) and `gaps` (total); on a sequence timeline the `_per_step` / `_steps`
    names instead.
    """
    stamp = "nominal_hz" in stats.columns
    rate, gap, jitter = (
        ("nominal_hz", "largest_gap_s", "jitter_ms")
        if stamp
        else ("nominal_per_step", "largest_gap_steps", "jitter_steps")
    )
    return (
        stats.group_by("stream", "kind", maintain_order=True)
        .agg(
            (pl.col("count") > 0).sum().cast(pl.Int64).alias("episodes"),
            pl.col("count").sum().alias("samples"),
            pl.col(rate).median().alias(rate),
            pl.col(rate).min().alias(f"{rate}_min"),
            pl.col(rate).max().alias(f"{rate}_max"),
            pl.col(gap).max().alias(gap),
            pl.col(jitter).median().alias(jitter),
            pl.col("gaps").sum().alias("gaps"),
        )
        .sort("stream")
    )
