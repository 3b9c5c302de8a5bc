"""A LeRobot dataset folder (v2.0, v2.1, v3.0) as a ticked input: episodes read straight from its files.

Every feature comes over under its own name (`action`, `observation.state`, other numeric
features as extras, cameras as `observation.images.<key>`); `feature_map` renames them. Two
timelines: `frame_index` (one record = one frame, the default when every stored timestamp is
`frame_index / fps` within lerobot's 1e-4 s) and `timestamp` (the stored seconds as nanoseconds,
the default when some episode's are not: the normal alignment then re-grids them, with its
report). Each episode's notes say which it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lerobot_nb.episode import ImageStream, NumericStream, RecordedEpisode, TextStream, TimelineKind
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.lerobot.cameras import EmbeddedImages, IndexCache, VideoCamera
from lerobot_nb.sources.lerobot.layout import (
    BOOKKEEPING,
    DatasetFiles,
    camera_key,
    feature_names,
    open_dataset,
)

__all__ = [
    "EXACT_S",
    "EpisodeRows",
    "LeRobotReader",
    "Timing",
    "column_values",
    "episode_list",
    "episode_timing",
]

#: Seconds a stored timestamp may differ from frame_index / fps and still count as on the grid
#: (lerobot's own `tolerance_s`).
EXACT_S = 1e-4
NS_PER_S = 1_000_000_000
TIMELINES: dict[str, TimelineKind] = {"frame_index": "sequence", "timestamp": "timestamp"}


@dataclass(frozen=True)
class Timing:
    """How one episode's stored timestamps relate to `frame_index / fps` (seconds)."""

    on_grid: bool
    #: largest |timestamp - timestamp[0] - frame_index / fps|
    deviation_s: float
    start_s: float
    min_interval_s: float
    max_interval_s: float

    def note(self, index: str) -> str:
        """The episode note: which timeline the records went onto, and why."""
        shift = (
            f" (they start at {self.start_s:g} s: moved to 0)"
            if self.start_s and index == "frame_index"
            else ""
        )
        if self.on_grid:
            return (
                f"stored timestamps are frame_index / fps (within {EXACT_S:g} s): one record = one frame "
                f"(timeline {index}){shift}"
            )
        off = (
            f"stored timestamps are not frame_index / fps (up to {self.deviation_s * 1e3:.1f} ms off; "
            f"intervals {self.min_interval_s * 1e3:.1f} to {self.max_interval_s * 1e3:.1f} ms)"
        )
        if index == "timestamp":
            return f"{off}: re-gridded on the stored timestamps (timeline timestamp) by the alignment"
        return f"{off}, but timeline frame_index keeps one record = one frame{shift}"


def episode_timing(frame_index: np.ndarray, timestamp: np.ndarray, fps: int) -> Timing:
    """The `Timing` of one episode's rows (frame_index 0..n-1, timestamp in seconds)."""
    ts = np.asarray(timestamp, np.float64)
    if not len(ts):
        return Timing(True, 0.0, 0.0, 0.0, 0.0)
    deviation = float(np.abs(ts - ts[0] - np.asarray(frame_index, np.float64) / fps).max())
    steps = np.diff(ts)
    lo, hi = (float(steps.min()), float(steps.max())) if len(steps) else (0.0, 0.0)
    return Timing(deviation <= EXACT_S, deviation, float(ts[0]), lo, hi)


def _grid_ns(start_ns: int, n: int, fps: int) -> np.ndarray:
    """`start + round(k * 1e9 / fps)`, rounding half up: exactly the aligner's grid ticks."""
    k = np.arange(n, dtype=np.int64)
    return start_ns + (2 * k * NS_PER_S + fps) // (2 * fps)


def column_values(table: pa.Table, name: str) -> np.ndarray:
    """A numeric column as `(rows, D)` in its own dtype (scalars: D = 1; nested lists flattened)."""
    column = table[name].combine_chunks()
    if column.null_count:
        raise LerobotNbError(f"{column.null_count} null values", stream=name)
    n = len(column)
    while (
        pa.types.is_list(column.type)
        or pa.types.is_fixed_size_list(column.type)
        or pa.types.is_large_list(column.type)
    ):
        column = column.flatten()
    values = column.to_numpy(zero_copy_only=False)
    if n and values.size % n:
        raise LerobotNbError(
            f"rows hold different numbers of values ({values.size} for {n} rows)", stream=name
        )
    return values.reshape(n, -1) if n else values.reshape(0, 1)


@dataclass(frozen=True)
class EpisodeRows:
    """One episode's rows and what the reader derived from them."""

    episode: int
    rows: pa.Table
    timing: Timing
    timestamp_ns: np.ndarray  # stored timestamps (exactly on the grid when `timing.on_grid`)


