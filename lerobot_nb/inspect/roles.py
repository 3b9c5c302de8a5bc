"""What a stream's path says it is: action or state, left or right arm, a camera's short key.

Rigs name their arms in a few ways: a teleoperated pair (`lead`/`leader`/`master`/`teleop` is
the operator's device, so its readings are the action; `follow`/`follower`/`puppet` is the
robot, the state), commands next to readings (`cmd`/`command`/`target`/`goal` = action), and
`left`/`right` for two arms. `robot` means the follower only opposite a leader: alone it is
just a namespace (`/robot/joint_commands` is a command).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

__all__ = [
    "ACTION_WORDS",
    "NOT_STATE",
    "NOT_TASK",
    "STATE_WORDS",
    "TASK_WORDS",
    "Role",
    "image_keys",
    "is_leader",
    "pick_arms",
    "role",
    "score",
    "side",
]

Role = Literal["action", "state"]

#: Substrings that make a numeric stream an action / a state, most telling first (see `score`).
ACTION_WORDS = ("action", "command", "cmd", "target", "goal", "control")
STATE_WORDS = ("state", "joint_pos", "qpos", "proprio", "position", "observation", "joint")
TASK_WORDS = ("task", "instruction", "language", "prompt", "goal")
#: Text streams that are never the task: robot descriptions (URDF), logs, metadata.
NOT_TASK = ("description", "urdf", "log", "__mcap", "metadata", "diagnostic")
#: Channels that are never the state, and an action only when nothing else is.
NOT_STATE = ("velocity", "effort", "reward")

_LEADER = frozenset({"lead", "leader", "leaders", "master", "teleop", "teleoperator"})
_FOLLOWER = frozenset({"follow", "follower", "followers", "puppet"})
_SIDES = ("left", "right")
#: Path words that make a generic camera entity name (skipped when naming an image key).
_GENERIC_IMAGE_WORDS = {
    "image",
    "images",
    "compressed",
    "image_raw",
    "image_color",
    "image_rect",
    "image_rect_color",
    "color",
    "rgb",
    "camera",
    "cameras",
}


def _tokens(entity: str) -> set[str]:
    """Lower-case words of a path: `/robot/ArmLeft_lead` -> {robot, arm, left, lead}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", entity)
    return {t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t}


def score(entity: str, words: Sequence[str]) -> int:
    """Higher for earlier words; a whole path segment equal to the word counts double."""
    path = entity.lower()
    segments = path.strip("/").split("/")
    best = 0
    for rank, word in enumerate(words):
        weight = len(words) - rank
        if word in segments:
            best = max(best, 2 * weight)
        elif word in path:
            best = max(best, weight)
    return best


def is_leader(entity: str) -> bool:
    """Whether the path names the operator's side of a teleoperated pair."""
    return bool(_tokens(entity) & _LEADER)


def role(entity: str, *, has_leader: bool = False) -> Role | None:
    """`action`, `state` or None (neither) for a numeric stream's entity path.

    Leader words win over everything (a leader's `joint_states` are the action), then command
    words, then follower words (`robot` only when `has_leader`: the recording has a leader arm),
    then state words; velocity, effort and reward channels are never the state.
    """
    tokens = _tokens(entity)
    if tokens & _LEADER:
        return "action"
    if score(entity, ACTION_WORDS):
        return "action"
    if any(w in entity.lower() for w in NOT_STATE):
        return None
    if tokens & _FOLLOWER or (has_leader and "robot" in tokens):
        return "state"
    return "state" if score(entity, STATE_WORDS) else None


def side(entity: str) -> str | None:
    """`left` or `right` when the path names exactly one of them, else None."""
    found = [s for s in _SIDES if s in _tokens(entity)]
    return found[0] if len(found) == 1 else None


def _unsided(entity: str) -> str:
    return re.sub(r"left|right", "*", entity.lower())


def pick_arms[T](
    candidates: Sequence[T], entity: Callable[[T], str], rank: Callable[[T], tuple[Any, ...]]
) -> list[T]:
    """The best candidate by `rank`; when it names a side, the best of each side, left first.

    For the other side the mirror of the best (`arm_left_follow` <-> `arm_right_follow`) is
    preferred, so both arms come from the same kind of stream.
    """
    if not candidates:
        return []
    best = max(candidates, key=rank)
    if side(entity(best)) is None:
        return [best]
    mirror = _unsided(entity(best))
    out = []
    for name in _SIDES:
        group = [c for c in candidates if side(entity(c)) == name]
        if group:
            out.append(max(group, key=lambda c: (_unsided(entity(c)) == mirror, rank(c))))
    return out


def image_keys(entities: Sequence[str]) -> list[str]:
    """Short camera keys: the last non-generic path segment (`/camera/top/image/compressed` ->
    `top`); when two cameras would share a key, both use their whole path joined by `_`."""

    def clean(text: str) -> str:
        return re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_") or "camera"

    short = []
    for entity in entities:
        segments = [s for s in entity.strip("/").split("/") if s]
        meaningful = [s for s in segments if s.lower() not in _GENERIC_IMAGE_WORDS]
        short.append(clean(meaningful[-1] if meaningful else (segments[0] if segments else "camera")))
    return [
        clean(e.replace("/", "_")) if short.count(k) > 1 else k for k, e in zip(short, entities, strict=True)
    ]
