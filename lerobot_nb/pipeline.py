"""The whole conversion: recordings on a Rerun server -> aligned episodes -> a LeRobot v3.0 dataset."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from lerobot_nb.align import AlignConfig, AlignedEpisode, EpisodeSkipped, iter_aligned
from lerobot_nb.export.admission import ALREADY_PRESENT
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.publish import check_output
from lerobot_nb.export.summary import ExportSummary
from lerobot_nb.export.writer import export_dataset, read_sources
from lerobot_nb.server import RecordingServer, ServerConfig

__all__ = ["convert"]


def convert(
    server_config: ServerConfig, align_config: AlignConfig, export_config: ExportConfig
) -> ExportSummary:
    """Serve the recordings, align each episode, write the dataset; one episode in memory at a time.

    With `export_config.resume`, recordings already in the dataset are not aligned again. With
    `export_config.skip_bad_episodes`, alignment errors skip the episode too (align `on_error`).
    The output is checked (inside the inputs? writable? exists?) before the server starts.
    """
    if export_config.skip_bad_episodes and align_config.on_error != "skip":
        align_config = dataclasses.replace(align_config, on_error="skip")
    inputs = [] if server_config.server_url else [Path(p) for p in server_config.recordings]
    output = Path(export_config.output).expanduser()
    check_output(output, overwrite=export_config.overwrite, resume=export_config.resume, inputs=inputs)
    present: set[str] = set()
    if export_config.resume and (output / "meta/lerobot_nb.json").is_file():
        present = set(read_sources(output))
    with RecordingServer(server_config) as server:
        chosen = list(export_config.episodes) or server.episodes
        todo = [e for e in chosen if e not in present]

        def episodes() -> Iterator[AlignedEpisode | EpisodeSkipped]:
            for episode in chosen:
                if episode in present:
                    yield EpisodeSkipped(episode, ALREADY_PRESENT, server.source_of(episode))
            if todo:
                yield from iter_aligned(server, align_config, episodes=todo)

        return export_dataset(episodes(), export_config, total=len(chosen), inputs=inputs)
