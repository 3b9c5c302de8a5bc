"""The whole conversion, composed of steps: source -> align -> enrich... -> export.

Every interface runs this one chain: `lerobot-nb convert` / `hands`, `oss_server_lerobot`, the
`lrbt` commands, notebook 04 and the sharded executors. One episode is in memory at a time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

from lerobot_nb.align import AlignConfig
from lerobot_nb.episode import AlignedEpisode, EpisodeSkipped
from lerobot_nb.export.admission import ALREADY_PRESENT
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.publish import check_output
from lerobot_nb.export.summary import ExportSummary
from lerobot_nb.export.writer import export_dataset, read_sources
from lerobot_nb.pipeline.inputs import Inputs
from lerobot_nb.pipeline.source import EpisodeSource
from lerobot_nb.pipeline.steps import Step, enrich
from lerobot_nb.server import ServerConfig

__all__ = ["convert", "iterate_pipeline", "run_pipeline"]


def run_pipeline(
    source: EpisodeSource,
    export: ExportConfig,
    steps: Sequence[Step] = (),
    *,
    inputs: Sequence[Path] = (),
) -> ExportSummary:
    """Align every chosen episode of `source`, apply `steps`, write the dataset at `export.output`.

    The output is checked (inside `inputs`? writable? exists?) before the source opens. With
    `export.resume`, recordings already in the dataset are not aligned again; with the alignment's
    `skip_bad_episodes`, a bad episode is left out with its reason at every step. The steps are
    closed at the end, also on errors.
    """
    output = Path(export.output).expanduser()
    check_output(output, overwrite=export.overwrite, resume=export.resume, inputs=inputs)
    if export.skip_bad_episodes and not source.align.skip_bad_episodes:  # the deprecated spelling
        source.align = dataclasses.replace(source.align, skip_bad_episodes=True)
    present: set[str] = set()
    if export.resume and (output / "meta/lerobot_nb.json").is_file():
        present = set(read_sources(output))
    try:
        with source:
            chosen = list(export.episodes) or source.episodes
            episodes = enrich(_episodes(source, chosen, present), steps, source)
            return export_dataset(
                episodes,
                export,
                total=len(chosen),
                inputs=inputs,
                skip_bad_episodes=source.align.skip_bad_episodes,
            )
    finally:
        for step in steps:
            step.close()


def iterate_pipeline(
    source: EpisodeSource, steps: Sequence[Step] = (), *, episodes: Sequence[str] = ()
) -> Iterator[AlignedEpisode | EpisodeSkipped]:
    """The chain without the export: aligned and enriched episodes of `source`, lazily (a report-only
    run). The source is open while the iterator runs; the steps are closed when it ends."""
    try:
        with source:
            yield from enrich(source.aligned(list(episodes) or source.episodes), steps, source)
    finally:
        for step in steps:
            step.close()


def _episodes(
    source: EpisodeSource, chosen: list[str], present: set[str]
) -> Iterator[AlignedEpisode | EpisodeSkipped]:
    """Those already in the dataset (resume) as skips, then the rest aligned, lazily."""
    for episode in chosen:
        if episode in present:
            yield EpisodeSkipped(episode, ALREADY_PRESENT, source.source_of(episode))
    todo = [e for e in chosen if e not in present]
    if todo:
        yield from source.aligned(todo)


def convert(
    server_config: ServerConfig, align_config: AlignConfig, export_config: ExportConfig
) -> ExportSummary:
    """Recordings -> dataset with no enrichment (the earlier API): `run_pipeline` on `server_config`'s inputs."""
    inputs = Inputs.discover(server_config)
    return run_pipeline(inputs.open(align_config), export_config, inputs=inputs.paths)
