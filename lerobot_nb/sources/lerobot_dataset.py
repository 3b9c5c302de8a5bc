"""An existing LeRobot v3.0 dataset on disk as episodes, to enrich (e.g. add hand pose) and write anew.

Numeric features (float/int vectors) come from the parquet files as they are, cameras are decoded
by lerobot itself (video or image features), tasks from `meta/tasks.parquet`. One episode is in
memory at a time; frames are decoded lazily.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lerobot_nb.episode import AlignedEpisode, NumericStream, RecordedEpisode, TextStream, TimelineKind
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.frames import DecodedFrames

__all__ = ["LeRobotReader", "open_reader", "read_lerobot_episodes", "to_recordings"]

#: Columns LeRobot writes for bookkeeping: they are recomputed on export, not carried over.
BOOKKEEPING = ("timestamp", "frame_index", "episode_index", "index", "task_index")


class _DatasetFrames(DecodedFrames):
    """One camera of one episode, decoded by lerobot frame by frame (HxWx3 uint8 RGB)."""

    def __init__(self, dataset: Any, key: str, start: int, length: int, height: int, width: int) -> None:
        super().__init__(length, height, width)
        self._ds, self._key, self._start = dataset, key, start

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self._start, self._start + len(self)):
            chw = self._ds[i][self._key]  # float tensor in [0, 1], (3, H, W)
            frame: np.ndarray = (chw.permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()
            yield frame


def _names(feature: dict[str, Any]) -> tuple[str, ...] | None:
    names = feature.get("names")
    if isinstance(names, dict) and len(names) == 1:
        names = next(iter(names.values()))
    return tuple(map(str, names)) if isinstance(names, list) else None


def read_lerobot_episodes(
    root: str | Path, *, episodes: Sequence[int] | None = None
) -> Iterator[AlignedEpisode]:
    """Episodes of the LeRobot dataset at `root`, in episode order (all, or the `episodes` indices).

    `episode_id` is `episode_<index>`, `index` is `frame_index`, `source` the dataset folder.
    """
    root = Path(root).expanduser()
    if not (root / "meta/info.json").is_file():
        raise LerobotNbError("not a LeRobot dataset (no meta/info.json)", file=root)
    from lerobot.datasets import LeRobotDataset

    try:
        ds = LeRobotDataset("local/input", root=root, video_backend="pyav")
    except Exception as exc:  # lerobot raises many types for broken datasets
        raise LerobotNbError(
            f"lerobot cannot open this dataset: {type(exc).__name__}: {exc}", file=root
        ) from None
    features = ds.meta.features
    cameras = [k for k, f in features.items() if f["dtype"] in ("video", "image")]
    numeric = [
        k
        for k, f in features.items()
        if k not in cameras and k not in BOOKKEEPING and f["dtype"] not in ("string",)
    ]
    files = sorted((root / "data").rglob("*.parquet"))
    table = pa.concat_tables(pq.read_table(f, columns=[*numeric, *BOOKKEEPING]) for f in files)
    task_names = {
        int(i): str(t) for t, i in zip(ds.meta.tasks.index, ds.meta.tasks["task_index"], strict=True)
    }
    chosen = list(episodes) if episodes is not None else list(range(ds.meta.total_episodes))
    for ep in chosen:
        rows = table.filter(pc.equal(table["episode_index"], ep))
        if rows.num_rows == 0:
            raise LerobotNbError(f"no frames for episode {ep}", file=root)
        rows = rows.sort_by("frame_index")
        T = rows.num_rows
        start = int(rows["index"][0].as_py())
        values = {
            k: np.asarray(rows[k].to_pylist(), dtype=np.dtype(features[k]["dtype"])).reshape(T, -1)
            for k in numeric
        }
        yield AlignedEpisode(
            episode_id=f"episode_{ep}",
            fps=int(ds.meta.fps),
            index="frame_index",
            ticks=np.asarray(rows["frame_index"].to_pylist(), np.int64),
            numeric=values,
            images={
                k.removeprefix("observation.images."): _DatasetFrames(
                    ds, k, start, T, *features[k]["shape"][:2]
                )
                for k in cameras
            },
            tasks=tuple(task_names.get(int(i), "") for i in rows["task_index"].to_pylist()),
            names={k: _names(features[k]) for k in numeric},
            source=str(root),
        )


class _Camera:
    """An `ImageStream` of one camera of one episode: sample i = frame i, decoded by lerobot."""

    def __init__(self, dataset: Any, key: str, start: int, length: int, height: int, width: int) -> None:
        self.times = np.arange(length, dtype=np.int64)
        self._args = (dataset, key, start, height, width)

    def frames(self, picks: np.ndarray) -> DecodedFrames:
        dataset, key, start, height, width = self._args
        return _PickedDatasetFrames(dataset, key, start, picks, height, width)


class _PickedDatasetFrames(_DatasetFrames):
    def __init__(
        self, dataset: Any, key: str, start: int, picks: np.ndarray, height: int, width: int
    ) -> None:
        super().__init__(dataset, key, start, len(picks), height, width)
        self._picks = picks

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in self._picks:
            chw = self._ds[self._start + int(i)][self._key]
            yield (chw.permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()


class LeRobotReader:
    """A LeRobot v3.0 dataset folder as a ticked input: its frames stay frames (timeline `frame_index`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._episodes: dict[str, AlignedEpisode] | None = None

    def _all(self) -> dict[str, AlignedEpisode]:
        if self._episodes is None:
            self._episodes = {e.episode_id: e for e in read_lerobot_episodes(self.path)}
        return self._episodes

    def episode_ids(self) -> list[str]:
        return list(self._all())

    def timelines(self) -> dict[str, TimelineKind]:
        return {"frame_index": "sequence"}

    def defaults(self) -> dict[str, object]:
        """Every feature carried over under its own name, at the dataset's fps."""
        first = next(iter(self._all().values()))
        numeric = list(first.numeric)
        return {
            "fps": first.fps,
            "index": "frame_index",
            "action_path": ("/action",) if "action" in numeric else (),
            "state_path": ("/observation.state",) if "observation.state" in numeric else (),
            "extra": tuple(f"{k}=/{k}" for k in numeric if k not in ("action", "observation.state")),
            "image": tuple(f"{k}:/observation.images.{k}" for k in first.images),
            "task_path": None,
        }

    def read(self, episode_id: str, index: str) -> RecordedEpisode:
        ep = self._all()[episode_id]
        ticks = np.arange(ep.length, dtype=np.int64)
        numeric = {
            f"/{k}": NumericStream(ticks, np.asarray(v, np.float64).reshape(ep.length, -1), ep.names.get(k))
            for k, v in ep.numeric.items()
        }
        images = {f"/observation.images.{k}": _Camera(*_frames_args(src)) for k, src in ep.images.items()}
        task = TextStream(ticks, ep.tasks) if ep.tasks else None
        return RecordedEpisode(
            episode_id, "frame_index", "sequence", numeric, images, task, float(ep.fps), ep.source
        )

    def to_rrd(self, episode_id: str, cache_dir: Path) -> Path:
        raise LerobotNbError(
            "serving a LeRobot dataset is not supported yet; convert it directly", file=self.path
        )


def _frames_args(src: Any) -> tuple[Any, str, int, int, int, int]:
    return (src._ds, src._key, src._start, len(src), src.height, src.width)


def open_reader(path: Path) -> LeRobotReader:
    """The ticked reader of a LeRobot v3.0 dataset folder."""
    return LeRobotReader(path)


def to_recordings(path: Path, cache_dir: Path) -> list[Any]:
    """LeRobot datasets are read directly; serving them needs an `.rrd` conversion not written yet."""
    raise LerobotNbError("serving a LeRobot dataset is not supported yet; convert it directly", file=path)
