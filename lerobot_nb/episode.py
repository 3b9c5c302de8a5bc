"""The episode data model every step shares: aligned episodes, their frame sources and skip records.

It belongs to no step: sources produce it (recorders that already tick), `align` produces it from
recordings, `enrich` adds features to it, `export`, `curate` and `prepare` consume it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import polars as pl

__all__ = [
    "LANGUAGE_STREAM",
    "AlignedEpisode",
    "EncodedVideo",
    "EpisodeSkipped",
    "FrameSource",
    "ImageStream",
    "NumericStream",
    "RecordedEpisode",
    "StreamTiming",
    "TextStream",
    "TimelineKind",
]

#: The stream key under which a source offers the task embedding its recording carries (xgym's
#: `task-*.npy`, RLDS `language_embedding`), for `--language-embedding npy`.
LANGUAGE_STREAM = "/language_embedding"

#: A timestamp timeline counts int64 nanoseconds; a sequence timeline counts steps (records, frames).
TimelineKind = Literal["timestamp", "sequence"]


@dataclass(frozen=True)
class EncodedVideo:
    """Compressed packets already on the grid, for remuxing without re-encoding.

    `packets[k]` is the access unit shown at tick k (Annex-B for H.264/H.265, OBU for AV1);
    `codec` is the PyAV codec name (`h264`, `hevc`, `av1`).
    """

    codec: str
    packets: tuple[bytes, ...]
    width: int
    height: int
    keyframes: tuple[bool, ...]


@runtime_checkable
class FrameSource(Protocol):
    """One camera's aligned frames, produced lazily: memory does not grow with episode length.

    Iterating yields exactly `len(self)` arrays, one per tick in order, each `(height, width, 3)`
    uint8 RGB. Iterating again starts over (decoding again).
    """

    @property
    def height(self) -> int:
        """Frame height in pixels."""

    @property
    def width(self) -> int:
        """Frame width in pixels."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[np.ndarray]: ...

    def encoded(self, codec: str) -> EncodedVideo | None:
        """Packets to remux when the source already is `codec` and on the grid, else None."""
        ...


@dataclass(frozen=True)
class StreamTiming:
    """Where one stream's samples and the kept ticks lie, in seconds from the grid start.

    `staleness_s[k]` is the age (latest), distance (nearest) or farther bracket distance
    (linear) of the value used at kept tick k; `flagged[k]` marks ticks beyond the stream's
    tolerance that were kept (`on_stale="flag"`); `dropped_s` are ticks left out.
    """

    sample_s: np.ndarray
    staleness_s: np.ndarray
    flagged: np.ndarray
    dropped_s: np.ndarray
    tolerance_s: float
    #: The kept ticks themselves, seconds from the same origin (the first tick of the full grid).
    tick_s: np.ndarray = field(default_factory=lambda: np.empty(0))


@dataclass(frozen=True)
class AlignedEpisode:
    """One episode on the fixed grid `timestamp[k] = k / fps` (k = 0..length-1).

    Invariants: every array in `numeric` has `length` rows; every frame source has `length`
    frames; `tasks` has `length` entries; `ticks[k]` is the timeline value of tick k in the
    timeline's own unit (nanoseconds for timestamp timelines, steps for sequence timelines).
    """

    episode_id: str
    fps: int
    index: str
    ticks: np.ndarray
    numeric: Mapping[str, np.ndarray]
    images: Mapping[str, FrameSource] = field(default_factory=dict)
    tasks: tuple[str, ...] = ()
    names: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    report: pl.DataFrame = field(default_factory=pl.DataFrame)
    source: str = ""
    #: Per stream key: timing detail for plots and checks (added by `align`; may be empty).
    timing: Mapping[str, StreamTiming] = field(default_factory=dict)
    #: What was done to the data before the grid (records trimmed, NaN held), one line each.
    notes: tuple[str, ...] = ()

    @property
    def length(self) -> int:
        """Number of ticks (frames) on the grid."""
        return len(self.ticks)

    @property
    def timestamps(self) -> np.ndarray:
        """Seconds from the episode start, exactly `k / fps` as float64."""
        return np.arange(self.length, dtype=np.float64) / self.fps

    def __post_init__(self) -> None:
        n = self.length
        bad = {k: len(v) for k, v in self.numeric.items() if len(v) != n}
        bad |= {k: len(v) for k, v in self.images.items() if len(v) != n}
        if self.tasks and len(self.tasks) != n:
            bad["tasks"] = len(self.tasks)
        if bad:
            raise ValueError(f"episode {self.episode_id}: {n} ticks but {bad}")


@dataclass(frozen=True)
class EpisodeSkipped:
    """An episode a batch run left out (policy `skip`), with the one-line reason."""

    episode_id: str
    reason: str
    source: str = ""


# -- before alignment: one episode's streams on their own clocks, read straight from files ---------
@dataclass(frozen=True)
class NumericStream:
    """Samples of one numeric stream: `values[i]` (float64, shape (D,), NaN = missing) at `times[i]`.

    `times` is int64, non-decreasing, in the episode's index timeline unit (ns or steps);
    `names` are the D dimension names when the source has them; `dtype` is the source's own
    (`float32`, `int64`, `bool`), which the aligned feature keeps when its values fit it.
    """

    times: np.ndarray
    values: np.ndarray
    names: tuple[str, ...] | None = None
    dtype: str | None = None

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or len(self.values) != len(self.times):
            raise ValueError(f"values {self.values.shape} do not match {len(self.times)} times")


@runtime_checkable
class ImageStream(Protocol):
    """Samples of one camera at `times` (int64, non-decreasing); pixels are decoded only when asked."""

    @property
    def times(self) -> np.ndarray:
        """Sample times, int64 and non-decreasing, in the timeline's unit (ns or steps)."""

    def frames(self, picks: np.ndarray) -> FrameSource:
        """The frames of samples `picks[k]` for k = 0..len(picks)-1 (non-decreasing, repeats allowed)."""
        ...


@dataclass(frozen=True)
class TextStream:
    """A text stream (the task): `texts[i]` holds from `times[i]` on."""

    times: np.ndarray
    texts: tuple[str, ...]


@dataclass(frozen=True)
class RecordedEpisode:
    """One episode as recorded, before alignment: every stream on the timeline `index`.

    Stream keys are entity-like paths (`/xarm_joints`, `/xgym/camera/worm`), the names that
    `AlignConfig`'s `*_path` and `image` fields use. A sequence `index` (records, steps) needs
    `rate_hz`, its steps per second, for an fps to mean anything. `notes` say what the reader did
    to the data (records trimmed, NaN held), one line each, for the alignment report.
    """

    episode_id: str
    index: str
    index_kind: TimelineKind
    numeric: Mapping[str, NumericStream]
    images: Mapping[str, ImageStream] = field(default_factory=dict)
    task: str | TextStream | None = None
    rate_hz: float | None = None
    source: str = ""
    notes: tuple[str, ...] = ()
