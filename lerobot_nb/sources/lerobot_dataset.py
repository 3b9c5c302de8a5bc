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

from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.frames import DecodedFrames

__all__ = ["read_lerobot_episodes"]

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
