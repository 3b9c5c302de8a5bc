"""The alignment report: per episode and stream, what the grid kept, dropped and how stale it was."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from lerobot_nb.align.resample import median_period

__all__ = ["REPORT_SCHEMA", "StreamReport", "report_frame"]

#: Column -> dtype of every report (also of an empty one), one row per episode piece and stream.
REPORT_SCHEMA: dict[str, type[pl.DataType]] = {
    "episode": pl.String,
    "stream": pl.String,
    "column": pl.String,
    "kind": pl.String,
    "policy": pl.String,
    "samples": pl.Int64,
    "source_rate_hz": pl.Float64,
    "median_period_ms": pl.Float64,
    "tolerance_ms": pl.Float64,
    "grid_ticks": pl.Int64,
    "kept": pl.Int64,
    "dropped": pl.Int64,
    "flagged": pl.Int64,
    "staleness_p50_ms": pl.Float64,
    "staleness_p99_ms": pl.Float64,
    "staleness_max_ms": pl.Float64,
    "gaps": pl.Int64,
    "max_gap_ms": pl.Float64,
}


@dataclass(frozen=True)
class StreamReport:
    """Inputs of one report row; times in seconds, staleness of the kept ticks only."""

    episode: str
    stream: str
    column: str
    kind: str
    policy: str
    sample_s: np.ndarray
    tolerance_s: float
    grid_ticks: int
    kept_staleness_s: np.ndarray
    dropped: int
    flagged: int

    def row(self) -> dict[str, object]:
        """One `REPORT_SCHEMA` row: rates in Hz, periods, staleness and gaps in ms; None where undefined."""
        t = self.sample_s
        intervals = np.diff(t)
        period = median_period(t)
        duration = float(t[-1] - t[0]) if len(t) > 1 else 0.0
        st = self.kept_staleness_s * 1e3
        # A gap is a sample interval longer than the tolerance: ticks inside it would be stale.
        gap_mask = intervals > self.tolerance_s if np.isfinite(self.tolerance_s) else np.zeros(0, bool)
        return {
            "episode": self.episode,
            "stream": self.stream,
            "column": self.column,
            "kind": self.kind,
            "policy": self.policy,
            "samples": len(t),
            "source_rate_hz": (len(t) - 1) / duration if duration > 0 else None,
            "median_period_ms": period * 1e3 if np.isfinite(period) else None,
            "tolerance_ms": self.tolerance_s * 1e3 if np.isfinite(self.tolerance_s) else None,
            "grid_ticks": self.grid_ticks,
            "kept": len(st),
            "dropped": self.dropped,
            "flagged": self.flagged,
            "staleness_p50_ms": float(np.percentile(st, 50)) if len(st) else None,
            "staleness_p99_ms": float(np.percentile(st, 99)) if len(st) else None,
            "staleness_max_ms": float(st.max()) if len(st) else None,
            "gaps": int(gap_mask.sum()),
            "max_gap_ms": float(intervals.max()) * 1e3 if len(intervals) else None,
        }


def report_frame(rows: Sequence[StreamReport]) -> pl.DataFrame:
    """The report as polars, columns and dtypes as in `REPORT_SCHEMA`."""
    return pl.DataFrame([r.row() for r in rows], schema=REPORT_SCHEMA)
