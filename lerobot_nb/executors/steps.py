"""The datatrove pipeline steps: convert one shard (rank = shard number), merge the shards.

A step is pickled into every task (dill: local processes, Slurm jobs; cloudpickle: Ray), so it
holds only a picklable job factory and paths; the task builds its own `ConvertJob`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.executors.area import BuildArea, ShardResult
from lerobot_nb.export.summary import NothingWritten
from lerobot_nb.pipeline.job import ConvertJob

__all__ = ["AggregateShards", "ConvertShard", "JobFactory"]

#: Builds the job in a task (`functools.partial(cli.convert.prepare_convert, args, ...)`).
JobFactory = Callable[[], ConvertJob]


class _ShardStep(PipelineStep):
    """A step of a sharded conversion: how to build the job, the build area, the shards."""

    def __init__(self, make_job: JobFactory, area: str, shards: list[list[str]]) -> None:
        super().__init__()
        self.make_job = make_job
        self.area = area
        self.shards = shards


class ConvertShard(_ShardStep):
    """Task `rank` converts episodes `shards[rank]` with the normal pipeline into its shard dataset.

    Any error is caught and stored as the shard's result (one line), so the other tasks keep
    running (datatrove's local pool would stop them all) and the driver names it; the area then
    drops the failed shard's completion marker, so a re-run redoes it.
    """

    name = "convert shard"
    type = "lerobot_nb"

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> None:  # type: ignore[override]
        """Convert shard `rank` and store its result (never raises for a bad shard)."""
        area = BuildArea(Path(self.area))
        episodes = self.shards[rank]
        started = time.perf_counter()
        logger.info(f"shard {rank}: {len(episodes)} episodes ({episodes[0]} .. {episodes[-1]})")
        try:
            job = self.make_job()
            summary = job.run(job.shard_export(str(area.shard(rank)), episodes))
            result = ShardResult(rank, "written", rows=tuple(summary.rows))
            self.stat_update("episodes", value=summary.episodes_written)
            self.stat_update("frames", value=summary.frames)
        except NothingWritten as exc:  # a shard of only skipped episodes: their reasons are kept
            logger.warning(f"shard {rank}: every episode skipped")
            result = ShardResult(rank, "empty", error="every episode skipped", rows=tuple(exc.summary.rows))
        except LerobotNbError as exc:
            logger.warning(f"shard {rank} failed: {exc}")
            result = ShardResult(rank, "failed", error=str(exc))
        except Exception as exc:  # a bug or an unreadable input: name it, keep the other shards going
            logger.exception(f"shard {rank} failed")
            result = ShardResult(rank, "failed", error=" ".join(f"{type(exc).__name__}: {exc}".split()))
        area.write_result(
            ShardResult(result.rank, result.status, result.error, result.rows, time.perf_counter() - started)
        )


class AggregateShards(_ShardStep):
    """The one task after the shards (Slurm: a job depending on the array): merge and publish."""

    name = "aggregate shards"
    type = "lerobot_nb"

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> None:  # type: ignore[override]
        """Merge every shard into the output and publish it; raises `ShardsFailed` naming failed ones."""
        from lerobot_nb.executors.aggregate import aggregate

        job = self.make_job()
        area = BuildArea(Path(self.area))
        summary = aggregate(area, len(self.shards), job.export, executor="slurm")
        logger.info("\n" + summary.render())
        area.remove(keep=area.aggregate_logs)  # datatrove marks this task complete there next
