"""Run a conversion sharded on one of datatrove's executors, then merge the shards into the output.

The driver resolves the job once (inputs, alignment, export: a bad flag fails before any task
starts), checks the output as an inline run would, lists the episodes and splits them into
`tasks` shards, then hands one `ConvertShard` step per task to datatrove's Local, Slurm or Ray
executor. Local and Ray block until the tasks end (one bar over shards, per-task logs in the
build area) and the driver merges the shards; Slurm submits the job array and an aggregation job
that depends on it, and returns.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.executors.aggregate import aggregate
from lerobot_nb.executors.area import BuildArea, fingerprint, split_shards
from lerobot_nb.executors.config import ScaleConfig
from lerobot_nb.executors.steps import AggregateShards, ConvertShard, JobFactory
from lerobot_nb.executors.summary import ShardedSummary
from lerobot_nb.export.publish import check_output

__all__ = ["make_executor", "run_sharded"]

#: The extra to install for an executor's engine (module -> pip spec).
_ENGINES = {"datatrove": "datatrove", "ray": "ray"}


def _require(module: str, executor: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise LerobotNbError(
            f"the {executor} executor needs {module}, which is not installed: "
            f"pip install 'lerobot_nb[scale]' (or pip install {_ENGINES[module]})"
        )


def run_sharded(make_job: JobFactory, scale: ScaleConfig) -> ShardedSummary:
    """Convert `make_job()`'s episodes in `scale.tasks` shards on `scale.executor`; the summary of
    the merged dataset (Slurm: of the submission)."""
    started = time.perf_counter()
    _require("datatrove", scale.executor)
    if scale.executor == "ray":
        _require("ray", "ray")
    job = make_job()
    export = job.export
    if export.resume:
        raise LerobotNbError(
            "--resume appends in one process; with --executor, re-running the same command resumes "
            "the unfinished shards (--overwrite replaces the output when it is published)"
        )
    if export.writer != "native":
        raise LerobotNbError("--executor needs the native writer (--writer native)")
    output = Path(export.output).expanduser().absolute()
    check_output(output, overwrite=export.overwrite, resume=False, inputs=job.inputs.paths)
    shards = split_shards(job.episode_ids(), scale.tasks)
    area = BuildArea.of(output)
    plan = fingerprint(job.align, job.shard_export("", []), job.inputs.paths)
    done, notes = area.prepare(shards, plan)
    for note in notes:
        print(note, file=sys.stderr, flush=True)
    pipeline: list[Any] = [ConvertShard(make_job, str(area.root), shards)]
    executor = make_executor(scale, pipeline, area.logs, tasks=len(shards))
    if scale.executor == "slurm":
        return _submit(executor, scale, make_job, area, shards, notes)
    with _ShardBar(area, len(shards), len(done), enabled=export.progress):
        executor.run()
    summary = aggregate(area, len(shards), export, executor=scale.executor, started=started)
    summary.notes = notes
    area.remove()
    return summary


def make_executor(scale: ScaleConfig, pipeline: list[Any], logs: Path, *, tasks: int) -> Any:
    """datatrove's executor for `scale`, running `pipeline` as `tasks` tasks logging to `logs`."""
    if scale.executor == "local":
        import multiprocess
        from datatrove.executor import LocalPipelineExecutor

        parallel = scale.parallel_tasks or os.cpu_count() or 1
        # The pool forks its workers from a server process: import the chain there once, not in
        # every worker (~1.5 s each on 2 cores). Plain fork from the driver can deadlock (threads).
        multiprocess.set_forkserver_preload(["lerobot_nb.cli.convert", "lerobot_nb.executors.steps"])
        return LocalPipelineExecutor(
            pipeline, tasks=tasks, workers=min(parallel, tasks), logging_dir=str(logs)
        )
    if scale.executor == "slurm":
        from datatrove.executor import SlurmPipelineExecutor

        return SlurmPipelineExecutor(
            pipeline,
            tasks=tasks,
            job_name=scale.job_name,
            logging_dir=str(logs),
            **_slurm_resources(scale),
        )
    if scale.executor == "ray":
        import ray
        from datatrove.executor import RayPipelineExecutor

        if not ray.is_initialized():
            ray.init(address=scale.ray_address, include_dashboard=False, log_to_driver=False)
        return RayPipelineExecutor(
            pipeline,
            tasks=tasks,
            workers=scale.parallel_tasks or -1,
            cpus_per_task=scale.cpus_per_task,
            mem_per_cpu_gb=scale.mem_per_cpu_gb,
            time=scale.time_limit_s(),
            logging_dir=str(logs),
        )
    raise LerobotNbError(f"executor {scale.executor!r} does not shard; use run_pipeline")


def _slurm_resources(scale: ScaleConfig) -> dict[str, Any]:
    """SlurmPipelineExecutor's resource keywords; memory in whole GB, else as MB in sbatch_args."""
    mem = scale.mem_per_cpu_gb
    extra = {} if float(mem).is_integer() else {"mem-per-cpu": f"{round(mem * 1024)}M"}
    return {
        "time": scale.time_limit,
        "partition": str(scale.partition),
        "cpus_per_task": scale.cpus_per_task,
        "mem_per_cpu_gb": int(mem) if not extra else 1,
        "qos": scale.qos or "",
        "env_command": scale.env_command or _activate_command(),
        "sbatch_args": extra,
        "requeue_signals": None,
        "workers": scale.parallel_tasks or -1,
    }


def _activate_command() -> str:
    """`source <venv>/bin/activate` when running from a virtual environment (the jobs need the
    same Python with lerobot_nb), else nothing."""
    activate = Path(sys.prefix) / "bin" / "activate"
    return f"source {activate}" if sys.prefix != sys.base_prefix and activate.is_file() else ""


def _submit(
    executor: Any,
    scale: ScaleConfig,
    make_job: JobFactory,
    area: BuildArea,
    shards: list[list[str]],
    notes: list[str],
) -> ShardedSummary:
    """Slurm: the shard array, then one aggregation task that runs after it succeeded."""
    from datatrove.executor import SlurmPipelineExecutor

    merge = SlurmPipelineExecutor(
        [AggregateShards(make_job, str(area.root), shards)],
        tasks=1,
        job_name=f"{scale.job_name}_aggregate",
        logging_dir=str(area.aggregate_logs),
        depends=executor,
        skip_completed=False,
        **_slurm_resources(scale),
    )
    try:
        merge.run()  # launches the dependency (the array) first, then itself
    except FileNotFoundError as exc:
        raise LerobotNbError(
            f"{exc.filename or 'sbatch'} not found: the slurm executor submits with sbatch (run it on "
            "a Slurm login node)"
        ) from None
    summary = ShardedSummary(Path(area.root), executor="slurm")
    summary.notes = [
        *notes,
        f"submitted Slurm job {executor.job_id} ({len(shards)} tasks) and aggregation job {merge.job_id}",
        f"logs: {area.logs} and {area.aggregate_logs}; after a failure re-run the same command "
        "(finished shards are kept)",
    ]
    return summary


class _ShardBar:
    """One tqdm bar over shards, advanced from datatrove's completion markers (polled)."""

    def __init__(self, area: BuildArea, total: int, done: int, *, enabled: bool) -> None:
        self.area, self.total, self.done, self.enabled = area, total, done, enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None

    def __enter__(self) -> _ShardBar:
        if self.enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, initial=self.done, desc="shards", unit="shard")
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            self._update()

    def _update(self) -> None:
        n = len(self.area.completed())
        if self._bar is not None and n > self._bar.n:
            self._bar.update(n - self._bar.n)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._update()
            self._bar.close()
