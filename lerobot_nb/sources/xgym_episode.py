"""One xgym episode read from its `.dat`: the written records, trimmed, NaN held, in SI units.

What is done to the data, and said in the episode's notes:
- the length comes from the data: trailing all-zero records (padding up to `maxlen`) are removed,
  whatever `info.len` says (0 after a crash);
- leading records where some camera has not delivered a frame yet (an all-zero image) are trimmed;
- NaN values (a gripper that dropped out) are held from the last valid value of their dimension
  (leading ones take the first valid value); no record is dropped;
- `xarm_pose` x, y, z go from millimetres to metres (roll, pitch, yaw stay radians);
- camera frames go from the stored BGR to RGB, one frame at a time when asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lerobot_nb.episode import LANGUAGE_STREAM, FrameSource, ImageStream, NumericStream, TimelineKind
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.xgym_files import (
    DIMENSION_NAMES,
    EpisodeFiles,
    Sidecar,
    entity_of,
    read_sidecar,
    record_count,
)
from lerobot_nb.sources.xgym_records import CameraFrames, RecordFile

__all__ = ["EMBEDDING_PATH", "TIMELINES", "CameraStream", "XgymEpisode", "load_episode"]

#: The timelines of an episode, the default first: the record number and the recorder's clock (ns).
TIMELINES: Mapping[str, TimelineKind] = {"record": "sequence", "time": "timestamp"}
#: The task file's embedding as a numeric stream (the same vector at every record).
EMBEDDING_PATH = LANGUAGE_STREAM
#: `xarm_pose` dimensions stored in millimetres.
_POSE_MM = slice(0, 3)
#: The recorder rounds `time` to this many nanoseconds (0.1 ms).
_TIME_RESOLUTION_NS = 100_000


@dataclass(frozen=True)
class CameraStream:
    """One camera's records as an `ImageStream`: `times` on the chosen timeline, frames per pick."""

    times: np.ndarray
    records: RecordFile
    camera: str
    first: int  # record number of sample 0

    def frames(self, picks: np.ndarray) -> FrameSource:
        """The frames of samples `picks` (indices from sample 0), decoded lazily from the record file."""
        return CameraFrames(self.records, self.camera, self.first + np.asarray(picks, np.int64))


@dataclass(frozen=True)
class XgymEpisode:
    """The kept records `start..end-1` of one episode; values as they will be written."""

    episode_id: str
    files: EpisodeFiles
    sidecar: Sidecar
    records: RecordFile
    start: int
    end: int
    #: Schema name -> `(end - start, D)` float64: NaN held, pose in metres.
    values: Mapping[str, np.ndarray]
    time_ns: np.ndarray
    notes: tuple[str, ...]

    @property
    def length(self) -> int:
        """Kept records, `end - start`."""
        return self.end - self.start

    def times(self, index: str) -> np.ndarray:
        """Sample times on `index`: record numbers, or the recorder's clock in nanoseconds."""
        return np.arange(self.start, self.end, dtype=np.int64) if index == "record" else self.time_ns

    def numeric_streams(self, index: str, embedding: np.ndarray) -> dict[str, NumericStream]:
        """Every numeric schema entry at `/<name>`, then the task embedding at `EMBEDDING_PATH`."""
        t = self.times(index)
        out = {entity_of(n): NumericStream(t, v, _names(n, v.shape[1])) for n, v in self.values.items()}
        vector = np.asarray(embedding, np.float64)
        out[EMBEDDING_PATH] = NumericStream(t, np.broadcast_to(vector, (len(t), len(vector))))
        return out

    def image_streams(self, index: str) -> dict[str, ImageStream]:
        """Every camera of the sidecar at `/<camera>`, with the sample times on `index`."""
        t = self.times(index)
        return {entity_of(c): CameraStream(t, self.records, c, self.start) for c in self.sidecar.cameras}


def _names(stream: str, width: int) -> tuple[str, ...] | None:
    """The writer's dimension names of `stream`, when its schema has the writer's width."""
    names = DIMENSION_NAMES.get(stream)
    return names if names is not None and len(names) == width else None


