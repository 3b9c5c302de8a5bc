"""Sharded conversion on datatrove's executors (local processes, Slurm, Ray), merged exactly.

`executors.run.run_sharded(make_job, ScaleConfig(executor="local", tasks=4))` splits the job's
episodes into shards, converts each in its own datatrove task with the normal pipeline, merges
the shard datasets with `lerobot_nb.dataset.merge_datasets` and publishes the output atomically;
a re-run after a crash redoes only the unfinished shards. `executor="inline"` is the one-process
path (`ConvertJob.run`). datatrove is imported only by `executors.run` and `executors.steps`.
"""

from lerobot_nb.executors.config import EXECUTORS, ScaleConfig, scale_config

__all__ = ["EXECUTORS", "ScaleConfig", "scale_config"]
