"""Deprecated: `lerobot_nb.inspection` moved to the package `lerobot_nb.inspect` (same names)."""

from __future__ import annotations

import warnings

from lerobot_nb.inspect import (
    STREAM_COMPONENTS,
    Suggestion,
    list_columns,
    list_episodes,
    plot_stream_rates,
    plot_stream_timeline,
    stream_columns,
    stream_stats,
    stream_summary,
    suggest,
)
from lerobot_nb.units import NS_PER_S

__all__ = [
    "NS_PER_S",
    "STREAM_COMPONENTS",
    "Suggestion",
    "list_columns",
    "list_episodes",
    "plot_stream_rates",
    "plot_stream_timeline",
    "stream_columns",
    "stream_stats",
    "stream_summary",
    "suggest",
]

warnings.warn(
    "lerobot_nb.inspection is deprecated; import from lerobot_nb.inspect",
    DeprecationWarning,
    stacklevel=2,
)
