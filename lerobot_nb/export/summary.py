"""What an export did: per-episode rows (written / skipped with reason) and the totals."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.tables import render_table

__all__ = ["ExportSummary", "NothingWritten", "Progress", "dir_size"]


def dir_size(path: Path) -> int:
    """Bytes of all files under `path` (0 when it does not exist)."""
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@dataclass
class ExportSummary:
    """Rows: one per episode seen, `status` written | skipped | existing (already there, --resume)."""

    output: Path
    rows: list[dict[str, object]] = field(default_factory=list)
    seconds: float = 0.0
    bytes: int = 0
    writer: str = "native"

    def add(
        self,
        episode: str,
        status: str,
        *,
        index: int | None = None,
        frames: int = 0,
        reason: str = "",
        source: str = "",
        remuxed: int = 0,
        notes: tuple[str, ...] = (),
    ) -> dict[str, object]:
        """Append a row (in arrival order) and return it, for the writer to complete later."""
        row: dict[str, object] = {
            "episode": episode,
            "status": status,
            "episode_index": index,
            "frames": frames,
            "reason": reason,
            "source": source,
            "remuxed_videos": remuxed,
            "notes": "; ".join(notes),
        }
        self.rows.append(row)
        return row

    @property
    def table(self) -> pl.DataFrame:
        """The rows as a DataFrame with a fixed schema (also when empty); `notes` joined by `; `."""
        schema = {
            "episode": pl.String,
            "status": pl.String,
            "episode_index": pl.Int64,
            "frames": pl.Int64,
            "reason": pl.String,
            "source": pl.String,
            "remuxed_videos": pl.Int64,
            "notes": pl.String,
        }
        return pl.DataFrame([{"notes": "", **r} for r in self.rows], schema=schema)

    @property
    def episodes_written(self) -> int:
        """Rows with status `written` (not `skipped` or `existing`)."""
        return sum(1 for r in self.rows if r["status"] == "written")

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """(episode, reason) of every episode left out, including those already in the dataset."""
        return [(str(r["episode"]), str(r["reason"])) for r in self.rows if r["status"] != "written"]

    @property
    def frames(self) -> int:
        """Frames of the written episodes."""
        return sum(int(r["frames"]) for r in self.rows if r["status"] == "written")  # type: ignore[call-overload]

    @property
    def frames_per_second(self) -> float:
        """Write throughput in frames/s (0.0 before anything was timed)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def render(self) -> str:
        """The end-of-run table: episodes, then totals."""
        shown = [{**r, "index": r["episode_index"]} for r in self.rows]
        lines = [render_table(shown, ("episode", "status", "index", "frames", "reason"), max_width=None)]
        noted = [(r["episode"], r["notes"]) for r in self.rows if r.get("notes")]
        if noted:  # what a source did to the data before the grid (records trimmed, NaN held, ...)
            lines += ["notes:", *(f"  {episode}: {notes}" for episode, notes in noted)]
        n_skip = sum(1 for r in self.rows if r["status"] == "skipped")
        n_have = sum(1 for r in self.rows if r["status"] == "existing")
        lines.append("-" * 72)
        lines.append(
            f"written {self.episodes_written} episodes, skipped {n_skip}, already present {n_have}"
            f"{self._remux_note()}; "
            f"{self.frames} frames in {self.seconds:.1f} s ({self.frames_per_second:.0f} frames/s); "
            f"output {self.bytes / 1e6:.2f} MB at {self.output}"
        )
        return "\n".join(lines)

    def _remux_note(self) -> str:
        remuxed = sum(int(r["remuxed_videos"]) for r in self.rows)  # type: ignore[call-overload]
        return f" ({remuxed} videos remuxed without re-encoding)" if remuxed else ""

    def __str__(self) -> str:
        return self.render()


class NothingWritten(LerobotNbError):
    """Every episode given was skipped (or none was given): nothing is published. `summary` keeps
    the skips with their reasons (a sharded run lists them for a shard of only bad episodes)."""

    def __init__(self, summary: ExportSummary, output: Path) -> None:
        super().__init__("no episode was written (every episode was skipped or none was given)", file=output)
        self.summary = summary


class Progress:
    """Two tqdm bars (episodes, frames) on stderr; silent when disabled."""

    def __init__(self, enabled: bool, total: int | None) -> None:
        self.lock = threading.Lock()
        self.episodes: Any = None
        self.frames: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self.episodes = tqdm(total=total, desc="episodes", unit="ep", position=0)
            self.frames = tqdm(desc="video frames", unit="fr", position=1)

    def frame(self, n: int) -> None:
        """Advance the frames bar by `n` video frames (thread-safe)."""
        if self.frames is not None:
            with self.lock:
                self.frames.update(n)

    def episode(self) -> None:
        """Advance the episodes bar by one."""
        if self.episodes is not None:
            self.episodes.update(1)

    def close(self) -> None:
        """Close both bars."""
        for bar in (self.episodes, self.frames):
            if bar is not None:
                bar.close()
