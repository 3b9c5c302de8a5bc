"""The suggested alignment: index, fps, action and state streams (all arms), task and cameras."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import polars as pl

from lerobot_nb.columns import DEFAULT_COMPONENT, ColumnSpec
from lerobot_nb.config import as_flags
from lerobot_nb.inspect.access import ServerLike, dataset_of
from lerobot_nb.inspect.roles import (
    ACTION_WORDS,
    NOT_STATE,
    NOT_TASK,
    STATE_WORDS,
    TASK_WORDS,
    image_keys,
    is_leader,
    pick_arms,
    role,
    score,
)
from lerobot_nb.inspect.streams import column_kind
from lerobot_nb.inspect.timing import default_index, stream_stats
from lerobot_nb.query import component_columns
from lerobot_nb.server import RecordingServer

__all__ = ["Suggestion", "format_defaults", "suggest"]

#: Frame rate proposed when no stream has a rate.
_DEFAULT_FPS = 10


@dataclass(frozen=True)
class Suggestion:
    """A starting point for `AlignConfig`: the same field names, so `AlignConfig(**asdict(s))`.

    `action_path` / `state_path` are the streams of each arm in order (left before right),
    concatenated into one feature; `task_path` one text stream or None. Each is an entity path
    (a full `entity:Archetype:field` name when the component is not the default `Scalars:scalars`
    / `TextDocument:text`); an empty tuple when nothing fits. `image` holds `key:entity:kind`
    entries (kind raw, compressed or video). `fps` is the rate at which every chosen stream has
    fresh data: the slowest of the action and camera rates, rounded.
    """

    index: str
    fps: int
    action_path: tuple[str, ...]
    state_path: tuple[str, ...]
    task_path: str | None
    image: tuple[str, ...]

    def as_flags(self) -> str:
        """The same suggestion as `lerobot-nb align` / `convert` flags: several streams of one
        feature comma-separated in one flag (`--state-path /a,/b`), no stream as `''` (so the
        flag's default stream does not apply)."""
        return as_flags(
            {
                "index": self.index,
                "fps": self.fps,
                "action_path": ",".join(self.action_path),
                "state_path": ",".join(self.state_path),
                "task_path": self.task_path or "",
                "image": self.image,
            }
        )


def _short_path(column: str, role: str) -> str:
    """The bare entity when the column is the role's default component, else the full column."""
    spec = ColumnSpec.parse(column, role=role)
    return spec.entity if spec.component == DEFAULT_COMPONENT[role] else spec.name


def _per_stream(stats: pl.DataFrame) -> list[dict[str, Any]]:
    """Streams with samples: `stream`, `entity`, `kind`, `rate` (median nominal rate), `count`."""
    rate_col = "nominal_hz" if "nominal_hz" in stats.columns else "nominal_per_step"
    return list(
        stats.filter(pl.col("count") > 0)
        .group_by("stream", "entity", "kind")
        .agg(pl.col(rate_col).median().alias("rate"), pl.col("count").sum().alias("count"))
        .sort("stream")
        .iter_rows(named=True)
    )


def _arms(numeric: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(action streams, state streams): every arm's best stream of each role, left before right."""
    has_leader = any(is_leader(r["entity"]) for r in numeric)
    roles = {id(r): role(r["entity"], has_leader=has_leader) for r in numeric}

    def rank(words: tuple[str, ...]) -> Any:
        def key(r: dict[str, Any]) -> tuple[bool, int, int]:
            entity = r["entity"]
            plain = not any(w in entity.lower() for w in NOT_STATE)
            return (plain, score(entity, words), -len(entity))

        return key

    def entity(r: dict[str, Any]) -> str:
        return str(r["entity"])

    actions = pick_arms([r for r in numeric if roles[id(r)] == "action"], entity, rank(ACTION_WORDS))
    states = pick_arms([r for r in numeric if roles[id(r)] == "state"], entity, rank(STATE_WORDS))
    return actions, states


def _fps(cameras: list[dict[str, Any]], actions: list[dict[str, Any]], states: list[dict[str, Any]]) -> int:
    """The slowest rate of the cameras and actions (the states' when there are neither), rounded."""
    rates = [float(r["rate"]) for r in cameras + actions if r["rate"]]
    if not rates:
        rates = [float(r["rate"]) for r in states if r["rate"]]
    return max(1, round(min(rates))) if rates else _DEFAULT_FPS


def suggest(server: ServerLike, *, index: str | None = None, stats: pl.DataFrame | None = None) -> Suggestion:
    """Guess action, state, task and image columns from names and archetypes, plus index and fps.

    Only streams with samples on the index count (a static task text always counts). Names are
    matched as `roles` describes: leader/follower, command/state and left/right arms, every
    arm proposed; velocity and effort channels are never the state.
    """
    own = format_defaults(server)
    index = index or own.get("index") or default_index(server)
    stats = stats if stats is not None else stream_stats(server, index=index)
    per_stream = _per_stream(stats)
    actions, states = _arms([r for r in per_stream if r["kind"] == "numeric"])
    live = {r["stream"] for r in per_stream}
    texts = [
        i
        for i in component_columns(dataset_of(server))
        if column_kind(i) == "text"
        and (i.is_static or i.name in live)
        and not any(w in i.entity.lower() for w in NOT_TASK)
    ]
    task = max(texts, key=lambda i: (score(i.entity, TASK_WORDS), i.is_static), default=None)
    cameras = [r for r in per_stream if r["kind"].startswith("image:")]
    keys = image_keys([r["entity"] for r in cameras])
    guessed = Suggestion(
        index=index,
        fps=_fps(cameras, actions, states),
        action_path=tuple(_short_path(r["stream"], "numeric") for r in actions),
        state_path=tuple(_short_path(r["stream"], "numeric") for r in states),
        task_path=_short_path(task.name, "task") if task else None,
        image=tuple(
            f"{key}:{r['entity']}:{r['kind'].split(':', 1)[1]}" for key, r in zip(keys, cameras, strict=True)
        ),
    )
    return _with_format_defaults(guessed, own)


def format_defaults(server: ServerLike) -> dict[str, Any]:
    """The alignment defaults a ticked format brought with its served recordings (xgym, RLDS, ...)."""
    recordings = server.recordings if isinstance(server, RecordingServer) else {}
    return next((dict(r.defaults) for r in recordings.values() if r.defaults), {})


def _with_format_defaults(guessed: Suggestion, own: dict[str, Any]) -> Suggestion:
    """What the format knows of its own data wins over guesses from names and rates."""
    if not own:
        return guessed
    fields = {f: own[f] for f in ("index", "fps", "task_path") if own.get(f) is not None}
    for name in ("action_path", "state_path", "image"):
        if name in own:
            value = own[name]
            fields[name] = (value,) if isinstance(value, str) else tuple(value)
    return dataclasses.replace(guessed, **fields)
