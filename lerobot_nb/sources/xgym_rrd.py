"""An xgym episode as a Rerun `.rrd`: the reader's streams at the same entity paths, both timelines.

Numeric streams are `Scalars` with their `SeriesLines` names, cameras raw RGB `Image`s (lossless,
so a server-side alignment sees exactly the reader's frames), the task a static `TextDocument`.
Images are sent a window of records at a time and flushed, so memory stays one window.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lerobot_nb.sources.xgym_episode import XgymEpisode
from lerobot_nb.sources.xgym_files import Task, entity_of
from lerobot_nb.sources.xgym_records import CameraFrames

if TYPE_CHECKING:
    import rerun as rr

__all__ = ["TASK_PATH", "write_episode_rrd"]

#: Where the task sentence is logged (`AlignConfig.task_path`'s default).
TASK_PATH = "/language_instruction"


def _indexes(episode: XgymEpisode, lo: int, hi: int) -> list[rr.TimeColumn]:
    import rerun as rr

    return [
        rr.TimeColumn("record", sequence=episode.times("record")[lo:hi]),
        rr.TimeColumn("time", timestamp=episode.times("time")[lo:hi].astype("datetime64[ns]")),
    ]


def _send_numeric(rec: rr.RecordingStream, episode: XgymEpisode, task: Task) -> None:
    import rerun as rr

    for path, stream in episode.numeric_streams("record", task.embedding).items():
        if stream.names:
            rec.log(path, rr.SeriesLines(names=list(stream.names)), static=True)
        values = np.ascontiguousarray(stream.values)
        rec.send_columns(
            path, indexes=_indexes(episode, 0, episode.length), columns=rr.Scalars.columns(scalars=values)
        )


def _send_camera(rec: rr.RecordingStream, episode: XgymEpisode, camera: str) -> None:
    import rerun as rr

    entity = entity_of(camera)
    height, width = episode.sidecar.shape(camera)
    fmt = rr.components.ImageFormat(width=width, height=height, color_model="RGB", channel_datatype="U8")
    rec.log(entity, rr.Image.from_fields(format=fmt), static=True)
    step = episode.records.window
    for lo in range(0, episode.length, step):
        hi = min(lo + step, episode.length)
        rows = np.arange(episode.start + lo, episode.start + hi)
        buffers = [frame.reshape(-1) for frame in CameraFrames(episode.records, camera, rows)]
        rec.send_columns(entity, indexes=_indexes(episode, lo, hi), columns=rr.Image.columns(buffer=buffers))
        rec.flush()  # the sink writes this window before the next is read


def write_episode_rrd(episode: XgymEpisode, task: Task, target: Path) -> None:
    """Write `episode` to `target` (recording id = episode id); the caller renames it into place."""
    import rerun as rr

    rec = rr.RecordingStream("lerobot_nb", recording_id=episode.episode_id, send_properties=False)
    rec.save(target)
    try:
        rec.log(TASK_PATH, rr.TextDocument(task.sentence), static=True)
        _send_numeric(rec, episode, task)
        for camera in episode.sidecar.cameras:
            _send_camera(rec, episode, camera)
        rec.flush()
    finally:
        rec.disconnect()
