"""One-row-per-episode summaries of aligned episodes, as the notebooks show and record them."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from lerobot_nb.episode import AlignedEpisode

__all__ = ["aligned_summary", "dropped_ticks"]


def dropped_ticks(episode: AlignedEpisode) -> int:
    """Grid ticks left out of `episode` because some stream was too stale there.

    The report's `grid_ticks` is the grid before dropping (the same for every stream of an
    episode); the episode keeps `length` of them.
    """
    if episode.report.is_empty() or "grid_ticks" not in episode.report.columns:
        return 0
    return int(episode.report["grid_ticks"].max()) - episode.length  # type: ignore[arg-type]


def aligned_summary(episodes: Sequence[AlignedEpisode]) -> pl.DataFrame:
    """episode, ticks, seconds, dropped_ticks, numeric features and cameras, one row per episode."""
    return pl.DataFrame(
        {
            "episode": [ep.episode_id for ep in episodes],
            "ticks": [ep.length for ep in episodes],
            "seconds": [ep.length / ep.fps for ep in episodes],
            "dropped_ticks": [dropped_ticks(ep) for ep in episodes],
            "numeric": [", ".join(ep.numeric) for ep in episodes],
            "cameras": [", ".join(ep.images) for ep in episodes],
        },
        schema={
            "episode": pl.String,
            "ticks": pl.Int64,
            "seconds": pl.Float64,
            "dropped_ticks": pl.Int64,
            "numeric": pl.String,
            "cameras": pl.String,
        },
    )
