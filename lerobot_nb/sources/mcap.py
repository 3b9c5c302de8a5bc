"""MCAP (ROS 2 / Foxglove) to `.rrd`, cached by file content.

Rerun's own importer (`rerun.chunk.McapReader`) decodes CDR and protobuf channels. What it cannot
decode is handled here and logged into the same `.rrd`:

- JSON channels (`message_encoding: json`): decoded by `mcap_json` into the entities and
  timelines the importer gives the CDR equivalent (`ros_rows`);
- per-message-compressed ROS 2 payloads (rosbag2 `compression_mode: MESSAGE`, zstd/lz4) and ROS 2
  schemas named the ROS 1 way (`sensor_msgs/Image`): a normalized copy (`mcap_channels`) is imported.

Every channel with messages that yields no rows after import is named in a note (shown by
`discover_recordings`, kept beside the cache entry); a file that yields no robot stream at all is
an error naming its channels.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.cache import cache_root, content_key, default_cache_dir
from lerobot_nb.sources.mcap_channels import ChannelInfo, FilePlan, normalized_copy, plan_file

if TYPE_CHECKING:
    from lerobot_nb.sources.discover import Recording

__all__ = [
    "ROBOT_ARCHETYPES",
    "Converted",
    "cache_entry",
    "cache_root",
    "cached",
    "convert_into",
    "convert_mcap",
    "default_cache_dir",
    "entity_rows",
    "mcap_to_rrd",
    "robot_streams",
    "to_recordings",
]

#: Archetypes that carry robot data once decoded. An MCAP whose channels decode to none of them
#: (only raw `McapMessage` blobs or reflected `<type>:message` structs, or only logs) has nothing
#: to align.
ROBOT_ARCHETYPES = ("Scalars", "Image", "EncodedImage", "VideoStream", "Transform3D", "Points3D", "Pinhole")

#: Bumped when the conversion itself changes, so stale cache entries are not reused.
_CONVERTER_VERSION = "2"

_SUMMARY_LINE = re.compile(
    r"^(?P<entity>.+?) rows=(?P<rows>\d+) static=(?:True|False) timelines=\[.*?\] cols=\[(?P<cols>.*)\]$"
)


@dataclass(frozen=True)
class Converted:
    """A converted recording: the cached `.rrd`, its recording id and what the user should know."""

    rrd: Path
    episode_id: str
    notes: tuple[str, ...] = ()


def entity_rows(rrd: Path) -> Iterator[tuple[str, int, list[str]]]:
    """(entity, rows, data columns) per chunk of `rrd`, from its footer (no chunk is loaded).

    Data columns are `Archetype:field` names; timelines are left out.
    """
    import rerun.chunk as rrc

    for line in rrc.RrdReader(rrd).store().summary().splitlines():
        found = _SUMMARY_LINE.match(line.strip())
        if found:
            cols = [c.strip().strip("'\"") for c in found["cols"].split(",")]
            yield found["entity"], int(found["rows"]), [c for c in cols if ":" in c]


def robot_streams(rrd: Path) -> list[str]:
    """Entity paths in `rrd` with rows of one of `ROBOT_ARCHETYPES`, sorted."""
    return sorted(
        {
            entity
            for entity, rows, cols in entity_rows(rrd)
            if rows and any(c.split(":", 1)[0] in ROBOT_ARCHETYPES for c in cols)
        }
    )


def _rows_per_topic(rrd: Path, topics: Sequence[str]) -> dict[str, int]:
    """Data rows (not the importer's `Mcap*` channel records) per topic: an entity belongs to the
    longest topic that is it or its parent (`/js/position` -> `/js`)."""
    by_length = sorted(set(topics), key=len, reverse=True)
    counts = dict.fromkeys(topics, 0)
    for entity, rows, cols in entity_rows(rrd):
        if not rows or all(c.startswith("Mcap") for c in cols):
            continue
        topic = next((t for t in by_length if entity == t or entity.startswith(t.rstrip("/") + "/")), None)
        if topic is not None:
            counts[topic] += rows
    return counts


def _why_empty(ch: ChannelInfo) -> str:
    if ch.message_encoding not in ("cdr", "json", "protobuf"):
        return f"Rerun does not decode {ch.message_encoding or 'unnamed'}-encoded messages"
    return "no field could be decoded"


def _empty_channel_notes(channels: Sequence[ChannelInfo], rows: dict[str, int]) -> list[str]:
    return [
        f"channel {ch.label}: {ch.messages} message(s), no rows after import ({_why_empty(ch)})"
        for ch in channels
        if ch.messages and not rows.get(ch.topic)
    ]


def _all_channels(plans: Sequence[FilePlan]) -> list[ChannelInfo]:
    """One entry per topic over all files (message counts added up), in first-seen order."""
    merged: dict[str, ChannelInfo] = {}
    for plan in plans:
        for ch in plan.channels.values():
            seen = merged.get(ch.topic)
            merged[ch.topic] = ch if seen is None else replace(seen, messages=seen.messages + ch.messages)
    return list(merged.values())


def _import(plans: Sequence[FilePlan], tmp: Path, episode_id: str, scratch: Path) -> list[str]:
    """Write the recording of `plans` (one file, or the splits of one bag) to `tmp`; returns notes."""
    import rerun.chunk as rrc

    from lerobot_nb.sources.mcap_json import decode_json_channels

    json_topics = [p.json_topics for p in plans]
    if len(plans) == 1 and not plans[0].needs_copy:
        source, exclude = plans[0].path, [f"^{re.escape(t)}$" for t in sorted(json_topics[0])]
    else:
        source, exclude = scratch, []
        normalized_copy(plans, scratch)
    decoded = decode_json_channels([p.path for p in plans], json_topics)
    native = rrc.McapReader(source, exclude_topic_regex=exclude or None).stream()
    merged = rrc.LazyChunkStream.merge(native, rrc.LazyChunkStream.from_iter(decoded.chunks))
    merged.write_rrd(tmp, application_id="lerobot_nb", recording_id=episode_id)
    channels = _all_channels(plans)
    rows = _rows_per_topic(tmp, [c.topic for c in channels])
    return decoded.notes + _empty_channel_notes(channels, rows)


def _no_robot_streams(plans: Sequence[FilePlan]) -> str:
    channels = ", ".join(c.label for c in _all_channels(plans)) or "no channels"
    return (
        "MCAP has no decodable robot streams (no Scalars, images or video after import; "
        f"channels: {channels})"
    )


def _notes_path(rrd: Path) -> Path:
    return rrd.with_suffix(".notes.json")


def cache_entry(episode_id: str, key_files: Sequence[Path], cache_dir: Path | None = None) -> Path:
    """Where the `.rrd` of a recording goes: named by its id and the content hash of `key_files`,
    so a second run finds it and an edited input gets a new entry."""
    cache = cache_dir or default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    return cache / f"{episode_id}-{content_key(*key_files, salt=_CONVERTER_VERSION)}.rrd"


def cached(target: Path, episode_id: str, notes: Sequence[str] = ()) -> Converted | None:
    """The conversion already at `target` (with the notes kept beside it), or None."""
    if not target.exists():
        return None
    kept = _notes_path(target)
    return Converted(target, episode_id, (*notes, *(json.loads(kept.read_text()) if kept.exists() else ())))


def convert_into(
    target: Path, files: Sequence[Path], *, episode_id: str, source: Path, notes: Sequence[str] = ()
) -> Converted:
    """Convert `files` (one MCAP, or the splits of one recording in order) into `target`.

    `notes` are added to the conversion's own. Raises (naming `source`) when nothing decodes to a
    robot stream; `target` then does not exist.
    """
    found = _convert_to(target, files, episode_id=episode_id, source=source)
    return Converted(target, episode_id, (*notes, *found))


def convert_mcap(
    files: Sequence[Path],
    *,
    episode_id: str,
    source: Path,
    cache_dir: Path | None = None,
    notes: Sequence[str] = (),
) -> Converted:
    """`files` as one cached `.rrd`, converted unless the cache has this content already."""
    target = cache_entry(episode_id, files, cache_dir)
    return cached(target, episode_id, notes) or convert_into(
        target, files, episode_id=episode_id, source=source, notes=notes
    )


def _convert_to(target: Path, files: Sequence[Path], *, episode_id: str, source: Path) -> list[str]:
    """Convert into `target` atomically (a crash never leaves a half-written cache entry)."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".rrd.part")
    os.close(fd)
    tmp, scratch = Path(tmp_name), Path(tmp_name).with_suffix(".mcap")
    try:
        try:
            plans = [plan_file(f) for f in files]
            found = _import(plans, tmp, episode_id, scratch)
        except LerobotNbError:
            raise
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LerobotNbError(f"cannot read MCAP ({reason})", file=source) from None
        if not robot_streams(tmp):
            raise LerobotNbError(_no_robot_streams(plans), file=source)
        if found:  # most conversions have nothing to say: no file beside them
            _notes_path(target).write_text(json.dumps(found))
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
        scratch.unlink(missing_ok=True)
    return found


def mcap_to_rrd(path: Path, *, cache_dir: Path | None = None) -> tuple[Path, str]:
    """Convert `path` to `.rrd` (recording id = file stem) unless the cache has it; return (rrd, id)."""
    done = convert_mcap([path], episode_id=path.stem, source=path, cache_dir=cache_dir)
    return done.rrd, done.episode_id


def to_recordings(path: Path, cache_dir: Path) -> list[Recording]:
    """The MCAP converted to a cached `.rrd` (recording id = file stem)."""
    from lerobot_nb.sources.discover import Recording

    done = convert_mcap([path], episode_id=path.stem, source=path, cache_dir=cache_dir)
    return [
        Recording(
            source=path.resolve(),
            rrd=done.rrd.resolve(),
            episode_id=done.episode_id,
            format="mcap",
            notes=done.notes,
        )
    ]
