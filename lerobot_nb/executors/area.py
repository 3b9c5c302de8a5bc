"""The build area of a sharded conversion: `.<output>.shards/` beside the output.

It holds the shard plan (`plan.json`: which episodes each shard converts, and a fingerprint of
the configs), datatrove's logging dir (`logs/`: per-task logs, stats and the completion markers
that make a re-run skip finished shards), each task's result (`results/00003.json`: written,
empty or failed, with the reason and the shard's summary rows) and the shard datasets
(`shard-00003/`, each published atomically by the normal writer). Its name does not start with
the publish build prefix, so a later run finds it again instead of deleting it; it is removed
once the output is published.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lerobot_nb.errors import LerobotNbError

__all__ = ["BuildArea", "ShardResult", "split_shards"]


def split_shards(episodes: Sequence[str], tasks: int) -> list[list[str]]:
    """`episodes` cut into `tasks` contiguous runs of near-equal size (the first ones one longer),
    so the shards in rank order list the episodes in their given order."""
    if tasks > len(episodes):
        raise LerobotNbError(
            f"tasks={tasks} is more than the {len(episodes)} episodes; pass --tasks {len(episodes)} or fewer"
        )
    size, extra = divmod(len(episodes), tasks)
    out, start = [], 0
    for rank in range(tasks):
        end = start + size + (1 if rank < extra else 0)
        out.append(list(episodes[start:end]))
        start = end
    return out


@dataclass(frozen=True)
class ShardResult:
    """What one task did: `status` written | empty (every episode skipped) | failed (`error`)."""

    rank: int
    status: str
    error: str = ""
    rows: tuple[dict[str, Any], ...] = ()
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The result as written to `results/<rank>.json`."""
        return {**dataclasses.asdict(self), "rows": list(self.rows)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShardResult:
        """The result read back from its JSON."""
        return cls(int(data["rank"]), str(data["status"]), str(data.get("error", "")),
                   tuple(data.get("rows", ())), float(data.get("seconds", 0.0)))  # fmt: skip


@dataclass(frozen=True)
class BuildArea:
    """Paths of the build area of `output`."""

    root: Path

    @classmethod
    def of(cls, output: Path) -> BuildArea:
        """The build area of the dataset folder `output`: `.<name>.shards/` beside it."""
        return cls(output.parent / f".{output.name}.shards")

    @property
    def logs(self) -> Path:
        """datatrove's logging dir of the shard tasks."""
        return self.root / "logs"

    @property
    def aggregate_logs(self) -> Path:
        """datatrove's logging dir of the aggregation task (slurm)."""
        return self.root / "logs-aggregate"

    def shard(self, rank: int) -> Path:
        """Where task `rank` publishes its shard dataset."""
        return self.root / f"shard-{rank:05d}"

    def result_path(self, rank: int) -> Path:
        """Where task `rank` writes its result."""
        return self.root / "results" / f"{rank:05d}.json"

    def completed(self) -> set[int]:
        """Ranks with datatrove's completion marker."""
        folder = self.logs / "completions"
        return {int(p.name) for p in folder.iterdir() if p.name.isdigit()} if folder.is_dir() else set()

    def prepare(self, shards: list[list[str]], fingerprint: str) -> tuple[list[int], list[str]]:
        """Reuse the area of an earlier run of the same plan (else start it afresh); returns the
        ranks already finished and lines saying what was found.

        The completion marker of a failed shard (or one whose dataset is gone) is removed:
        datatrove then runs it again.
        """
        plan = {"fingerprint": fingerprint, "shards": shards}
        notes: list[str] = []
        plan_file = self.root / "plan.json"
        if plan_file.is_file():
            try:
                old = json.loads(plan_file.read_text())
            except ValueError:
                old = {}
            if old != plan:
                notes.append(f"{self.root}: left by a run with other inputs or settings; starting over")
                shutil.rmtree(self.root)
        if not plan_file.is_file():
            self.root.mkdir(parents=True, exist_ok=True)
            write_json(plan_file, plan)
        for rank in sorted(self.completed()):
            result = self.result(rank)
            lost = (
                result is not None
                and result.status == "written"
                and not (self.shard(rank) / "meta/info.json").is_file()
            )
            if result is None or result.status == "failed" or lost:
                (self.logs / "completions" / f"{rank:05d}").unlink()
        done = sorted(self.completed())
        if done:
            notes.append(f"resuming: {len(done)} of {len(shards)} shards already converted in {self.root}")
        return done, notes

    def write_result(self, result: ShardResult) -> None:
        """Store a task's result (atomically)."""
        write_json(self.result_path(result.rank), result.to_json())

    def result(self, rank: int) -> ShardResult | None:
        """Task `rank`'s result, None when it has none (never ran, killed, unreadable)."""
        path = self.result_path(rank)
        if not path.is_file():
            return None
        try:
            return ShardResult.from_json(json.loads(path.read_text()))
        except (ValueError, KeyError):
            return None

    def remove(self, *, keep: Path | None = None) -> None:
        """Delete the area (all but `keep`: the Slurm aggregation's own logs, still being written)."""
        if keep is None:
            shutil.rmtree(self.root, ignore_errors=True)
            return
        for path in self.root.iterdir() if self.root.is_dir() else ():
            if path != keep:
                shutil.rmtree(path) if path.is_dir() else path.unlink()


def fingerprint(*parts: object) -> str:
    """A short hash of the reprs of `parts` (the resolved configs a shard depends on)."""
    return hashlib.sha256("\n".join(map(repr, parts)).encode()).hexdigest()[:16]


def write_json(path: Path, data: Any) -> None:
    """Write `data` as JSON atomically (a killed task leaves the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)