def load_episode(files: EpisodeFiles) -> XgymEpisode:
    """Check an episode's files and read its numeric fields (images stay on disk); raises a
    one-line `LerobotNbError` naming the file (and stream) for bad input."""
    files.check_pair()
    sidecar = read_sidecar(files.sidecar)
    records = RecordFile(files.dat, sidecar.dtype, record_count(files.dat, sidecar))
    end = records.data_end()
    if end == 0:
        raise LerobotNbError(f"all {records.count} records are zero: nothing was recorded", file=files.dat)
    start, late = _first_complete(records, sidecar, end)
    raw = records.fields(["time", *sidecar.numeric], start, end)
    values: dict[str, np.ndarray] = {}
    notes = _length_notes(sidecar, records.count, end) + _late_notes(start, late)
    for name in sidecar.numeric:
        held, note = _hold_nan(raw[name].astype(np.float64), name)
        if name == "xarm_pose":
            held[:, _POSE_MM] /= 1000.0
        values[name] = held
        notes += (note,) if note else ()
    time_ns = _time_ns(raw["time"][:, 0], start, files)
    return XgymEpisode(files.episode_id, files, sidecar, records, start, end, values, time_ns, notes)


def _first_complete(records: RecordFile, sidecar: Sidecar, end: int) -> tuple[int, dict[str, int]]:
    """The first record where every camera has delivered a frame, and each late camera's first."""
    firsts: dict[str, int] = {}
    for camera in sidecar.cameras:
        first = records.first_frame(camera, 0, end)
        if first is None:
            raise LerobotNbError(
                f"the camera never delivered a frame: its image is all zero in all {end} written records",
                file=records.path,
                stream=camera,
            )
        firsts[camera] = first
    start = max(firsts.values())
    return start, {c: f for c, f in firsts.items() if f > 0}


def _length_notes(sidecar: Sidecar, count: int, end: int) -> tuple[str, ...]:
    notes: list[str] = []
    if sidecar.length == 0:
        notes.append(f"sidecar len 0 (the recorder did not stop cleanly): the {end} written records are used")
    elif sidecar.length != end:
        notes.append(
            f"sidecar len {sidecar.length}, but {end} records are written: the data's length is used"
        )
    if end < count:
        notes.append(f"{count - end} trailing all-zero records (padding up to maxlen {count}) removed")
    return tuple(notes)


def _late_notes(start: int, late: Mapping[str, int]) -> tuple[str, ...]:
    if not start:
        return ()
    cams = ", ".join(f"{c} from record {f}" for c, f in late.items())
    return (f"{start} leading records trimmed: not every camera had delivered a frame ({cams})",)


def _hold_nan(values: np.ndarray, name: str) -> tuple[np.ndarray, str | None]:
    """NaN replaced per dimension by the last valid value before it (the first valid one for leading
    NaN); a dimension without any valid value stays NaN. Returns the values and the note."""
    bad = np.isnan(values)
    if not bad.any():
        return values, None
    rows = np.arange(len(values))[:, None]
    last_valid = np.maximum.accumulate(np.where(bad, -1, rows), axis=0)
    first_valid = np.argmax(~bad, axis=0)
    source = np.where(last_valid >= 0, last_valid, first_valid[None, :])
    held = np.take_along_axis(values, source, axis=0)
    records = int(bad.any(axis=1).sum())
    what = f"{name}: NaN in {records} records ({int(bad.sum())} values) held from the last valid value"
    if bad.all(axis=0).any():
        return held, f"{what}; every value of some dimension is NaN (left NaN: this stream cannot be used)"
    leading = int((last_valid < 0).sum())
    return held, what + (f" ({leading} leading NaN values take the first valid value)" if leading else "")


def _time_ns(seconds: np.ndarray, start: int, files: EpisodeFiles) -> np.ndarray:
    """The recorder's float32 seconds (of records from `start` on) as int64 ns, rounded to its
    0.1 ms resolution (exact while the recorder node has run for less than 1024 s)."""
    if not np.isfinite(seconds).all():
        i = int(np.argmax(~np.isfinite(seconds)))
        raise LerobotNbError(f"time is {seconds[i]} in record {start + i}", file=files.dat, stream="time")
    steps = np.round(seconds.astype(np.float64) * (1e9 / _TIME_RESOLUTION_NS)).astype(np.int64)
    return steps * _TIME_RESOLUTION_NS
