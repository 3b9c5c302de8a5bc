"""A LeRobot dataset folder of version v2.0, v2.1 or v3.0, read-only: episodes, rows, tasks, video segments.

v3.0 is `lerobot_nb.dataset.SourceDataset` (shared with the dataset editor). v2.x is read here:
`meta/info.json` with per-episode path templates (`{episode_chunk}`, `{episode_index}`,
`{video_key}`), `meta/episodes.jsonl`, `meta/tasks.jsonl`; one parquet and one mp4 per episode and
camera, the mp4 starting at the episode's first frame. lerobot 0.6.1 only reads v3.0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.lerobot_v3.dataset import SourceDataset, VideoSegment

__all__ = [
    "BOOKKEEPING",
    "SUPPORTED_VERSIONS",
    "DatasetFiles",
    "LegacyDataset",
    "V3Dataset",
    "camera_key",
    "feature_names",
    "open_dataset",
]

SUPPORTED_VERSIONS = ("v2.0", "v2.1", "v3.0")
#: The columns LeRobot writes for bookkeeping: recomputed on export, never carried over as features.
BOOKKEEPING = ("timestamp", "frame_index", "episode_index", "index", "task_index")
INFO = "meta/info.json"


class DatasetFiles(Protocol):
    """What the reader needs of a dataset, whatever its version."""

    root: Path
    version: str
    fps: int
    features: dict[str, dict[str, Any]]
    #: the metadata file that lists the episodes (named in missing-file messages)
    listed_in: str

    def episode_indices(self) -> list[int]:
        """Episode indices the metadata lists, ascending."""

    def length(self, episode: int) -> int:
        """Frames of `episode` as the metadata lists it."""

    def data_path(self, episode: int) -> Path:
        """The parquet data file holding `episode`'s rows (it may not exist)."""

    def video(self, episode: int, key: str) -> VideoSegment:
        """The mp4 of camera `key` holding `episode`, with the episode's [from, to) timestamps in it, in s."""

    def rows(self, episode: int) -> pa.Table:
        """The episode's data rows in frame order (checked against the metadata)."""
        ...

    def frame_tasks(self, rows: pa.Table) -> list[str]:
        """Task text per row, from each row's `task_index`; raises `LerobotNbError` for an unknown index."""

    def columns(self, path: Path, names: Iterable[str]) -> pa.Table:
        """Some columns of one data file (cheap: for the timing scan)."""
        ...


def open_dataset(root: Path) -> DatasetFiles:
    """The dataset at `root`; one-line errors for other versions and empty/unfinished recordings."""
    info = _read_info(root)
    version = info.get("codebase_version")
    if version not in SUPPORTED_VERSIONS:
        raise LerobotNbError(
            f"LeRobot dataset version {version!r}: only {', '.join(SUPPORTED_VERSIONS)} are read", file=root
        )
    for key in ("fps", "features", "data_path"):
        if key not in info:
            raise LerobotNbError(f"{INFO} has no `{key}`", file=root)
    if version == "v3.0":
        if int(info.get("total_episodes") or 0) == 0 or not any((root / "meta/episodes").rglob("*.parquet")):
            raise LerobotNbError(
                f"an empty or unfinished LeRobot recording (total_episodes {info.get('total_episodes')}, "
                f"{_episode_files(root)}): nothing to convert",
                file=root,
            )
        return V3Dataset(root)
    return LegacyDataset(root, info)


def _read_info(root: Path) -> dict[str, Any]:
    try:
        info = json.loads((root / INFO).read_text())
    except (OSError, ValueError) as exc:
        raise LerobotNbError(f"{INFO} does not read as JSON ({exc})", file=root) from None
    if not isinstance(info, dict):
        raise LerobotNbError(f"{INFO} is not a JSON object", file=root)
    return info


def _episode_files(root: Path) -> str:
    n = len(list((root / "meta/episodes").rglob("*.parquet")))
    return f"{n} meta/episodes files" if n else "no meta/episodes"


def _read_columns(path: Path, names: Iterable[str]) -> pa.Table:
    try:
        return pq.read_table(path, columns=list(names))
    except (OSError, pa.ArrowException) as exc:
        raise LerobotNbError(f"data file does not read ({exc})", file=path) from None


class V3Dataset(SourceDataset):
    """A v3.0 dataset: `SourceDataset` plus what the v2.x reader offers too."""

    version = "v3.0"
    listed_in = "meta/episodes"

    def episode_indices(self) -> list[int]:
        """Episode indices 0..N-1."""
        return list(range(self.num_episodes))

    def columns(self, path: Path, names: Iterable[str]) -> pa.Table:
        """Columns `names` of the data file at `path`; raises `LerobotNbError` if it does not read."""
        return _read_columns(path, names)


