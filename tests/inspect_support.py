"""Test helpers for suggestions: a `Suggestion` as `AlignConfig` keywords, stream paths as tuples."""

from __future__ import annotations

import typing
from dataclasses import asdict
from typing import Any

from lerobot_nb.inspect import Suggestion

__all__ = ["align_fields", "streams"]


def _align_takes_several_streams() -> bool:
    from lerobot_nb.align import AlignConfig

    hint = typing.get_type_hints(AlignConfig)["state_path"]
    return any(typing.get_origin(t) is tuple for t in (hint, *typing.get_args(hint)))


def streams(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """An `AlignConfig.state_path`-like value as a tuple of streams (None: none)."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def align_fields(s: Suggestion) -> dict[str, Any]:
    """`asdict(s)`, the keywords of `AlignConfig(**...)`.

    While `AlignConfig.state_path` / `action_path` still take one stream (the multi-stream
    alignment lands in a parallel change), a one-stream tuple is passed as its string and an empty
    one as None; once they take tuples this is exactly `asdict(s)`.
    """
    fields = asdict(s)
    if _align_takes_several_streams():
        return fields
    for name in ("action_path", "state_path"):
        value = fields[name]
        assert len(value) <= 1, f"{name}={value}: this AlignConfig takes one stream"
        fields[name] = value[0] if value else None
    return fields
