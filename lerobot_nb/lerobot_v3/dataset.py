"""A LeRobot v3.0 dataset on disk, opened read-only: info, episodes, tasks, rows, stats, video segments.

Works on datasets lerobot wrote and on those this package wrote (whose `meta/lerobot_nb.json`
names the recording of each episode). Nothing here ever writes: inputs stay byte for byte as
they were. Bad content is a one-line `LerobotNbError` naming the file and episode.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.lerobot_v3.layout import (
    CODEBASE_VERSION,
    DEFAULT_FEATURES,
    INFO_PATH,
    SOURCES_PATH,
    TASKS_PATH,
)
from lerobot_nb.lerobot_v3.tasks import TaskTable
from lerobot_nb.stats import STAT_NAMES, FeatureStats

__all__ = ["SourceDataset", "VideoSegment", "feature_array"]

#: Feature dtypes that have no statistics.
TEXT_DTYPES = ("string", "language")


def feature_array(column: pa.ChunkedArray) -> np.ndarray:
    """A feature column as (N,) or (N, D) numpy in its stored dtype."""
    array = column.combine_chunks()
    if pa.types.is_fixed_size_list(array.type):
        return np.asarray(array.flatten().to_numpy(zero_copy_only=False)).reshape(len(array), -1)
    return np.asarray(array.to_numpy(zero_copy_only=False))


@dataclass(frozen=True)
class VideoSegment:
    """Where one episode of one camera lies: a file and its [from, to) seconds in it."""

    path: Path
    from_timestamp: float
    to_timestamp: float


class SourceDataset:
    """One LeRobot v3.0 dataset folder (read-only). Episodes are addressed by `episode_index`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().absolute()
        if not (self.root / INFO_PATH).is_file():
            raise LerobotNbError(f"not a LeRobot dataset ({INFO_PATH} is missing)", file=self.root)
        self.info: dict[str, Any] = self._read_info()
        self.fps = int(self.info["fps"])
        self.features: dict[str, dict[str, Any]] = dict(self.info["features"])
        #: meta/episodes as one table (rows are read as dicts on demand: 100 k episodes stay cheap)
        self.meta: pa.Table = self._read_episodes()
        self.num_episodes = self.meta.num_rows
        self.lengths = self.meta["length"].to_numpy()
        self._row = functools.lru_cache(maxsize=256)(self._read_row)
        self._table: tuple[Path, pa.Table] | None = None  # the data file read last

    def __repr__(self) -> str:
        return f"SourceDataset({str(self.root)!r}, {self.num_episodes} episodes)"

    # -- metadata ----------------------------------------------------------------------------
    def _read_info(self) -> dict[str, Any]:
        try:
            info = json.loads((self.root / INFO_PATH).read_text())
        except (OSError, ValueError) as exc:
            raise LerobotNbError(f"{INFO_PATH} does not read as JSON ({exc})", file=self.root) from None
        version = info.get("codebase_version") if isinstance(info, dict) else None
        if version != CODEBASE_VERSION:
            raise LerobotNbError(
                f"LeRobot dataset version {version}, only {CODEBASE_VERSION} is supported (lerobot "
                "converts v2.1 with `python -m lerobot.scripts.convert_dataset_v21_to_v30`)",
                file=self.root,
            )
        for key in ("fps", "features", "total_episodes", "data_path"):
            if key not in info:
                raise LerobotNbError(f"{INFO_PATH} has no `{key}`", file=self.root)
        return dict(info)

    def _read_episodes(self) -> pa.Table:
        files = sorted((self.root / "meta/episodes").glob("chunk-*/file-*.parquet"))
        tables = []
        for path in files:
            try:
                tables.append(pq.read_table(path))
            except (OSError, pa.ArrowException) as exc:
                raise LerobotNbError(f"episodes metadata does not read ({exc})", file=path) from None
        table = pa.concat_tables(tables, promote_options="default") if tables else None
        if table is None or table.num_rows == 0:
            raise LerobotNbError(
                "the dataset has no episodes (meta/episodes is empty: an unfinished recording?)",
                file=self.root,
            )
        indices = table["episode_index"].to_numpy()
        if not np.array_equal(indices, np.arange(table.num_rows)) or table.num_rows != int(
            self.info["total_episodes"]
        ):
            raise LerobotNbError(
                f"meta/episodes lists episodes {indices[:5].tolist()}... ({table.num_rows} rows), info.json "
                f"{self.info['total_episodes']}: expected 0..N-1 in order",
                file=self.root,
            )
        return table

    def _read_row(self, episode: int) -> dict[str, Any]:
        row: dict[str, Any] = self.meta.slice(episode, 1).to_pylist()[0]
        return row

    @cached_property
    def tasks(self) -> list[str]:
        """Task text by task_index."""
        try:
            return list(TaskTable.read(self.root / TASKS_PATH).index)
        except (OSError, ValueError, KeyError) as exc:
            raise LerobotNbError(f"{TASKS_PATH} does not read ({exc})", file=self.root) from None

    @cached_property
    def recording_ids(self) -> dict[str, int]:
        """Recording id -> episode_index, for datasets this package wrote (else empty)."""
        path = self.root / SOURCES_PATH
        if not path.is_file():
            return {}
        return {str(k): int(v) for k, v in json.loads(path.read_text())["episodes"].items()}

    @cached_property
    def recording_of(self) -> dict[int, str]:
        """episode_index -> recording id (inverse of `recording_ids`)."""
        return {index: rec for rec, index in self.recording_ids.items()}

    @property
    def video_keys(self) -> list[str]:
        """Features stored as mp4 videos (dtype `video`), in info.json order."""
        return [k for k, f in self.features.items() if f["dtype"] == "video"]

    @property
    def image_keys(self) -> list[str]:
        """Features stored as images in the parquet data (dtype `image`), in info.json order."""
        return [k for k, f in self.features.items() if f["dtype"] == "image"]

    @property
    def numeric_keys(self) -> list[str]:
        """Features with numeric statistics, without lerobot's five bookkeeping columns."""
        return [
            k
            for k, f in self.features.items()
            if f["dtype"] not in ("video", "image", *TEXT_DTYPES) and k not in DEFAULT_FEATURES
        ]

    def _check(self, episode: int) -> None:
        if not 0 <= episode < self.num_episodes:
            raise LerobotNbError(
                f"no episode {episode} (the dataset has episodes 0..{self.num_episodes - 1})", file=self.root
            )

    def length(self, episode: int) -> int:
        """Frames in `episode`; raises `LerobotNbError` for an index outside 0..N-1."""
        self._check(episode)
        return int(self.lengths[episode])

    def episode(self, episode: int) -> dict[str, Any]:
        """The episode's meta/episodes row (every column, stats included)."""
        self._check(episode)
        return self._row(episode)

    # -- files -------------------------------------------------------------------------------
    def data_path(self, episode: int) -> Path:
        """The parquet data file holding `episode`'s rows (with other episodes' rows)."""
        row = self.episode(episode)
        rel = str(self.info["data_path"]).format(
            chunk_index=int(row["data/chunk_index"]), file_index=int(row["data/file_index"])
        )
        return self.root / rel

    def video(self, episode: int, key: str) -> VideoSegment:
        """The mp4 of camera `key` holding `episode`, with the episode's [from, to) timestamps in it, in s."""
        row = self.episode(episode)
        rel = str(self.info["video_path"]).format(
            video_key=key,
            chunk_index=int(row[f"videos/{key}/chunk_index"]),
            file_index=int(row[f"videos/{key}/file_index"]),
        )
        return VideoSegment(
            self.root / rel,
            float(row[f"videos/{key}/from_timestamp"]),
            float(row[f"videos/{key}/to_timestamp"]),
        )

    def check_files(self, episodes: list[int]) -> None:
        """Every data and video file these episodes need exists (before anything is written)."""
        for ep in episodes:
            paths = [self.data_path(ep), *(self.video(ep, k).path for k in self.video_keys)]
            for path in paths:
                if not path.is_file():
                    raise LerobotNbError(
                        f"{path.relative_to(self.root)} is missing", file=self.root, episode=str(ep)
                    )

    # -- rows --------------------------------------------------------------------------------
    def _file_table(self, path: Path) -> pa.Table:
        if self._table is None or self._table[0] != path:
            try:
                self._table = (path, pq.read_table(path))
            except (OSError, pa.ArrowException) as exc:
                raise LerobotNbError(f"data file does not read ({exc})", file=path) from None
        return self._table[1]

    def rows(self, episode: int) -> pa.Table:
        """The episode's data rows, frame 0..length-1 in order (checked)."""
        path = self.data_path(episode)
        table = self._file_table(path)
        where = np.flatnonzero(table["episode_index"].to_numpy() == episode)
        length = self.length(episode)
        if where.size != length or (where.size and where[-1] - where[0] + 1 != where.size):
            raise LerobotNbError(
                f"{where.size} data rows (expected {length} consecutive rows)",
                file=path,
                episode=str(episode),
            )
        rows = table.slice(int(where[0]), length) if length else table.slice(0, 0)
        if not np.array_equal(rows["frame_index"].to_numpy(), np.arange(length)):
            raise LerobotNbError("frame_index is not 0..length-1 in order", file=path, episode=str(episode))
        return rows

    def frame_tasks(self, rows: pa.Table) -> list[str]:
        """The task text of every row."""
        names = self.tasks
        try:
            return [names[i] for i in rows["task_index"].to_numpy()]
        except IndexError:
            raise LerobotNbError(
                "a task_index has no entry in meta/tasks.parquet", file=self.root / TASKS_PATH
            ) from None

    # -- stats -------------------------------------------------------------------------------
    def stored_stats(self, episode: int, feature: str) -> FeatureStats | None:
        """The episode's stats of one feature from meta/episodes (float64, counts int64), or None."""
        row = self.episode(episode)
        out: FeatureStats = {}
        for name in STAT_NAMES:
            value = row.get(f"stats/{feature}/{name}")
            if value is None:
                return None
            out[name] = np.asarray(value, dtype=np.int64 if name == "count" else np.float64)
        return out
