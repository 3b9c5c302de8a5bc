"""xgym's HaMeR input: a folder of `ep*.npz` episodes holding camera arrays (T,H,W,3 uint8), as episodes.

Each `.npz` becomes one `AlignedEpisode` on the grid k/fps with every camera array as a frame
source (key = array name, e.g. `low`, `side`, `wrist`); other arrays are listed in the report and
not used. The task string comes from `--task`, else from a `task-<words_with_underscores>.npy`
file next to the episodes (xgym's `get_taskinfo` convention), else it stays empty.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import polars as pl

from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.frames import ArrayFrames

__all__ = ["find_npz_episodes", "read_npz_episode", "task_from_dir"]


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
    files = sorted(Path(directory).glob("task-*.npy"))
    return files[0].stem.removeprefix("task-").replace("_", " ") if files else None


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
