"""xgym's HaMeR input: a folder of `ep*.npz` episodes holding camera arrays (T,H,W,3 uint8), as episodes.

Each `.npz` becomes one `AlignedEpisode` on the grid k/fps with every camera array as a frame
source (key = array name, e.g. `low`, `side`, `wrist`); other arrays are listed in the report and
not used. The task string comes from `--task`, else from a `task-<words_with_underscores>.npy`
file next to the episodes (xgym's `get_taskinfo` convention), else it stays empty.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from lerobot_nb.episode import LANGUAGE_STREAM, AlignedEpisode, NumericStream, RecordedEpisode, TimelineKind
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.frames import ArrayFrames
from lerobot_nb.sources.cache import content_key
from lerobot_nb.sources.task_file import optional_task

if TYPE_CHECKING:
    from lerobot_nb.sources.discover import Recording

__all__ = [
    "NpzReader",
    "find_npz_episodes",
    "open_reader",
    "read_npz_episode",
    "task_from_dir",
    "to_recordings",
]


def find_npz_episodes(directory: str | Path) -> list[Path]:
    """`ep*.npz` under `directory` (recursively), sorted by path; an error when there are none."""
    root = Path(directory)
    if not root.is_dir():
        raise LerobotNbError("not a directory", file=root)
    found = sorted(root.rglob("ep*.npz"))
    if not found:
        raise LerobotNbError("no ep*.npz episodes in this directory", file=root)
    return found


def task_from_dir(directory: str | Path) -> str | None:
    """The task of xgym's `task-<words>.npy` file in `directory` ("task-pick_up_x.npy" -> "pick up x")."""
    task = optional_task(Path(directory))
    return task.sentence if task is not None else None


def read_npz_episode(path: str | Path, *, fps: int, task: str | None = None) -> AlignedEpisode:
    """One `ep*.npz` as an episode with its camera arrays as frame sources (loaded into memory)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise LerobotNbError(f"cannot read .npz: {exc}", file=path) from None
    cams = {k: v for k, v in arrays.items() if v.ndim == 4 and v.shape[-1] == 3 and v.dtype == np.uint8}
    if not cams:
        shapes = ", ".join(f"{k} {v.dtype}{list(v.shape)}" for k, v in arrays.items()) or "nothing"
        raise LerobotNbError(f"no camera array (T,H,W,3 uint8) in this episode; it holds {shapes}", file=path)
    lengths = {len(v) for v in cams.values()}
    if len(lengths) != 1:
        raise LerobotNbError(
            f"camera arrays differ in length: { ({k: len(v) for k, v in cams.items()}) }", file=path
        )
    T = lengths.pop()
    ignored = sorted(set(arrays) - set(cams))
    notes = [f"cameras {', '.join(cams)}: {T} frames at {fps} fps"]
    if ignored:
        notes.append(f"arrays not used: {', '.join(ignored)}")
    task = task if task is not None else task_from_dir(path.parent)
    return AlignedEpisode(
        episode_id=path.stem,
        fps=fps,
        index="frame",
        ticks=np.arange(T, dtype=np.int64),
        numeric={},
        images={k: ArrayFrames(v) for k, v in cams.items()},
        tasks=(task or "",) * T if task else (),
        report=pl.DataFrame({"stream": ["npz"] * len(notes), "note": notes}),
        source=str(path),
    )


class _ArrayImages:
    """An `ImageStream` over a camera array already in memory: sample i = frame i."""

    def __init__(self, frames: np.ndarray) -> None:
        self._frames = frames
        self.times = np.arange(len(frames), dtype=np.int64)

    def frames(self, picks: np.ndarray) -> ArrayFrames:
        return ArrayFrames([self._frames[i] for i in picks])


class NpzReader:
    """The folder of `ep*.npz` episodes as a ticked input: one array frame = one dataset frame."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._files = {f.stem: f for f in find_npz_episodes(self.path)}

    def episode_ids(self) -> list[str]:
        """The `ep*.npz` file stems, in the folder's sorted order."""
        return list(self._files)

    def timelines(self) -> dict[str, TimelineKind]:
        """One sequence timeline, `frame` (array row = frame)."""
        return {"frame": "sequence"}

    def defaults(self) -> dict[str, object]:
        """Every camera of the first episode, no numeric streams, the timeline `frame`."""
        cams = _camera_arrays(self._files[next(iter(self._files))])
        return {
            "index": "frame",
            "action_path": (),
            "state_path": (),
            "task_path": None,
            "image": tuple(f"{key}:/{key}" for key in cams),
        }

    def read(self, episode_id: str, index: str) -> RecordedEpisode:
        """The episode's cameras (frame i at step i), task and, with a `task-*.npy`, its embedding."""
        path = self._files[episode_id]
        cams = _camera_arrays(path)
        task = task_from_dir(path.parent)
        length = len(next(iter(cams.values())))
        numeric = _embedding_stream(path.parent, length)
        return RecordedEpisode(
            episode_id,
            "frame",
            "sequence",
            numeric=numeric,
            images={f"/{k}": _ArrayImages(v) for k, v in cams.items()},
            task=task,
            source=str(path),
        )

    def to_rrd(self, episode_id: str, cache_dir: Path) -> Path:
        """The episode's cameras as raw `Image`s on the sequence timeline `frame`, task at `/language_instruction`."""
        import rerun as rr

        path = self._files[episode_id]
        cache_dir.mkdir(parents=True, exist_ok=True)
        target = cache_dir / f"{episode_id}-{content_key(path, salt='npz-1')}.rrd"
        if target.exists():
            return target
        rec = rr.RecordingStream("lerobot_nb", recording_id=episode_id)
        tmp = target.with_suffix(".rrd.part")
        rec.save(tmp)
        task = task_from_dir(path.parent)
        if task:
            rec.log("/language_instruction", rr.TextDocument(task), static=True)
        for key, frames in _camera_arrays(path).items():
            for i, frame in enumerate(frames):
                rec.set_time("frame", sequence=i)
                rec.log(f"/{key}", rr.Image(frame))
        rec.flush()
        rec.disconnect()
        tmp.replace(target)
        return target


def _embedding_stream(folder: Path, length: int) -> dict[str, NumericStream]:
    """xgym's task embedding (`task-*.npy`, 512-d) as the stream `LANGUAGE_STREAM`, the same every frame."""
    task = optional_task(folder)
    if task is None:
        return {}
    vector = np.asarray(task.embedding, np.float64).reshape(1, -1)
    return {
        LANGUAGE_STREAM: NumericStream(np.arange(length, dtype=np.int64), np.repeat(vector, length, axis=0))
    }


def _camera_arrays(path: Path) -> dict[str, np.ndarray]:
    episode = read_npz_episode(path, fps=1)
    return {k: np.asarray(list(src)) for k, src in episode.images.items()}


def open_reader(path: Path) -> NpzReader:
    """The ticked reader of a folder of `ep*.npz`."""
    return NpzReader(path)


def to_recordings(path: Path, cache_dir: Path) -> list[Recording]:
    """Every `.npz` episode as a cached `.rrd` for the server."""
    from lerobot_nb.sources.discover import Recording

    reader = NpzReader(path)
    return [
        Recording(
            source=reader._files[e].resolve(),
            rrd=reader.to_rrd(e, cache_dir).resolve(),
            episode_id=e,
            format="npz",
            defaults=reader.defaults(),
        )
        for e in reader.episode_ids()
    ]
