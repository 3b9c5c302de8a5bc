"""`meta/tasks.parquet`: task text -> task_index, in order of first appearance."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["TaskTable"]


class TaskTable:
    """Task strings and their indices; new tasks get the next index (existing ones never move)."""

    def __init__(self, tasks: Iterable[str] = ()) -> None:
        self.index: dict[str, int] = {}
        for task in tasks:
            self.add(task)

    def __len__(self) -> int:
        return len(self.index)

    def add(self, task: str) -> int:
        """The task_index of `task`, adding it with the next index if it is new."""
        if task not in self.index:
            self.index[task] = len(self.index)
        return self.index[task]

    def indices(self, tasks: Iterable[str]) -> np.ndarray:
        """task_index per frame (adds unseen tasks)."""
        return np.array([self.add(t) for t in tasks], dtype=np.int64)

    def write(self, path: Path) -> None:
        """As lerobot writes it: a pandas frame indexed by `task` with column `task_index`."""
        import pandas as pd

        path.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(
            {"task_index": list(self.index.values())}, index=pd.Index(list(self.index), name="task")
        )
        frame.to_parquet(path)

    @classmethod
    def read(cls, path: Path) -> TaskTable:
        """The table lerobot wrote at `path`; raises `ValueError` unless the task indices are 0..N-1."""
        import pandas as pd

        frame = pd.read_parquet(path).sort_values("task_index")
        table = cls()
        for task, index in zip(frame.index, frame["task_index"], strict=True):
            if int(index) != len(table):
                raise ValueError(f"{path}: task indices are not 0..N-1")
            table.add(str(task))
        return table
