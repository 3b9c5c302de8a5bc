"""Dimension names of a feature made of one or several streams (`arm_left_follow.shoulder_pan`)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["feature_names", "part_prefixes"]


def part_prefixes(entities: Sequence[str]) -> list[str]:
    """What tells the streams apart: their entity paths without the components all of them share
    at the start and at the end (`/robot/arm_left_follow/joint_states` -> `arm_left_follow`)."""
    split = [[c for c in e.split("/") if c] for e in entities]
    if len(split) < 2:
        return [s[-1] if s else "" for s in split]
    shortest = min(len(s) for s in split)
    head = 0
    while head < shortest and len({s[head] for s in split}) == 1:
        head += 1
    tail = 0
    while tail < shortest - head and len({s[len(s) - 1 - tail] for s in split}) == 1:
        tail += 1
    out = ["/".join(s[head : len(s) - tail]) for s in split]
    # Streams of one entity (two components of it) differ in no path component: number them.
    return [p or f"{(s or ['stream'])[-1]}{i}" for i, (p, s) in enumerate(zip(out, split, strict=True))]


def feature_names(
    parts: Sequence[tuple[str, int, tuple[str, ...] | None]],
) -> tuple[str, ...] | None:
    """Names of the concatenated dimensions of `parts` = `(entity, width, names or None)`, in order.

    One part keeps its own names. Several parts keep theirs unless two would clash or a part has
    none: then every name is prefixed by its stream (`arm_left_follow.shoulder_pan`) and a part
    without names numbers its dimensions (`arm_left_follow.0`). No names anywhere: None.
    """
    if len(parts) == 1:
        return parts[0][2]
    if all(names is None for _, _, names in parts):
        return None
    flat = [n for _, _, names in parts for n in names or ()]
    unnamed = any(names is None for _, _, names in parts)
    if not unnamed and len(set(flat)) == len(flat):
        return tuple(flat)
    prefixes = part_prefixes([entity for entity, _, _ in parts])
    out: list[str] = []
    for prefix, (_, width, names) in zip(prefixes, parts, strict=True):
        out += [f"{prefix}.{n}" for n in (names if names is not None else range(width))]
    return tuple(out)
