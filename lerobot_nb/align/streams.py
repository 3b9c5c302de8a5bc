"""The aligner's input: every stream of one episode as sample times plus values or a frame factory.

Both readers produce it: `server_streams` from a Rerun server, `recorded` from a
`RecordedEpisode` read straight from files. `core` puts it on the grid without knowing which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from lerobot_nb.align.config import StreamPolicy
from lerobot_nb.episode import FrameSource

__all__ = ["FrameFactory", "LatestAt", "SourceStream", "TaskLookup"]

#: `factory(picks, remuxable)`: the frames of samples `picks[k]` for the kept ticks k; `remuxable`
#: says every pick is within tolerance, so compressed packets may be copied as they are.
FrameFactory = Callable[[np.ndarray, bool], FrameSource]

#: `tasks(ticks)`: the task text at each tick (object array), or None when the episode has none.
TaskLookup = Callable[[np.ndarray], "np.ndarray | None"]

#: `latest_at(streams, ticks)`: values of numeric `latest` streams at `ticks` computed elsewhere
#: (the server), one `(len(ticks), D)` float64 array per stream label.
LatestAt = Callable[[list["SourceStream"], np.ndarray], dict[str, np.ndarray]]


@dataclass(frozen=True)
class SourceStream:
    """One stream feeding one feature: `times` (int64, sorted, timeline units) and its samples.

    `key` is the feature (`action`, `observation.state`, a camera key, an extra key); a feature
    made of several streams has one `SourceStream` per part, each with its own `label`
    (`key`, or `key <- entity` for parts) and tolerance. Numeric streams carry `values`
    `(N, D)` float64 (and the source's `dtype`, kept on the grid when the values fit it); cameras
    a `frames` factory.
    """

    key: str
    label: str
    column: str
    kind: Literal["numeric", "image"]
    policy: StreamPolicy
    times: np.ndarray
    values: np.ndarray | None = None
    names: tuple[str, ...] | None = None
    entity: str = ""
    frames: FrameFactory | None = None
    dtype: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "numeric" and (self.values is None or len(self.values) != len(self.times)):
            raise ValueError(f"numeric stream {self.label} needs one value row per sample time")
        if self.kind == "image" and self.frames is None:
            raise ValueError(f"image stream {self.label} needs a frame factory")


def part_label(key: str, entity: str, parts: int) -> str:
    """How reports name a stream: the feature key, or `key <- entity` when it has several parts."""
    return key if parts == 1 else f"{key} <- {entity}"