class LeRobotReader:
    """The `EpisodeReader` of a LeRobot dataset folder; episode ids are `episode_<episode_index>`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.dataset: DatasetFiles = open_dataset(self.path)
        self.fps = self.dataset.fps
        self._indexes = IndexCache()
        self._timings: dict[int, Timing] | None = None
        self._known = set(self.dataset.episode_indices())
        self.numeric, self.cameras, self.ignored = _classify(self.dataset.features)

    def __repr__(self) -> str:
        return f"LeRobotReader({str(self.path)!r}, {self.dataset.version})"

    # -- what the input holds ------------------------------------------------------------------
    def episode_ids(self) -> list[str]:
        """`episode_<episode_index>` for every listed episode, ascending."""
        return [f"episode_{i}" for i in self.dataset.episode_indices()]

    def timelines(self) -> dict[str, TimelineKind]:
        """`frame_index` (sequence) and `timestamp` (ns), `default_index()` first."""
        first = self.default_index()
        return {first: TIMELINES[first], **TIMELINES}

    def default_index(self) -> str:
        """`frame_index` when every readable episode's timestamps are on the grid, else `timestamp`."""
        return "frame_index" if all(t.on_grid for t in self.timings().values()) else "timestamp"

    def defaults(self) -> dict[str, object]:
        """Every feature under its own name, at the dataset's fps, on `default_index()`."""
        index = self.default_index()
        numeric = list(self.numeric)
        return {
            "fps": self.fps,
            "index": index,
            "sequence_rate": float(self.fps) if index == "frame_index" else None,
            "action_path": ("/action",) if "action" in numeric else (),
            "state_path": ("/observation.state",) if "observation.state" in numeric else (),
            "extra": tuple(f"{k}=/{k}" for k in numeric if k not in ("action", "observation.state")),
            "image": tuple(f"{camera_key(k)}:/{k}" for k in self.cameras),
            "task_path": "/task",
        }

    def timings(self) -> dict[int, Timing]:
        """The `Timing` of every episode whose data file reads (the others fail in `read`)."""
        if self._timings is None:
            self._timings = {}
            by_file: dict[Path, list[int]] = {}
            for ep in self.dataset.episode_indices():
                by_file.setdefault(self.dataset.data_path(ep), []).append(ep)
            for path, eps in by_file.items():
                self._timings.update(self._file_timings(path, eps))
        return self._timings

    def _file_timings(self, path: Path, episodes: list[int]) -> dict[int, Timing]:
        if not path.is_file():
            return {}
        try:
            names = set(pq.read_schema(path).names)
            table = self.dataset.columns(
                path, [c for c in ("episode_index", "frame_index", "timestamp") if c in names]
            )
        except (OSError, pa.ArrowException, LerobotNbError):
            return {}
        if "timestamp" not in table.column_names or "frame_index" not in table.column_names:
            return {ep: Timing(True, 0.0, 0.0, 0.0, 0.0) for ep in episodes}
        of = table["episode_index"].to_numpy() if "episode_index" in table.column_names else None
        out = {}
        for ep in episodes:
            mask = of == ep if of is not None else slice(None)
            out[ep] = episode_timing(
                table["frame_index"].to_numpy()[mask], table["timestamp"].to_numpy()[mask], self.fps
            )
        return out

    # -- one episode -------------------------------------------------------------------------------
    def episode_index(self, episode_id: str) -> int:
        """The episode_index of `episode_<N>`; raises `LerobotNbError` for an id naming no listed episode."""
        head, _, number = episode_id.partition("_")
        if head == "episode" and number.isdigit() and int(number) in self._known:
            return int(number)
        raise LerobotNbError(f"no episode {episode_id!r} in this dataset", file=self.path)

    def missing(self, path: Path, episode_id: str, stream: str | None = None) -> LerobotNbError:
        """The one-line error of a file the metadata lists but the folder lacks."""
        return LerobotNbError(
            f"{path.relative_to(self.dataset.root)} is missing (the episode is listed in "
            f"{self.dataset.listed_in}); --skip-bad-episodes converts the episodes whose files are there",
            file=self.path,
            episode=episode_id,
            stream=stream,
        )

    def rows(self, episode_id: str) -> EpisodeRows:
        """The episode's rows (one-line errors for a missing or inconsistent data file)."""
        ep = self.episode_index(episode_id)
        path = self.dataset.data_path(ep)
        if not path.is_file():
            raise self.missing(path, episode_id)
        rows = self.dataset.rows(ep)
        n = rows.num_rows
        frame_index = rows["frame_index"].to_numpy() if "frame_index" in rows.column_names else np.arange(n)
        if "timestamp" in rows.column_names:
            stored = rows["timestamp"].to_numpy().astype(np.float64)
        else:
            stored = np.arange(n) / self.fps
        timing = episode_timing(frame_index, stored, self.fps)
        start_ns = round(timing.start_s * NS_PER_S)
        ns = (
            _grid_ns(start_ns, n, self.fps)
            if timing.on_grid
            else np.round(stored * NS_PER_S).astype(np.int64)
        )
        return EpisodeRows(ep, rows, timing, ns)

    def read(self, episode_id: str, index: str) -> RecordedEpisode:
        """The episode's streams on `index` (`frame_index` or `timestamp`)."""
        if index not in TIMELINES:
            raise LerobotNbError(
                f"a LeRobot dataset has timelines {', '.join(TIMELINES)}, not {index!r}", file=self.path
            )
        data = self.rows(episode_id)
        n = data.rows.num_rows
        times = np.arange(n, dtype=np.int64) if index == "frame_index" else data.timestamp_ns
        return RecordedEpisode(
            episode_id,
            index,
            TIMELINES[index],
            numeric=self.numeric_streams(data, times),
            images=self.camera_streams(data, times, episode_id),
            task=self.task_stream(data, times),
            rate_hz=float(self.fps) if index == "frame_index" else None,
            source=str(self.path),
            notes=self._notes(data, index),
        )

    def numeric_streams(self, data: EpisodeRows, times: np.ndarray) -> dict[str, NumericStream]:
        """Every numeric feature at `/<key>` as float64 (D columns), with its names and stored dtype."""
        out = {}
        for key, feature in self.numeric.items():
            try:
                values = column_values(data.rows, key)
            except KeyError:
                raise LerobotNbError(
                    f"info.json declares feature {key}, the data file has no such column",
                    file=self.dataset.data_path(data.episode),
                ) from None
            except LerobotNbError as exc:
                raise exc.with_context(file=self.dataset.data_path(data.episode)) from None
            names = feature_names(feature, values.shape[1])
            out[f"/{key}"] = NumericStream(times, values.astype(np.float64), names, str(values.dtype))
        return out

    def camera_streams(self, data: EpisodeRows, times: np.ndarray, episode_id: str) -> dict[str, ImageStream]:
        """Every camera at `/<key>`: image features from parquet cells, video ones from their mp4 segment."""
        out: dict[str, ImageStream] = {}
        for key, feature in self.cameras.items():
            if feature["dtype"] == "image":
                out[f"/{key}"] = EmbeddedImages(
                    data.rows[key].to_pylist(), times, where=self.dataset.data_path(data.episode), key=key
                )
                continue
            segment = self.dataset.video(data.episode, key)
            out[f"/{key}"] = VideoCamera(
                segment,
                times,
                fps=self.fps,
                indexes=self._indexes,
                missing=self.missing(segment.path, episode_id, camera_key(key)),
            )
        return out

    def task_stream(self, data: EpisodeRows, times: np.ndarray) -> TextStream | None:
        """The task text per frame, from `task_index`; None when the data has no `task_index`."""
        if "task_index" not in data.rows.column_names:
            return None
        try:
            return TextStream(times, tuple(self.dataset.frame_tasks(data.rows)))
        except LerobotNbError as exc:
            raise exc.with_context(episode=f"episode_{data.episode}") from None

    def _notes(self, data: EpisodeRows, index: str) -> tuple[str, ...]:
        rel = self.dataset.data_path(data.episode).relative_to(self.dataset.root)
        notes = [
            f"LeRobot {self.dataset.version}: {data.rows.num_rows} rows of {rel}",
            data.timing.note(index),
        ]
        if self.ignored:
            notes.append(f"features not carried over (not numeric or camera): {', '.join(self.ignored)}")
        return tuple(notes)

    def to_rrd(self, episode_id: str, cache_dir: Path) -> Path:
        """The episode as an `.rrd` (numeric features as Scalars, cameras, task) in `cache_dir`."""
        from lerobot_nb.sources.lerobot.rrd import episode_rrd

        return episode_rrd(self, episode_id, cache_dir)


def _classify(
    features: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[str]]:
    """(numeric, cameras, ignored) features, in info.json order, bookkeeping columns aside."""
    numeric: dict[str, dict[str, Any]] = {}
    cameras: dict[str, dict[str, Any]] = {}
    ignored: list[str] = []
    for key, feature in features.items():
        if key in BOOKKEEPING:
            continue
        if feature.get("dtype") in ("video", "image"):
            cameras[key] = dict(feature)
        elif _is_numeric(str(feature.get("dtype"))):
            numeric[key] = dict(feature)
        else:
            ignored.append(key)
    return numeric, cameras, ignored


def _is_numeric(dtype: str) -> bool:
    try:
        return np.dtype(dtype).kind in "fiub"
    except TypeError:
        return False


def episode_list(ids: Iterable[str], limit: int = 5) -> str:
    """`episode_5, episode_6, ... (95)` for messages."""
    ids = list(ids)
    head = ", ".join(ids[:limit])
    return head + (f", ... ({len(ids)})" if len(ids) > limit else "")
