"""Merge the shard datasets into the output with the project's dataset engine, then publish.

`merge_datasets` (a `rewrite_dataset` plan) renumbers episodes in shard order, which is the
order an inline run writes them, merges the tasks into one `tasks.parquet`, rolls the data and
video files to the export's size limits, copies video packets without re-encoding and folds the
stored per-episode stats in output order exactly like the streaming writer: the result equals an
inline conversion of the same inputs value for value. lerobot's own `aggregate_datasets` is not
used: it merges quantiles as count-weighted means of the inputs' quantiles (an estimate, not the
writer's fold of per-episode stats, so its stats.json differs from an inline run's), writes into
its target in place and does not carry the recording-id sidecar that `--resume` and `curate` read.
"""

from __future__ import annotations

import time
from pathlib import Path

from lerobot_nb.dataset import RewriteConfig, merge_datasets
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.executors.area import BuildArea, ShardResult
from lerobot_nb.executors.summary import ShardedSummary, ShardsFailed
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.summary import dir_size

__all__ = ["aggregate", "shard_results"]


def shard_results(area: BuildArea, total: int) -> list[ShardResult]:
    """Every shard's result; a shard without one (its task died or never ran) counts as failed."""
    out = []
    for rank in range(total):
        result = area.result(rank)
        out.append(result or ShardResult(rank, "failed", "the task ended without a result (killed?)"))
    return out


def aggregate(
    area: BuildArea, total: int, export: ExportConfig, *, executor: str, started: float | None = None
) -> ShardedSummary:
    """Merge shards 0..total-1 of `area` into `export.output` (published atomically); raises
    `ShardsFailed` naming each failed shard before anything is written."""
    started = time.perf_counter() if started is None else started
    results = shard_results(area, total)
    failed = [f"shard {r.rank}: {r.error}" for r in results if r.status == "failed"]
    if failed:
        raise ShardsFailed(failed, total, str(area.logs / "logs"))
    written = [r for r in results if r.status == "written"]
    output = Path(export.output).expanduser().absolute()
    if not written:
        raise LerobotNbError("no episode was written (every shard's episodes were skipped)", file=output)
    merging = time.perf_counter()
    merged = merge_datasets(
        [area.shard(r.rank) for r in written],
        RewriteConfig(
            output=str(output),
            overwrite=export.overwrite,
            validate="quick",
            chunks_size=export.chunks_size,
            data_files_size_in_mb=export.data_files_size_in_mb,
            video_files_size_in_mb=export.video_files_size_in_mb,
            progress=export.progress,
        ),
    )
    index_of = {str(row["recording"]): row["episode_index"] for row in merged.rows}
    summary = ShardedSummary(output, executor=executor)
    for result in results:
        for row in result.rows:
            written_here = row.get("status") == "written"
            summary.rows.append(
                {**row, "episode_index": index_of.get(str(row["episode"])) if written_here else None}
            )
        summary.shards.append(_line(result))
    summary.aggregate_seconds = time.perf_counter() - merging
    summary.seconds = time.perf_counter() - started
    summary.bytes = dir_size(output)
    return summary


def _line(result: ShardResult) -> str:
    if result.status == "empty":
        return f"shard {result.rank}: nothing written ({result.error})"
    written = sum(1 for r in result.rows if r.get("status") == "written")
    return f"shard {result.rank}: {written} episodes in {result.seconds:.1f} s"
