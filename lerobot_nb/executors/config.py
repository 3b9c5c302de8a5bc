"""`ScaleConfig`: how a conversion is spread over tasks (API keywords = CLI flags = notebook parameters)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lerobot_nb.config import config_from_mapping, help_field, read_yaml_mapping
from lerobot_nb.errors import LerobotNbError

__all__ = ["EXECUTORS", "ScaleConfig", "scale_config"]

#: inline: one process (today's convert); the others are datatrove's executors of the same name.
EXECUTORS: tuple[str, ...] = ("inline", "local", "slurm", "ray")


@dataclass(frozen=True, kw_only=True)
class ScaleConfig:
    """The episodes split into `tasks` shards (by recording id, in the order an inline run writes
    them); each datatrove task converts its shard with the normal pipeline into a shard dataset in
    `.<output>.shards/` beside the output, then the shards are merged into the output (exact stats,
    videos copied packet by packet) and published atomically. A re-run of the same command after
    a crash or a killed task redoes only the shards without a completion marker.
    """

    executor: Literal["inline", "local", "slurm", "ray"] = help_field(
        "inline",
        "inline: one process, as before; local: datatrove's LocalPipelineExecutor (processes on this "
        "machine); slurm: SlurmPipelineExecutor (a job array, then an aggregation job); ray: "
        "RayPipelineExecutor on --ray-address (or a local Ray)",
    )
    tasks: int = help_field(1, "shards (datatrove tasks) the episodes are split into", metavar="N")
    parallel_tasks: int | None = help_field(
        None,
        "tasks running at once (local: default one per core; slurm: the array's %%limit; ray: default all)",
        metavar="N",
    )
    executor_file: str | None = help_field(
        None,
        "YAML file with any of these settings (partition, cpus_per_task, ...); flags given override it",
        metavar="FILE",
    )
    partition: str | None = help_field(None, "slurm: partition to submit to")
    cpus_per_task: int = help_field(1, "slurm / ray: cores reserved per task")
    mem_per_cpu_gb: float = help_field(2, "slurm / ray: memory reserved per core, GB")
    time_limit: str = help_field(
        "04:00:00", "slurm: time limit per task ([D-]HH:MM:SS); ray: the same as a per-task timeout"
    )
    qos: str | None = help_field(None, "slurm: quality of service")
    job_name: str = help_field("lerobot_nb_convert", "slurm: job name")
    env_command: str | None = help_field(
        None,
        "slurm: shell command that activates the Python environment in a job (default: this venv's "
        "activate script)",
    )
    ray_address: str | None = help_field(
        None, "ray: address of a running cluster (HOST:PORT or auto; default: start a local one)"
    )

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise LerobotNbError(f"executor={self.executor!r} is not one of {', '.join(EXECUTORS)}")
        if self.tasks < 1:
            raise LerobotNbError(f"tasks={self.tasks} must be >= 1")
        if self.parallel_tasks is not None and self.parallel_tasks < 1:
            raise LerobotNbError(f"parallel_tasks={self.parallel_tasks} must be >= 1")
        if self.cpus_per_task < 1:
            raise LerobotNbError(f"cpus_per_task={self.cpus_per_task} must be >= 1")
        if self.mem_per_cpu_gb <= 0:
            raise LerobotNbError(f"mem_per_cpu_gb={self.mem_per_cpu_gb} must be > 0")
        if self.executor == "slurm" and not self.partition:
            raise LerobotNbError("the slurm executor needs a partition (--partition NAME or executor_file)")
        if self.executor == "inline" and self.tasks > 1:
            raise LerobotNbError(f"tasks={self.tasks} needs an executor: pass --executor local, slurm or ray")

    @property
    def sharded(self) -> bool:
        """Whether the conversion runs on a datatrove executor (anything but inline)."""
        return self.executor != "inline"

    def time_limit_s(self) -> int:
        """`time_limit` in seconds (ray's per-task timeout); D-HH:MM:SS, HH:MM:SS, MM:SS or minutes."""
        days, _, rest = self.time_limit.rpartition("-")
        parts = [int(p) for p in rest.split(":")]
        if len(parts) == 1:
            parts = [0, parts[0], 0]  # slurm: a bare number is minutes
        while len(parts) < 3:
            parts.insert(0, 0)
        hours, minutes, seconds = parts[-3:]
        return ((int(days or 0) * 24 + hours) * 60 + minutes) * 60 + seconds


def scale_config(given: Mapping[str, Any]) -> ScaleConfig:
    """`ScaleConfig` from the values given (flags, keywords, notebook parameters) over the
    settings of `executor_file` (a YAML mapping of field names)."""
    path = given.get("executor_file")
    from_file: dict[str, Any] = {}
    if path:
        file = Path(str(path)).expanduser()
        loaded = read_yaml_mapping(
            file, what="the executor file must map settings to values", kind="executor"
        )
        from_file = {str(k).replace("-", "_"): v for k, v in loaded.items()}
        unknown = sorted(set(from_file) - {f.name for f in dataclasses.fields(ScaleConfig)})
        if unknown:
            raise LerobotNbError(f"unknown executor setting(s) {', '.join(unknown)}", file=file)
    return config_from_mapping(ScaleConfig, {**from_file, **given})
