"""Quality flags (warnings, never failures): still, short, constant, jerky, frozen-camera, outlier episodes."""

from __future__ import annotations

from typing import Any

import numpy as np

from lerobot_nb.validate.context import DEFAULT_FEATURES, DatasetContext, check
from lerobot_nb.validate.report import Finding
from lerobot_nb.validate.signals import (
    clipped_std,
    longest_run,
    motion_digest,
    moving_steps,
    range_reach,
    second_differences,
    spikes,
)
from lerobot_nb.validate.timing import video_scans

__all__: list[str] = []

_MOTION = ("action", "observation.state")


def _warn(reason: str, **where: Any) -> Finding:
    return Finding(status="warn", reason=reason, **where)


def _episodes(ctx: DatasetContext) -> list[tuple[int, Any]]:
    return [(int(ep[0]), frame) for ep, frame in ctx.data.group_by("episode_index", maintain_order=True)]  # type: ignore[arg-type]


def _motion_keys(ctx: DatasetContext) -> list[str]:
    return [k for k in _MOTION if k in ctx.numeric_keys]


@check("quality.short_episodes", requires=("structure.episodes",))
def short_episodes(ctx: DatasetContext) -> list[Finding]:
    """No episode is shorter than short_episode_s seconds (too short for most policies' chunks)."""
    limit = ctx.config.short_episode_s * ctx.fps
    return [
        _warn(
            f"only {row['length']} frames ({row['length'] / ctx.fps:.2f} s < {ctx.config.short_episode_s} s); consider dropping it",
            episode=row["episode_index"],
        )
        for row in ctx.episode_rows()
        if row["length"] < limit
    ]


@check("quality.still_episodes", requires=("structure.index",))
def still_episodes(ctx: DatasetContext) -> list[Finding]:
    """No episode in which action and state barely ever change (a robot that did not move)."""
    keys = _motion_keys(ctx)
    if not keys:
        return [Finding(status="pass", reason="no action/state features")]
    out = []
    for ep, frame in _episodes(ctx):
        if len(frame) < 2:
            continue
        moving = moving_steps([ctx.numeric(frame, k) for k in keys], [1e-6] * len(keys))
        still = 1.0 - moving.mean()
        if still >= ctx.config.still_fraction:
            out.append(
                _warn(
                    f"{', '.join(keys)} stay constant on {still:.0%} of steps: the robot barely moves",
                    file=frame["_file"][0],
                    episode=ep,
                )
            )
    return out


@check("quality.constant_streams", requires=("structure.episode_ranges",))
def constant_streams(ctx: DatasetContext) -> list[Finding]:
    """No feature dimension is constant over the whole dataset (dead sensor or unused joint)."""
    out = []
    for key in ctx.numeric_keys:
        if key in DEFAULT_FEATURES:
            continue
        values = ctx.numeric(ctx.data, key).reshape(len(ctx.data), -1)
        if len(values) < 2:
            continue
        constant = np.flatnonzero(np.all(values == values[0], axis=0))
        names = ctx.features[key].get("names")
        for d in constant:
            label = (
                names[d]
                if isinstance(names, list) and d < len(names) and isinstance(names[d], str)
                else f"[{d}]"
            )
            out.append(
                _warn(
                    f"`{key}` {label} is constant ({float(values[0, d]):g}) in every frame: a dead stream gives zero std"
                )
            )
    return out


