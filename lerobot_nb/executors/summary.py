"""What a sharded conversion did: the export summary of the merged dataset, plus one line per shard."""

from __future__ import annotations

from dataclasses import dataclass, field

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.summary import ExportSummary

__all__ = ["ShardedSummary", "ShardsFailed"]


@dataclass
class ShardedSummary(ExportSummary):
    """`ExportSummary` rows of every shard (episode indices those of the merged dataset), `shards`
    one line each (done now / resumed / empty / submitted) and the aggregation's seconds."""

    shards: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    aggregate_seconds: float = 0.0
    executor: str = "local"

    def render(self) -> str:
        """The notes, one line per shard, then the export table and totals (Slurm: the submission)."""
        head = [*self.notes, *(f"  {line}" for line in self.shards)]
        if not self.rows:  # submitted (slurm): nothing written yet
            return "\n".join(head)
        tail = (
            f"{self.executor} executor, {len(self.shards)} shards; aggregation {self.aggregate_seconds:.1f} s "
            f"of {self.seconds:.1f} s"
        )
        return "\n".join([*head, super().render(), tail])


class ShardsFailed(LerobotNbError):
    """Some shards failed: the first line says so, then one line per failed shard with its reason."""

    def __init__(self, failed: list[str], total: int, logs: str) -> None:
        super().__init__(
            f"{len(failed)} of {total} shards failed, nothing was published; per-task logs in {logs}; "
            "re-run the same command to redo only those shards"
        )
        self.lines = failed

    def __str__(self) -> str:
        return "\n".join([super().__str__(), *(f"  {line}" for line in self.lines)])
