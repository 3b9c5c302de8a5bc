"""JSON-encoded MCAP channels (which Rerun's importer keeps as raw bytes) decoded into Rerun chunks.

Each message is parsed with `json` and mapped by `ros_rows.message_rows` to the entities and
timelines Rerun gives the CDR equivalent. Byte fields arrive as base64 text (the jsonschema
`contentEncoding: base64` convention Foxglove uses) or as lists of ints.

A recorder with a wall clock that writes some messages at `log_time` 0 (a URDF, a first `/tf`)
means "no time", not 1970: a channel whose every message is like that is logged without its log
and publish times (static when nothing else times it); in a channel that also has timed messages
they are left out and said so, because a static row would hide the timed ones in every latest-at
query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lerobot_nb.sources.rerun_chunks import rows_to_chunks
from lerobot_nb.sources.ros_rows import LOG_TIME, PUBLISH_TIME, Row, message_rows

if TYPE_CHECKING:
    from rerun.chunk import Chunk

__all__ = ["WALL_CLOCK_NS", "JsonChannels", "decode_json_channels"]

#: 1990-01-01 in ns: log times past it come from a wall clock, not a simulation clock.
WALL_CLOCK_NS = 631_152_000 * 1_000_000_000


@dataclass
class JsonChannels:
    """What the JSON channels of one recording decoded to."""

    chunks: list[Chunk] = field(default_factory=list)
    #: Rows made per topic (0: the channel had messages but nothing decodable in them).
    rows: dict[str, int] = field(default_factory=dict)
    #: Schema name per topic.
    schemas: dict[str, str] = field(default_factory=dict)
    #: One line per problem, naming the topic.
    notes: list[str] = field(default_factory=list)


@dataclass
class _Channel:
    topic: str
    schema: str
    rows: list[Row] = field(default_factory=list)
    #: Rows of messages whose log time is 0, kept apart until the recording's clock is known.
    at_zero: list[Row] = field(default_factory=list)
    zero_messages: int = 0
    failed: int = 0
    first_error: str = ""


def decode_json_channels(paths: Sequence[Path], topics: Sequence[set[str]]) -> JsonChannels:
    """Decode the JSON channels `topics[i]` of file `paths[i]` (the MCAP splits of one recording)."""
    channels: dict[str, _Channel] = {}
    end_time = 0
    for path, wanted in zip(paths, topics, strict=True):
        if wanted:
            end_time = max(end_time, _read(path, wanted, channels))
    out = JsonChannels()
    for ch in channels.values():
        rows = _settle(ch, end_time >= WALL_CLOCK_NS, out.notes)
        out.rows[ch.topic] = len(rows)
        out.schemas[ch.topic] = ch.schema
        out.chunks += rows_to_chunks(rows)
    return out


def _read(path: Path, topics: set[str], channels: dict[str, _Channel]) -> int:
    """Decode `topics` of `path` into `channels`; returns the file's last log time (ns)."""
    from mcap.reader import make_reader

    end_time = 0
    with path.open("rb") as fh:
        reader = make_reader(fh)
        summary = reader.get_summary()
        if summary is not None and summary.statistics is not None:
            end_time = summary.statistics.message_end_time
        for schema, channel, message in reader.iter_messages(topics=sorted(topics)):
            if channel.topic not in channels:
                channels[channel.topic] = _Channel(channel.topic, schema.name if schema else "")
            _decode(channels[channel.topic], message.data, message.log_time, message.publish_time)
            end_time = max(end_time, message.log_time)
    return end_time


def _decode(ch: _Channel, data: bytes, log_time: int, publish_time: int) -> None:
    try:
        msg = json.loads(data)
        if not isinstance(msg, dict):
            raise ValueError(f"a JSON {type(msg).__name__}, not an object")
        rows = message_rows(ch.schema, ch.topic, msg, log_time=log_time, publish_time=publish_time)
    except (ValueError, TypeError, KeyError) as exc:
        ch.failed += 1
        ch.first_error = ch.first_error or f"{type(exc).__name__}: {exc}"
        return
    if log_time == 0:
        ch.at_zero += rows
        ch.zero_messages += 1
    else:
        ch.rows += rows


def _settle(ch: _Channel, wall_clock: bool, notes: list[str]) -> list[Row]:
    """The channel's rows once the recording's clock is known; notes for what was left out."""
    what = f"channel {ch.topic} ({ch.schema or 'no schema'}, json)"
    if ch.failed:
        notes.append(f"{what}: {ch.failed} message(s) could not be decoded ({ch.first_error})")
    if not wall_clock or not ch.at_zero:  # log time 0 of a simulation clock is a real time
        return ch.rows + ch.at_zero
    if not ch.rows:
        return [_without_log_times(r) for r in ch.at_zero]
    notes.append(
        f"{what}: {ch.zero_messages} message(s) with log_time 0 (no clock) in a recording on a wall "
        "clock were left out"
    )
    return ch.rows


def _without_log_times(row: Row) -> Row:
    return Row(
        row.entity, tuple(t for t in row.times if t[0] not in (LOG_TIME, PUBLISH_TIME)), row.archetypes
    )
