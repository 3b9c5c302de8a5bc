"""What checks share: the dataset read once (info, episodes, data, tasks, stats) and the check registry.

Every reader is lazy and cached, and never raises for bad content: a check that needs a file it
cannot read reports that as its own finding. Checks declare the checks they rely on; when one of
those did not pass, the dependent check is skipped, so each defect fails exactly the check that
names it instead of cascading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.validate.config import ValidateConfig
from lerobot_nb.validate.report import CheckResult, Finding

__all__ = ["CHECKS", "Check", "DatasetContext", "check"]

INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
EPISODES_GLOB = "meta/episodes/chunk-*/file-*.parquet"
#: Columns lerobot adds to every frame; they are features in info.json too.
DEFAULT_FEATURES = ("timestamp", "frame_index", "episode_index", "index", "task_index")

CheckFunc = Callable[["DatasetContext"], list[Finding]]


@dataclass(frozen=True)
class Check:
    """A named check in a family; `requires` names checks that must pass for it to run."""

    name: str
    family: str
    requires: tuple[str, ...]
    func: CheckFunc
    doc: str


#: All checks, kept in running order: by family in data-flow order, then registration order.
CHECKS: list[Check] = []
FAMILIES = ("structure", "time", "video", "stats", "training", "quality")


def check(name: str, *, requires: tuple[str, ...] = ()) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check function `ctx -> [Finding]`; an empty list means it passed."""

    def register(func: CheckFunc) -> CheckFunc:
        doc = (func.__doc__ or name).strip().splitlines()[0]
        CHECKS.append(Check(name, name.split(".")[0], requires, func, doc))
        CHECKS.sort(
            key=lambda c: FAMILIES.index(c.family)
        )  # stable: keeps registration order within a family
        return func

    return register