@check("quality.jerk", requires=("structure.index",))
def jerk(ctx: DatasetContext) -> list[Finding]:
    """No sudden spike in the frame-to-frame change of action/state (teleop glitch, dropped frame)."""
    out = []
    episodes = _episodes(ctx)
    for key in _motion_keys(ctx):
        values = [ctx.numeric(f, key) for _, f in episodes]
        seconds = [second_differences(v) for v in values if len(v) >= 3]
        pooled = np.concatenate(seconds, axis=0) if seconds else np.zeros((0, 0))
        if len(pooled) < 10:
            continue
        sigma = clipped_std(pooled)
        for (ep, frame), v in zip(episodes, values, strict=True):
            found = spikes(v, sigma, ctx.config.jerk_sigma)
            worst = found.worst()
            if worst is not None:
                k, d, z = worst
                out.append(
                    _warn(
                        f"`{key}`[{d}] changes speed by {z:.0f} stds at this frame ({found.frames.size} spike(s) in this episode)",
                        file=frame["_file"][0],
                        episode=ep,
                        frame=k,
                    )
                )
    return out


@check("quality.range_outliers", requires=("structure.index",))
def range_outliers(ctx: DatasetContext) -> list[Finding]:
    """No episode's action/state range reaches far beyond the values of all other episodes."""
    episodes = _episodes(ctx)
    if len(episodes) < 2:
        return [Finding(status="pass", reason="a single episode: nothing to compare its range with")]
    out = []
    limit = ctx.config.outlier_sigma
    for key in _motion_keys(ctx):
        arrays = [ctx.numeric(f, key).reshape(len(f), -1).astype(np.float64) for _, f in episodes]
        for i, (ep, frame) in enumerate(episodes):
            others = np.concatenate([a for j, a in enumerate(arrays) if j != i], axis=0)
            reach, _ = range_reach(arrays[i], others)
            if np.any(reach > limit):
                d = int(np.argmax(reach))
                out.append(
                    _warn(
                        f"`{key}`[{d}] reaches {reach[d]:.0f} stds from the other episodes' median "
                        f"(range {arrays[i][:, d].min():.4g}..{arrays[i][:, d].max():.4g}): a different setup or a glitch?",
                        file=frame["_file"][0],
                        episode=ep,
                    )
                )
    return out


@check("quality.duplicate_episodes", requires=("structure.index",))
def duplicate_episodes(ctx: DatasetContext) -> list[Finding]:
    """No episode repeats another's action and state frame for frame (recorded twice)."""
    keys = _motion_keys(ctx)
    if not keys:
        return [Finding(status="pass", reason="no action/state features")]
    seen: dict[bytes, int] = {}
    out = []
    for ep, frame in _episodes(ctx):
        digest = motion_digest([ctx.numeric(frame, k) for k in keys])
        if digest in seen:
            out.append(
                _warn(
                    f"{', '.join(keys)} repeat episode {seen[digest]} exactly: a duplicate recording?",
                    episode=ep,
                )
            )
        else:
            seen[digest] = ep
    return out


@check("quality.repeated_frames", requires=("video.decode",))
def repeated_frames(ctx: DatasetContext) -> list[Finding]:
    """No run of identical consecutive video frames inside an episode (a frozen camera)."""
    if not ctx.video_keys or not ctx.config.video:
        return [Finding(status="pass", reason="no decoded video to compare")]
    out = []
    scans = video_scans(ctx)
    limit = ctx.config.repeated_frames
    for row in ctx.episode_rows():
        for key in ctx.video_keys:
            rel = ctx.video_file(key, row[f"videos/{key}/chunk_index"], row[f"videos/{key}/file_index"])
            scan = scans[rel]
            start = row[f"videos/{key}/from_timestamp"]
            tol = ctx.config.tolerance_s
            inside = np.flatnonzero(
                (scan.times >= start - tol) & (scan.times < row[f"videos/{key}/to_timestamp"] - tol)
            )
            same = scan.same_as_previous[inside].copy()
            if same.size:
                same[0] = False  # the first frame of a segment repeating the previous episode is fine
            best, first = longest_run(same)
            if best + 1 >= limit:
                out.append(
                    _warn(
                        f"`{key}` shows the same picture for {best + 1} consecutive frames: frozen camera?",
                        file=rel,
                        episode=row["episode_index"],
                        frame=first - 1,
                    )
                )
    return out