class LegacyDataset:
    """A v2.0 / v2.1 dataset: per-episode files named by the info.json templates."""

    listed_in = "meta/episodes.jsonl"

    def __init__(self, root: Path, info: dict[str, Any]) -> None:
        self.root = root
        self.info = info
        self.version = str(info["codebase_version"])
        self.fps = int(info["fps"])
        self.features: dict[str, dict[str, Any]] = dict(info["features"])
        self.chunks_size = int(info.get("chunks_size") or 1000)
        self._episodes = {int(e["episode_index"]): e for e in self._jsonl("meta/episodes.jsonl")}
        if not self._episodes:
            raise LerobotNbError("an empty LeRobot dataset (meta/episodes.jsonl lists no episode)", file=root)
        self._tasks = {int(t["task_index"]): str(t["task"]) for t in self._jsonl("meta/tasks.jsonl")}

    def _jsonl(self, rel: str) -> list[dict[str, Any]]:
        path = self.root / rel
        try:
            lines = path.read_text().splitlines()
            return [json.loads(line) for line in lines if line.strip()]
        except OSError:
            raise LerobotNbError(f"{rel} is missing", file=self.root) from None
        except ValueError as exc:
            raise LerobotNbError(f"a line does not read as JSON ({exc})", file=path) from None

    def episode_indices(self) -> list[int]:
        """Episode indices meta/episodes.jsonl lists, ascending."""
        return sorted(self._episodes)

    def length(self, episode: int) -> int:
        """Frames of `episode` as meta/episodes.jsonl lists it."""
        return int(self._episodes[episode]["length"])

    def _path(self, template_key: str, episode: int, **extra: str) -> Path:
        template = self.info.get(template_key)
        if not template:
            raise LerobotNbError(f"{INFO} has no `{template_key}`", file=self.root)
        try:
            rel = str(template).format(
                episode_chunk=episode // self.chunks_size, episode_index=episode, **extra
            )
        except (KeyError, IndexError, ValueError) as exc:
            raise LerobotNbError(
                f"{INFO}: {template_key} {template!r} does not format ({exc})", file=self.root
            ) from None
        return self.root / rel

    def data_path(self, episode: int) -> Path:
        """The episode's own parquet file, from info.json's `data_path` template."""
        return self._path("data_path", episode)

    def video(self, episode: int, key: str) -> VideoSegment:
        """The whole episode file: frame k at k / fps."""
        return VideoSegment(
            self._path("video_path", episode, video_key=key), 0.0, self.length(episode) / self.fps
        )

    def columns(self, path: Path, names: Iterable[str]) -> pa.Table:
        """Columns `names` of the data file at `path`; raises `LerobotNbError` if it does not read."""
        return _read_columns(path, names)

    def rows(self, episode: int) -> pa.Table:
        """The episode's rows, checked: no other episode's, the listed length, `frame_index` 0..length-1."""
        path = self.data_path(episode)
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise LerobotNbError(f"data file does not read ({exc})", file=path) from None
        name = f"episode_{episode}"
        if "episode_index" in table.column_names:
            others = set(np.unique(table["episode_index"].to_numpy())) - {episode}
            if others:
                raise LerobotNbError(
                    f"rows of other episodes in the file: {sorted(others)[:5]}", file=path, episode=name
                )
        if table.num_rows != self.length(episode):
            raise LerobotNbError(
                f"{table.num_rows} data rows, {self.listed_in} says {self.length(episode)}",
                file=path,
                episode=name,
            )
        if "frame_index" in table.column_names and not np.array_equal(
            table["frame_index"].to_numpy(), np.arange(table.num_rows)
        ):
            raise LerobotNbError("frame_index is not 0..length-1 in order", file=path, episode=name)
        return table

    def frame_tasks(self, rows: pa.Table) -> list[str]:
        """Task text per row, from meta/tasks.jsonl by `task_index`; `LerobotNbError` for an unknown index."""
        try:
            return [self._tasks[int(i)] for i in rows["task_index"].to_numpy()]
        except KeyError as exc:
            raise LerobotNbError(
                f"task_index {exc} has no line in meta/tasks.jsonl", file=self.root
            ) from None


def feature_names(feature: dict[str, Any], width: int) -> tuple[str, ...] | None:
    """A feature's dimension names: a list, lerobot 2.x's `[[...]]` or `{"motors": [...]}`, when
    they count `width` dimensions; else None."""
    names = feature.get("names")
    if isinstance(names, dict) and len(names) == 1:
        names = next(iter(names.values()))
    if isinstance(names, list) and len(names) == 1 and isinstance(names[0], list):
        names = names[0]
    if not isinstance(names, list) or len(names) != width or not all(isinstance(n, str | int) for n in names):
        return None
    return tuple(map(str, names))


def camera_key(feature: str) -> str:
    """The short camera key of a camera feature (`observation.images.cam_high` -> `cam_high`,
    `observation.image` -> `image`); the output feature is `observation.images.<key>`."""
    for prefix in ("observation.images.", "observation."):
        if feature.startswith(prefix) and len(feature) > len(prefix):
            feature = feature[len(prefix) :]
            break
    return feature.replace(".", "_").replace("/", "_")
