"""Input formats: which format a file or folder is, and what each one offers.

Two families, one registry:

- *served* formats hold streams on their own clocks (`.rrd`, MCAP, ROS bags): each recording
  becomes an `.rrd` (converted and cached by content) that the local Rerun server serves and
  `align` puts on the grid;
- *ticked* formats already hold one record per frame (xgym memmaps, RLDS steps, LeRobot datasets,
  HaMeR `.npz`): an `EpisodeReader` reads their episodes straight from disk as
  `RecordedEpisode`s (no server), and also writes each as an `.rrd` wherever one must be served
  or viewed.

A format's module is imported only when a path is claimed by it, so detection stays cheap.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from lerobot_nb.episode import RecordedEpisode, TimelineKind

__all__ = ["FORMATS", "EpisodeReader", "FormatModule", "SourceFormat", "format_named", "format_of"]


class EpisodeReader(Protocol):
    """Direct access to the episodes of one ticked input (a folder or file), one at a time."""

    @property
    def path(self) -> Path:
        """The input this reader was opened on (a folder or file), as named in error messages."""

    def episode_ids(self) -> list[str]:
        """Episode ids in a stable order (they become recording ids)."""
        ...

    def timelines(self) -> Mapping[str, TimelineKind]:
        """The timelines `read` can put the streams on, the default first."""
        ...

    def defaults(self) -> Mapping[str, Any]:
        """`AlignConfig` field values that fit this data (fps, index, stream paths, cameras, task)."""
        ...

    def read(self, episode_id: str, index: str) -> RecordedEpisode:
        """One episode's streams on timeline `index`; bad input raises a one-line `LerobotNbError`."""
        ...

    def to_rrd(self, episode_id: str, cache_dir: Path) -> Path:
        """The episode as an `.rrd` (recording id = episode id) in `cache_dir`, made once per content."""
        ...


class FormatModule(Protocol):
    """What a format's module provides (`open_reader` only for ticked formats)."""

    def to_recordings(self, path: Path, cache_dir: Path) -> list[Any]:
        """Every recording in `path` as a `discover.Recording` whose `.rrd` the server registers."""
        ...


@dataclass(frozen=True)
class SourceFormat:
    """One input format: a cheap `claims(path)` test and the module that reads it."""

    name: str
    family: Literal["served", "ticked"]
    claims: Callable[[Path], bool]
    module: str
    #: How error messages name the format (`.mcap`, `xgym memmap folder`).
    description: str

    def load(self) -> Any:
        """The format's module (imported on first use)."""
        return importlib.import_module(self.module)

    def open_reader(self, path: Path) -> EpisodeReader:
        """The direct reader of a ticked input."""
        if self.family != "ticked":
            raise TypeError(f"{self.name} recordings are served, not read directly")
        reader: EpisodeReader = self.load().open_reader(path)
        return reader


def _suffix(*suffixes: str) -> Callable[[Path], bool]:
    return lambda path: path.is_file() and path.suffix.lower() in suffixes


def _claims_lerobot(path: Path) -> bool:
    return path.is_dir() and (path / "meta" / "info.json").is_file()


def _claims_npz(path: Path) -> bool:
    return path.is_dir() and any(path.glob("ep*.npz"))


_TFDS_VERSION = re.compile(r"\d+\.\d+\.\d+")
_TFDS_SHARD = re.compile(r".+-[^-.]+\.tfrecord-\d+-of-\d+")


def _tfds_files(folder: Path) -> bool:
    return (folder / "features.json").is_file() or (folder / "dataset_info.json").is_file()


def _tfds_builder(path: Path) -> bool:
    """A TFDS builder folder (`features.json` or `dataset_info.json`), a dataset folder whose
    version folders (`1.0.0/`) are builder folders, or one shard file of a builder folder."""
    if path.is_file():
        return bool(_TFDS_SHARD.fullmatch(path.name)) and _tfds_files(path.parent)
    if not path.is_dir():
        return False
    if _tfds_files(path):
        return True
    return any(p.is_dir() and _TFDS_VERSION.fullmatch(p.name) and _tfds_files(p) for p in path.iterdir())


def _rosbag2_folder(path: Path) -> bool:
    from lerobot_nb.sources.rosbag import is_rosbag2_folder  # light: no rosbags import

    return is_rosbag2_folder(path)


def _claims_xgym(path: Path) -> bool:
    return path.is_dir() and (any(path.glob("xgym_data_*.dat")) or any(path.glob("xgym_data_*.json")))


#: Every format, in detection order: folder formats before the file formats found inside folders.
FORMATS: tuple[SourceFormat, ...] = (
    # A rosbag2 folder is one recording (its splits together), so it is claimed before its files.
    SourceFormat(
        "rosbag2", "served", _rosbag2_folder, "lerobot_nb.sources.rosbag", "rosbag2 folder (metadata.yaml)"
    ),
    SourceFormat("rrd", "served", _suffix(".rrd"), "lerobot_nb.sources.rrd", ".rrd"),
    SourceFormat("mcap", "served", _suffix(".mcap"), "lerobot_nb.sources.mcap", ".mcap"),
    SourceFormat("bag", "served", _suffix(".bag"), "lerobot_nb.sources.rosbag", ".bag (ROS 1)"),
    SourceFormat("db3", "served", _suffix(".db3"), "lerobot_nb.sources.rosbag", ".db3 (ROS 2)"),
    SourceFormat(
        "lerobot",
        "ticked",
        _claims_lerobot,
        "lerobot_nb.sources.lerobot",
        "LeRobot dataset folder (v2.0, v2.1, v3.0)",
    ),
    SourceFormat("npz", "ticked", _claims_npz, "lerobot_nb.sources.mano_npz", "folder of HaMeR ep*.npz"),
    SourceFormat("rlds", "ticked", _tfds_builder, "lerobot_nb.sources.rlds", "TFDS/RLDS builder folder"),
    SourceFormat("xgym", "ticked", _claims_xgym, "lerobot_nb.sources.xgym", "xgym memmap folder"),
)


def formats_text() -> str:
    """How help texts and errors list what can be read: `.rrd, .mcap, ...`."""
    return ", ".join(f.description for f in FORMATS)


def format_of(path: Path) -> SourceFormat | None:
    """The format that claims `path` (a file, or a folder that is one input), or None."""
    return next((f for f in FORMATS if f.claims(path)), None)


def format_named(name: str) -> SourceFormat:
    """The format called `name` (`rrd`, `mcap`, ...)."""
    for f in FORMATS:
        if f.name == name:
            return f
    raise KeyError(name)
