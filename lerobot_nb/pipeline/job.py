"""A conversion resolved from the user's configs: run it whole, or only some episodes elsewhere (a shard).

`lerobot-nb convert` builds one (`cli.convert.prepare_convert`); inline it runs once, and the
sharded executors (`lerobot_nb.executors`) build the same job in every task and run it on the
task's episodes into the task's own dataset, so every interface runs the one chain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from lerobot_nb.align import AlignConfig
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.summary import ExportSummary
from lerobot_nb.pipeline.inputs import Inputs
from lerobot_nb.pipeline.run import run_pipeline
from lerobot_nb.pipeline.steps import Step

__all__ = ["ConvertJob"]


@dataclass
class ConvertJob:
    """Inputs found, alignment and export resolved; `steps()` builds a fresh chain for one run
    (steps hold resources and per-run state, so each run gets its own)."""

    inputs: Inputs
    align: AlignConfig
    export: ExportConfig
    steps: Callable[[], list[Step]]

    def episode_ids(self) -> list[str]:
        """The episodes this job converts, in the order an inline run writes them.

        The chosen ones (`export.episodes`) as given; else a served source's recording ids
        (sorted, as the server lists them) or a file source's own stable order.
        """
        if self.export.episodes:
            return list(self.export.episodes)
        if self.inputs.recordings and not self.inputs.server.server_url:
            return sorted(r.episode_id for r in self.inputs.recordings)
        with self.inputs.open(self.align) as source:
            return list(source.episodes)

    def run(self, export: ExportConfig | None = None) -> ExportSummary:
        """Run the chain into `export` (default: the job's own) and publish the dataset."""
        return run_pipeline(
            self.inputs.open(self.align), export or self.export, self.steps(), inputs=self.inputs.paths
        )

    def shard_export(self, output: str, episodes: list[str]) -> ExportConfig:
        """The export of one shard: only `episodes`, into `output` (replaced if a killed run left
        one), without bars (a task's progress is the shard bar of the driver)."""
        return dataclasses.replace(
            self.export, output=output, episodes=tuple(episodes), overwrite=True, resume=False, progress=False
        )
