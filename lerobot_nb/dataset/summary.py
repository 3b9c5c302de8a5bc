"""What a rewrite did: one row per output episode (where it came from, which frames) and the totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from lerobot_nb.export.summary import dir_size

__all__ = ["RewriteSummary"]

_SCHEMA = {
    "episode_index": pl.Int64,
    "source": pl.String,
    "source_episode": pl.Int64,
    "recording": pl.String,
    "start": pl.Int64,
    "end": pl.Int64,
    "frames": pl.Int64,
    "stats": pl.String,
    "lead_frames": pl.Int64,
}


@dataclass
class RewriteSummary:
    """Rows: output episode, its source dataset and episode, kept frames [start, end), whether
    its stats were reused or recomputed, and the unreferenced frames copied before it (GOP head)."""

    output: Path
    rows: list[dict[str, object]] = field(default_factory=list)
    #: seconds to write the dataset, and to validate it (before it was published)
    seconds: float = 0.0
    validate_seconds: float = 0.0
    #: the validation report of the new dataset (None when validation was switched off)
    report: Any = None
    #: lines for the reader, printed before the totals (e.g. which episodes a curation dropped)
    notes: list[str] = field(default_factory=list)

    @property
    def table(self) -> pl.DataFrame:
        """The rows as a DataFrame with a fixed schema (also when empty)."""
        return pl.DataFrame(self.rows, schema=_SCHEMA)

    @property
    def episodes(self) -> int:
        """Number of output episodes."""
        return len(self.rows)

    @property
    def frames(self) -> int:
        """Frames written, over all episodes."""
        return sum(int(r["frames"]) for r in self.rows)  # type: ignore[call-overload]

    @property
    def frames_per_second(self) -> float:
        """Write throughput in frames/s (0.0 before anything was timed)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def render(self) -> str:
        """Per-episode table, notes and a totals line (frames, seconds, output size in MB), for a terminal."""
        lines = [f"{'index':>5} {'source:episode':>14} {'kept frames':>13} {'count':>7}  stats"]
        for r in self.rows:
            kept = f"[{r['start']}, {r['end']})"
            name = Path(str(r["source"])).name
            lines.append(
                f"{r['episode_index']!s:>5} {name[:9] + ':' + str(r['source_episode']):>14} {kept:>13} "
                f"{r['frames']!s:>7}  {r['stats']}"
            )
        lines.append("-" * 60)
        lines += self.notes
        valid = "" if self.report is None else f", validated in {self.validate_seconds:.1f} s"
        lines.append(
            f"wrote {self.episodes} episodes, {self.frames} frames in {self.seconds:.1f} s "
            f"({self.frames_per_second:.0f} frames/s){valid}; output "
            f"{dir_size(self.output) / 1e6:.2f} MB at {self.output}"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()
