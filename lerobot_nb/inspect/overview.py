"""Everything `lerobot-nb inspect` shows, gathered once: episodes, columns, stream timing, suggestion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from lerobot_nb.inspect.access import ServerLike, dataset_of
from lerobot_nb.inspect.config import InspectConfig
from lerobot_nb.inspect.listing import list_columns, list_episodes
from lerobot_nb.inspect.suggest import Suggestion, suggest
from lerobot_nb.inspect.timing import default_index, stream_stats, stream_summary
from lerobot_nb.query import index_timelines

__all__ = ["Inspection", "inspect_recordings", "stream_table"]


@dataclass(frozen=True)
class Inspection:
    """The tables of one inspection; `streams` is `stats` or, when `folded`, its summary."""

    timelines: Mapping[str, str]  # name -> timestamp | sequence
    episodes: pl.DataFrame
    columns: pl.DataFrame | None
    stats: pl.DataFrame
    streams: pl.DataFrame
    folded: bool
    suggestion: Suggestion


def stream_table(stats: pl.DataFrame, config: InspectConfig) -> pl.DataFrame:
    """`stats` as shown: one row per episode and stream, or per stream (`stream_summary`) when
    there are more episodes than `config.per_episode_limit` (unless `config.per_episode`)."""
    return stream_summary(stats) if config.folds(stats["episode"].n_unique()) else stats


def inspect_recordings(server: ServerLike, config: InspectConfig | None = None) -> Inspection:
    """Episodes, columns (when `config.columns`), per-stream timing and the suggested alignment,
    all on one index timeline (`config.index`, else the suggested one)."""
    config = config or InspectConfig()
    index = config.index or default_index(server)
    stats = stream_stats(server, index=index)
    episodes = list_episodes(server)
    folded = config.folds(episodes.height)
    return Inspection(
        timelines=index_timelines(dataset_of(server)),
        episodes=episodes,
        columns=list_columns(server, shapes=config.shapes) if config.columns else None,
        stats=stats,
        streams=stream_summary(stats) if folded else stats,
        folded=folded,
        suggestion=suggest(server, index=index, stats=stats),
    )