class DatasetContext:
    """One LeRobot v3.0 dataset folder, read lazily; results of checks that already ran."""

    def __init__(self, root: str | Path, config: ValidateConfig) -> None:
        self.root = Path(root)
        self.config = config
        self.results: dict[str, CheckResult] = {}
        #: expensive intermediate results shared between checks (video scans, the loaded dataset)
        self.cache: dict[str, Any] = {}
        if not self.root.is_dir():
            raise LerobotNbError("no such dataset folder", file=self.root)
        if not (self.root / INFO_PATH).is_file():
            raise LerobotNbError(
                f"not a LeRobot dataset: {INFO_PATH} is missing (give the dataset root folder)",
                file=self.root,
            )

    # -- check bookkeeping -------------------------------------------------------------------
    def passed(self, name: str) -> bool:
        """True if check `name` ran and passed or only warned (False: failed, skipped or not run yet)."""
        result = self.results.get(name)
        return result is not None and result.status in ("pass", "warn")

    # -- meta ------------------------------------------------------------------------------
    @cached_property
    def info(self) -> dict[str, Any]:
        """meta/info.json; `structure.info` guarantees its fields before other checks use them."""
        data = json.loads((self.root / INFO_PATH).read_text())
        if not isinstance(data, dict):
            raise ValueError("info.json is not a JSON object")
        return data

    @property
    def fps(self) -> int:
        """Frames per second from info.json."""
        return int(self.info["fps"])

    @property
    def features(self) -> dict[str, dict[str, Any]]:
        """info.json's features (a copy), feature key -> its entry, in file order."""
        return dict(self.info["features"])

    @property
    def video_keys(self) -> list[str]:
        """Features stored as mp4 videos (dtype `video`)."""
        return [k for k, f in self.features.items() if f.get("dtype") == "video"]

    @property
    def image_keys(self) -> list[str]:
        """Features stored as images in the parquet data (dtype `image`)."""
        return [k for k, f in self.features.items() if f.get("dtype") == "image"]

    @property
    def visual_keys(self) -> list[str]:
        """Video and image features, in info.json order."""
        return [k for k, f in self.features.items() if f.get("dtype") in ("video", "image")]

    @property
    def numeric_keys(self) -> list[str]:
        """Features with numeric stats: not video/image, not strings."""
        return [
            k
            for k, f in self.features.items()
            if f.get("dtype") not in ("video", "image", "string", "language")
        ]

    @cached_property
    def episode_files(self) -> list[Path]:
        """The meta/episodes parquet files present, sorted by path."""
        return sorted(self.root.glob(EPISODES_GLOB))

    @cached_property
    def episodes(self) -> pl.DataFrame:
        """All rows of meta/episodes/*/*.parquet, in file order (not re-sorted: order is checked)."""
        frames = [pl.read_parquet(p) for p in self.episode_files]
        if not frames:
            raise FileNotFoundError("meta/episodes/chunk-*/file-*.parquet: no episodes metadata files")
        return pl.concat(frames, how="diagonal_relaxed")

    @cached_property
    def tasks(self) -> pl.DataFrame:
        """tasks.parquet as (task_index, task); the task string is the pandas index lerobot wrote."""
        path = self.root / TASKS_PATH
        table = pq.read_table(path)
        names = table.column_names
        task_col = (
            "task" if "task" in names else next((n for n in names if n.startswith("__index_level")), None)
        )
        if task_col is None or "task_index" not in names:
            raise ValueError(
                f"tasks.parquet has columns {names}; expected task_index and the task string index"
            )
        df = pl.from_arrow(table.select(["task_index", task_col]))
        assert isinstance(df, pl.DataFrame)
        return df.rename({task_col: "task"}).with_columns(pl.col("task").cast(pl.String))

    @cached_property
    def stats(self) -> dict[str, Any]:
        """meta/stats.json as parsed (raises if it is missing or not JSON; `stats` checks report that)."""
        return dict(json.loads((self.root / STATS_PATH).read_text()))

    # -- paths -----------------------------------------------------------------------------
    def data_file(self, chunk: int, file: int) -> str:
        """Data file path of (chunk, file), relative to the root, from info.json's `data_path` template."""
        return str(self.info["data_path"]).format(chunk_index=chunk, file_index=file)

    def video_file(self, key: str, chunk: int, file: int) -> str:
        """Video file path of camera `key` at (chunk, file), relative to the root, from `video_path`."""
        return str(self.info["video_path"]).format(video_key=key, chunk_index=chunk, file_index=file)

    def episode_rows(self) -> Iterator[dict[str, Any]]:
        """The meta/episodes rows as dicts, in file order."""
        yield from self.episodes.iter_rows(named=True)

    @cached_property
    def referenced_data_files(self) -> list[str]:
        """Data files the episodes metadata points to (relative paths), in first-reference order, unique."""
        pairs = self.episodes.select("data/chunk_index", "data/file_index").unique(maintain_order=True)
        return [self.data_file(c, f) for c, f in pairs.iter_rows()]

    @cached_property
    def referenced_video_files(self) -> dict[str, list[str]]:
        """Per video feature: the files the episodes metadata points to, in first-reference order, unique."""
        out: dict[str, list[str]] = {}
        for key in self.video_keys:
            cols = (f"videos/{key}/chunk_index", f"videos/{key}/file_index")
            pairs = self.episodes.select(*cols).unique(maintain_order=True)
            out[key] = [self.video_file(key, c, f) for c, f in pairs.iter_rows()]
        return out

    # -- data ------------------------------------------------------------------------------
    @cached_property
    def data(self) -> pl.DataFrame:
        """All referenced data files, non-image columns, with `_file` and `_row` (row in file)."""
        frames = []
        for rel in self.referenced_data_files:
            names = pq.read_schema(self.root / rel).names
            columns = [n for n in names if n not in self.image_keys]
            df = self._as_declared(pl.read_parquet(self.root / rel, columns=columns))
            frames.append(
                df.with_columns(
                    pl.lit(rel).alias("_file"), pl.int_range(pl.len(), dtype=pl.Int64).alias("_row")
                )
            )
        return pl.concat(frames, how="diagonal_relaxed")

    def _as_declared(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Vector columns stored as variable-length lists, as the fixed-shape arrays lerobot loads.

        A column whose rows do not all have the declared shape stays a list (`structure.schema`
        fails it, and the checks that read values require that check).
        """
        out = frame
        for key in frame.columns:
            dtype, shape = frame.schema[key], self.features.get(key, {}).get("shape")
            if isinstance(dtype, pl.List) and shape:
                inner = dtype.inner
                while isinstance(inner, pl.List):
                    inner = inner.inner
                try:
                    out = out.with_columns(pl.col(key).cast(pl.Array(inner, tuple(shape))))
                except pl.exceptions.PolarsError:
                    continue
        return out

    @cached_property
    def _by_episode(self) -> dict[int, pl.DataFrame]:
        parts = self.data.partition_by("episode_index", as_dict=True, maintain_order=True)
        return {int(key[0]): frame for key, frame in parts.items()}  # type: ignore[call-overload]

    def episode_data(self, episode: int) -> pl.DataFrame:
        """The data rows of one episode, in file order (empty when it has none)."""
        return self._by_episode.get(episode, self.data.clear())

    def numeric(self, frame: pl.DataFrame, key: str) -> np.ndarray:
        """A feature column as an (N,) or (N, D) numpy array in its stored dtype."""
        return np.asarray(frame[key].to_numpy())


#: Legal feature names: lerobot builds nested keys with '/', so a feature name must not contain it.
LEGAL_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
