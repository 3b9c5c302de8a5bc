"""The export spec: one frozen config for the Python API, the CLI flags and the notebook parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lerobot_nb.codecs import DECODER_NAME
from lerobot_nb.config import help_field, warn_deprecated
from lerobot_nb.errors import LerobotNbError

__all__ = ["CODECS", "DECODER_NAME", "ExportConfig"]

#: Codecs the exporter encodes with (PyAV encoder names, as lerobot's `vcodec`).
CODECS: tuple[str, ...] = tuple(DECODER_NAME)
#: lerobot 0.6.1's default preset for libsvtav1 (`LIBSVTAV1_DEFAULT_PRESET`).
SVTAV1_DEFAULT_PRESET = 12


@dataclass(frozen=True, kw_only=True)
class ExportConfig:
    """Where and how aligned episodes become a LeRobot v3.0 dataset.

    The dataset is built in a hidden folder beside `output` and published by an atomic rename;
    `output` never holds a half-written dataset.
    """

    output: str = help_field("", "folder of the LeRobot dataset to write", metavar="DIR")
    overwrite: bool = help_field(False, "replace an existing dataset at --output (atomically, at the end)")
    resume: bool = help_field(
        False,
        "append episodes not yet in the dataset at --output (by recording id); existing files "
        "are kept as they are",
    )
    writer: Literal["native", "lerobot"] = help_field(
        "native",
        "native: this package's streaming writer; lerobot: LeRobotDataset.create/add_frame/"
        "save_episode/finalize",
    )
    codec: Literal["libsvtav1", "h264", "hevc"] = help_field(
        "libsvtav1", "video codec (lerobot's default is libsvtav1)"
    )
    g: int | None = help_field(2, "GOP size: a keyframe every g frames (lerobot's default 2)")
    crf: int | None = help_field(30, "constant rate factor (quality; lower is better and bigger)")
    preset: str | None = help_field(
        None, "encoder speed preset (default: 12 for libsvtav1, the codec's own otherwise)"
    )
    pix_fmt: str = help_field("yuv420p", "pixel format of the videos")
    fast_decode: int = help_field(0, "fast-decode tuning (0 off), as lerobot's encoder config")
    remux: bool = help_field(
        True, "copy video packets without re-encoding when a source already is the target codec on the grid"
    )
    workers: int = help_field(2, "parallel video encodes (cameras and episodes)")
    episodes: tuple[str, ...] = help_field(
        (), "only these recording ids (repeatable; default all)", metavar="ID"
    )
    episode_task: tuple[str, ...] = help_field(
        (),
        "per-episode task as RECORDING_ID=task text, overriding the task stream (repeatable)",
        metavar="ID=TASK",
    )
    feature_names: tuple[str, ...] = help_field(
        (),
        "names of a numeric feature's dimensions as FEATURE=n1,n2,... (overrides the recording's; "
        "repeatable)",
        metavar="FEATURE=NAMES",
    )
    min_frames: int = help_field(
        0, "leave out (and name) episodes with fewer frames than this (0: no floor)", metavar="N"
    )
    skip_bad_episodes: bool | None = help_field(
        None, "deprecated here: the alignment's skip_bad_episodes", deprecated="skip_bad_episodes"
    )
    robot_type: str | None = help_field(None, "robot_type written to meta/info.json")
    chunks_size: int = help_field(1000, "files per chunk folder")
    data_files_size_in_mb: float = help_field(100, "roll data parquet files at this size (MB)")
    video_files_size_in_mb: float = help_field(200, "roll video files at this size (MB)")
    language_embedding: bool | None = help_field(
        None, "deprecated here: the enrichment's language_embedding", deprecated="language_embedding"
    )
    progress: bool = help_field(True, "show progress bars")

    def __post_init__(self) -> None:
        if self.overwrite and self.resume:
            raise LerobotNbError("overwrite and resume exclude each other: pick one")
        if self.skip_bad_episodes is not None:
            warn_deprecated("ExportConfig.skip_bad_episodes", "AlignConfig.skip_bad_episodes")
        if self.language_embedding is not None:
            warn_deprecated("ExportConfig.language_embedding", "LanguageConfig.language_embedding")
        if self.min_frames < 0:
            raise LerobotNbError(f"min_frames={self.min_frames} must be >= 0")
        if self.workers < 1:
            raise LerobotNbError(f"workers={self.workers} must be >= 1")
        if self.codec not in CODECS:
            raise LerobotNbError(f"codec={self.codec!r} is not one of {', '.join(CODECS)}")
        for name in ("chunks_size", "data_files_size_in_mb", "video_files_size_in_mb"):
            if getattr(self, name) <= 0:
                raise LerobotNbError(f"{name}={getattr(self, name)} must be > 0")
        self.task_mapping()  # parse early: a typo fails before any work
        self.names_mapping()
        if self.g is not None and self.g < 1:
            raise LerobotNbError(f"g={self.g} must be >= 1")

    def task_mapping(self) -> dict[str, str]:
        """`episode_task` as {recording id: task text}."""
        out: dict[str, str] = {}
        for item in self.episode_task:
            episode, sep, task = item.partition("=")
            if not sep or not episode.strip() or not task.strip():
                raise LerobotNbError(f"episode_task={item!r} is not RECORDING_ID=task text")
            out[episode.strip()] = task.strip()
        return out

    def names_mapping(self) -> dict[str, tuple[str, ...]]:
        """`feature_names` as {feature key: names}."""
        out: dict[str, tuple[str, ...]] = {}
        for item in self.feature_names:
            key, sep, names = item.partition("=")
            parts = tuple(n.strip() for n in names.split(","))
            if not sep or not key.strip() or not all(parts):
                raise LerobotNbError(f"feature_names={item!r} is not FEATURE=name1,name2,...")
            out[key.strip()] = parts
        return out

    @property
    def effective_preset(self) -> int | str | None:
        """The preset passed to the encoder (lerobot's libsvtav1 default when none is given)."""
        if self.preset is None:
            return SVTAV1_DEFAULT_PRESET if self.codec == "libsvtav1" else None
        return int(self.preset) if self.preset.isdigit() else self.preset
