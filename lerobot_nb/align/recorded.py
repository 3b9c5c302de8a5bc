"""Streams of a `RecordedEpisode` (read straight from files) as `SourceStream`s for the grid.

The config's stream paths name the episode's stream keys (`/xarm_joints`); a component suffix
(`:Scalars:scalars`) is accepted and ignored, since a file stream has only one.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import numpy as np

from lerobot_nb.align.config import AlignConfig, ImageSpec
from lerobot_nb.align.core import EpisodeInput
from lerobot_nb.align.grid import units_per_second
from lerobot_nb.align.sidecar import sidecar_stream
from lerobot_nb.align.streams import SourceStream, TaskLookup, part_label
from lerobot_nb.columns import closest_columns
from lerobot_nb.episode import ImageStream, NumericStream, RecordedEpisode, TextStream
from lerobot_nb.errors import LerobotNbError

__all__ = ["recorded_streams"]


def recorded_streams(rec: RecordedEpisode, config: AlignConfig) -> tuple[list[SourceStream], EpisodeInput]:
    """The episode's streams the config names, and what else the grid needs to know."""
    if config.index != rec.index:
        raise LerobotNbError(f"the episode was read on timeline {rec.index!r}, not {config.index!r}")
    # Records of a ticked source are frames: with no rate of their own they tick at the fps asked.
    rate = next((r for r in (config.sequence_rate, rec.rate_hz) if r is not None), float(config.fps))
    per_s = units_per_second(rec.index, rec.index_kind, rate)
    specs = config.numeric_specs()
    parts = Counter(ns.key for ns in specs)
    streams = [
        _numeric(ns.key, part_label(ns.key, ns.column.entity, parts[ns.key]), ns.column.entity, rec, config)
        for ns in specs
    ]
    streams += [_camera(im, rec, config, per_s) for im in config.image_specs()]
    return streams, EpisodeInput(rec.episode_id, rec.index, per_s, rec.source, _task_lookup(rec, config))


def _lookup[S: (NumericStream, ImageStream)](pool: dict[str, S], path: str, key: str, what: str) -> S:
    if path in pool:
        return pool[path]
    close = closest_columns(path, pool)
    hint = f"; closest: {', '.join(close)}" if close else f"; it has {', '.join(sorted(pool)) or 'none'}"
    raise LerobotNbError(f"no {what} stream {path} in this episode{hint}", stream=key)


def _check_times(times: np.ndarray, key: str) -> None:
    if not len(times):
        raise LerobotNbError("the stream has no samples", stream=key)
    if (np.diff(times) < 0).any():
        i = int(np.argmax(np.diff(times) < 0))
        raise LerobotNbError(f"timestamps are not monotonic: sample {i + 1} is before sample {i}", stream=key)


def _numeric(key: str, label: str, path: str, rec: RecordedEpisode, config: AlignConfig) -> SourceStream:
    stream = _lookup(dict(rec.numeric), path, key, "numeric")
    _check_times(stream.times, label)
    values = np.asarray(stream.values, np.float64)
    if np.isnan(values).all():
        raise LerobotNbError(f"all {len(values)} samples are NaN", stream=label)
    return SourceStream(
        key,
        label,
        path,
        "numeric",
        config.policy_for(key),
        stream.times,
        values,
        stream.names,
        path,
        dtype=stream.dtype,
    )


def _camera(im: ImageSpec, rec: RecordedEpisode, config: AlignConfig, per_s: Fraction) -> SourceStream:
    policy = config.policy_for(im.key)
    if im.kind == "file":
        start = min((int(s.times[0]) for s in rec.numeric.values() if len(s.times)), default=None)
        return sidecar_stream(
            im, policy, recording=rec.source, episode=rec.episode_id, start=start, per_s=per_s
        )
    stream = _lookup(dict(rec.images), im.entity, im.key, "image")
    _check_times(stream.times, im.key)
    return SourceStream(
        im.key,
        im.key,
        im.entity,
        "image",
        policy,
        stream.times,
        entity=im.entity,
        frames=lambda picks, remuxable: stream.frames(picks),
    )


def _task_lookup(rec: RecordedEpisode, config: AlignConfig) -> TaskLookup | None:
    """Task per tick: the config's constant, the episode's own sentence, or latest-at over its text stream."""
    task: str | TextStream | None = config.task if config.task is not None else rec.task
    if task is None:
        return None
    if isinstance(task, str):
        constant = task
        return lambda ticks: np.full(len(ticks), constant, dtype=object)
    texts = np.array(task.texts, dtype=object)

    def at(ticks: np.ndarray) -> np.ndarray:
        # Ticks before the first text take the first one: the task holds for the whole episode.
        return texts[np.maximum(np.searchsorted(task.times, ticks, side="right") - 1, 0)]

    return at
