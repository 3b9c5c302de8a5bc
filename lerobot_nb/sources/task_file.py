"""xgym's task file: one `task-<words_with_underscores>.npy` per folder, the sentence in its name and
its 512-d sentence embedding (float32, unit norm) inside. Used by the memmap and the `.npz` inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lerobot_nb.errors import LerobotNbError

__all__ = ["TASK_PATTERN", "Task", "optional_task", "read_task"]

TASK_PATTERN = "task-*.npy"


@dataclass(frozen=True)
class Task:
    """The folder's task: the sentence from the file name and its embedding (float32, unit norm)."""

    sentence: str
    embedding: np.ndarray
    path: Path


def optional_task(folder: Path) -> Task | None:
    """`read_task`, or None when `folder` has no task file (two or more are still an error)."""
    return read_task(folder) if any(folder.glob(TASK_PATTERN)) else None


def read_task(folder: Path) -> Task:
    """The one `task-*.npy` of `folder` ("task-pick_up_the_red_block.npy" -> "pick up the red block")."""
    found = sorted(folder.glob(TASK_PATTERN))
    if len(found) != 1:
        what = (
            "no task-*.npy file"
            if not found
            else f"{len(found)} task files ({', '.join(p.name for p in found)})"
        )
        raise LerobotNbError(
            f"{what}; an xgym folder holds exactly one (task-<words_with_underscores>.npy)", file=folder
        )
    path = found[0]
    try:
        embedding = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise LerobotNbError(f"cannot read the task embedding ({exc})", file=path) from None
    if embedding.ndim != 1 or embedding.dtype.kind != "f" or not np.isfinite(embedding).all():
        raise LerobotNbError(
            f"task embedding is {embedding.dtype}{list(embedding.shape)}, not a finite float vector",
            file=path,
        )
    sentence = " ".join(path.stem.removeprefix("task-").split("_"))
    if not sentence:
        raise LerobotNbError("the task file names no task (task-<words_with_underscores>.npy)", file=path)
    return Task(sentence, embedding.astype(np.float32), path)
