"""The edit plan: which frames of which source episodes become the episodes of the new dataset.

An `EditPlan` lists output episodes in order; each is a frame range [start, end) of one source
episode, optionally with a new task. `resolve` checks it against the opened sources (episodes
exist, ranges are inside them and not empty, sources can be merged) before anything is written.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.lerobot_v3.dataset import SourceDataset
from lerobot_nb.lerobot_v3.layout import DEFAULT_FEATURES

__all__ = ["EditPlan", "EpisodeEdit", "OutputLayout", "ResolvedEdit", "merged_layout", "resolve"]

#: Video `info` keys that describe the encoder's tuning, not the stream: sources may differ in
#: them (lerobot's `VIDEO_ENCODER_INFO_KEYS`); the merged value is kept only where all agree.
ENCODER_TUNING = (
    "video.g",
    "video.crf",
    "video.preset",
    "video.fast_decode",
    "video.extra_options",
    "video.video_backend",
)


@dataclass(frozen=True)
class EpisodeEdit:
    """One output episode: frames [start, end) of episode `episode` of source `source`.

    `end=None` means the episode's end. `task` replaces every kept frame's task. `recording`
    replaces the recording id recorded for it (default: the source episode's, `#k` for pieces
    of a split).
    """

    source: int
    episode: int
    start: int = 0
    end: int | None = None
    task: str | None = None
    recording: str | None = None


@dataclass(frozen=True)
class EditPlan:
    """Source dataset folders and the output episodes, in output order."""

    sources: tuple[Path, ...]
    episodes: tuple[EpisodeEdit, ...]

    @classmethod
    def of(cls, sources: Sequence[str | Path], episodes: Sequence[EpisodeEdit]) -> EditPlan:
        """A plan over the source folders (as paths) and the output episodes, in output order."""
        return cls(tuple(Path(s) for s in sources), tuple(episodes))


@dataclass(frozen=True)
class ResolvedEdit:
    """An `EpisodeEdit` checked against its source: exact frame range and whether it is whole."""

    source: SourceDataset
    episode: int
    start: int
    end: int
    task: str | None
    recording: str | None

    @property
    def length(self) -> int:
        """Kept frames, `end - start`."""
        return self.end - self.start

    @property
    def whole(self) -> bool:
        """All frames kept: the stored per-episode statistics still hold."""
        return self.start == 0 and self.end == self.source.length(self.episode)


@dataclass(frozen=True)
class OutputLayout:
    """What the sources agree on: fps, features (video info merged), robot type, file limits."""

    fps: int
    features: dict[str, dict[str, Any]]
    robot_type: str | None
    chunks_size: int
    data_files_size_in_mb: float
    video_files_size_in_mb: float


def resolve(plan: EditPlan, sources: Sequence[SourceDataset]) -> list[ResolvedEdit]:
    """Check every output episode against its source; one-line errors naming dataset and episode."""
    if not plan.episodes:
        raise LerobotNbError("no episode would be left in the new dataset (every episode is dropped)")
    out = []
    for edit in plan.episodes:
        if not 0 <= edit.source < len(sources):
            raise LerobotNbError(f"the plan names source {edit.source}; there are {len(sources)}")
        src = sources[edit.source]
        length = src.length(edit.episode)
        end = length if edit.end is None else edit.end
        if not 0 <= edit.start < length or not 0 < end <= length:
            raise LerobotNbError(
                f"frames [{edit.start}, {end}) are outside the episode's {length} frames",
                file=src.root,
                episode=str(edit.episode),
            )
        if end <= edit.start:
            raise LerobotNbError(
                f"frames [{edit.start}, {end}) leave no frame in the episode",
                file=src.root,
                episode=str(edit.episode),
            )
        out.append(ResolvedEdit(src, edit.episode, edit.start, end, edit.task, edit.recording))
    return out


def merged_layout(
    sources: Sequence[SourceDataset],
    features_of: Callable[[SourceDataset], dict[str, dict[str, Any]]] | None = None,
) -> OutputLayout:
    """The output's fps and features; sources of another fps or other features are an error.

    `features_of` gives the features a source's episodes will have in the output (a column
    transform's); the sources must agree on those instead of on their own.
    """
    first = sources[0]
    mapped = [features_of(s) if features_of is not None else s.features for s in sources]
    features = copy.deepcopy(mapped[0])
    video_keys = [k for k, f in features.items() if f["dtype"] == "video"]
    for other, theirs in zip(sources[1:], mapped[1:], strict=True):
        where = f"{other.root} cannot be merged with {first.root}"
        if other.fps != first.fps:
            raise LerobotNbError(f"{where}: fps {other.fps} differs from {first.fps}")
        _check_same_features(mapped[0], theirs, where)
        for key in video_keys:
            _merge_tuning(features[key].setdefault("info", {}), theirs[key].get("info") or {})
    robot_types = {s.info.get("robot_type") for s in sources}
    info = first.info
    return OutputLayout(
        fps=first.fps,
        features=features,
        robot_type=robot_types.pop() if len(robot_types) == 1 else None,
        chunks_size=int(info.get("chunks_size", 1000)),
        data_files_size_in_mb=float(info.get("data_files_size_in_mb", 100)),
        video_files_size_in_mb=float(info.get("video_files_size_in_mb", 200)),
    )


def _check_same_features(ours: dict[str, Any], theirs: dict[str, Any], where: str) -> None:
    if list(ours) != list(theirs):
        missing = sorted(set(ours) - set(theirs))
        extra = sorted(set(theirs) - set(ours))
        detail = f"missing {missing}, extra {extra}" if missing or extra else "in another order"
        raise LerobotNbError(f"{where}: its features differ ({detail})")
    for key, feature in ours.items():
        other = theirs[key]
        if key in DEFAULT_FEATURES:
            continue
        for field in ("dtype", "shape", "names"):
            if feature.get(field) != other.get(field):
                raise LerobotNbError(
                    f"{where}: feature {key} has {field} {other.get(field)}, not {feature.get(field)}"
                )
        if feature["dtype"] == "video":
            mine, yours = feature.get("info") or {}, other.get("info") or {}
            stream = {k: v for k, v in mine.items() if k not in ENCODER_TUNING}
            differ = sorted(k for k in stream if yours.get(k) != stream[k])
            if differ:
                text = ", ".join(f"{k} {yours.get(k)!r} (not {stream[k]!r})" for k in differ)
                raise LerobotNbError(
                    f"{where}: videos of {key} differ in {text}; packets can only be copied between "
                    "videos of one codec, size and pixel format"
                )


def _merge_tuning(merged: dict[str, Any], other: dict[str, Any]) -> None:
    """Encoder tuning that differs between sources becomes unknown (None, {}), as lerobot merges it."""
    for key in ENCODER_TUNING:
        if key in merged and merged[key] != other.get(key):
            merged[key] = {} if key == "video.extra_options" else None
