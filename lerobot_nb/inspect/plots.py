"""Plots of the timing tables: rate per stream, and when each stream of an episode has samples."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.inspect.access import ServerLike, dataset_of, source_files, to_polars, where
from lerobot_nb.inspect.streams import stream_columns
from lerobot_nb.inspect.timing import default_index
from lerobot_nb.query import fetch_table, index_timelines
from lerobot_nb.units import NS_PER_S

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_stream_rates", "plot_stream_timeline"]


def plot_stream_rates(stats: pl.DataFrame) -> Figure:
    """Bar chart: nominal rate per stream (median over episodes, whiskers = min..max)."""
    from matplotlib.figure import Figure

    rate = "nominal_hz" if "nominal_hz" in stats.columns else "nominal_per_step"
    per = (
        stats.filter(pl.col("count") > 1)
        .group_by("stream")
        .agg(
            pl.col(rate).median().alias("mid"), pl.col(rate).min().alias("lo"), pl.col(rate).max().alias("hi")
        )
        .sort("stream")
    )
    fig = Figure(figsize=(8, 0.45 * max(len(per), 2) + 1), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(per))
    mid = per["mid"].to_numpy()
    err = np.vstack([mid - per["lo"].to_numpy(), per["hi"].to_numpy() - mid])
    ax.barh(y, mid, xerr=err, color="tab:blue", alpha=0.8)
    ax.set_yticks(y, per["stream"].to_list())
    ax.invert_yaxis()
    ax.set_xlabel("rate (Hz)" if rate == "nominal_hz" else "samples per step")
    for yi, v in enumerate(mid):
        ax.text(float(v), yi, f" {v:.1f}", va="center")
    ax.set_title("stream rates (median over episodes)")
    return fig


def plot_stream_timeline(server: ServerLike, episode: str, index: str | None = None) -> Figure:
    """One row of tick marks per stream of `episode`: when each sample was logged, gaps visible."""
    from datafusion import col
    from matplotlib.figure import Figure

    dataset = dataset_of(server)
    index = index or default_index(server)
    if episode not in dataset.segment_ids():
        raise LerobotNbError("no such episode on the server", file=where(server), episode=episode)
    infos = stream_columns(server)
    entities = sorted({i.entity for i in infos})
    present = set(dataset.filter_contents(entities).reader(index=index).schema().names)
    infos = [i for i in infos if i.name in present]
    file = str(source_files(server).get(episode) or where(server))
    query = (
        dataset.filter_segments([episode])
        .filter_contents(entities)
        .reader(index=index)
        .select(
            col(index).cast(pa.int64()).alias("__t"),
            *[col(i.name).is_not_null().alias(i.name) for i in infos],
        )
    )
    table = to_polars(fetch_table(query, file=file, episode=episode)).filter(pl.col("__t").is_not_null())
    t0 = table["__t"].min() if len(table) else 0
    scale = float(NS_PER_S) if index_timelines(dataset).get(index) == "timestamp" else 1.0
    fig = Figure(figsize=(10, 0.5 * max(len(infos), 2) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    events = [((table.filter(pl.col(i.name))["__t"].to_numpy() - t0) / scale) for i in infos]
    ax.eventplot(events, lineoffsets=list(range(len(infos))), linelengths=0.7, linewidths=0.6)
    ax.set_yticks(np.arange(len(infos)), [i.entity for i in infos])
    ax.invert_yaxis()
    ax.set_xlabel(f"{index} since episode start ({'s' if scale > 1 else 'steps'})")
    ax.set_title(f"samples per stream, episode {episode}")
    return fig
