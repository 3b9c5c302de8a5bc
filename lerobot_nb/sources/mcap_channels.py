"""What each channel of an MCAP is, and a normalized copy Rerun's importer can decode.

Rerun's importer decodes CDR messages of known ROS 2 types, but not

- messages compressed one by one (rosbag2 `compression_mode: MESSAGE`: each payload is a zstd or
  lz4 frame; the importer logs an error per message and yields no rows), nor
- ROS 2 schemas named the ROS 1 way (`sensor_msgs/Image`, older rosbag2 writers): those are
  decoded by reflection only, not into Image/Scalars/...

`normalized_copy` writes one MCAP without those two problems (payloads decompressed, names
`pkg/msg/Type`), also joining the splits of one rosbag2 recording; JSON channels are left out
(they are decoded by `mcap_json`). The payload bytes are never re-encoded, so Rerun's own CDR
decoding applies exactly as it would to a recording written that way in the first place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lerobot_nb.sources.ros_rows import normalize_ros_name

if TYPE_CHECKING:
    from mcap.reader import McapReader
    from mcap.writer import Writer

__all__ = ["ChannelInfo", "FilePlan", "normalized_copy", "plan_file"]

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_LZ4_MAGIC = b"\x04\x22\x4d\x18"


@dataclass(frozen=True)
class ChannelInfo:
    """One channel: topic, schema name and encodings, message count, payload compression."""

    topic: str
    schema: str
    schema_encoding: str
    message_encoding: str
    messages: int
    #: "zstd" / "lz4" when each payload is compressed on its own, else None.
    compression: str | None = None

    @property
    def label(self) -> str:
        """`/topic (type, encoding)` for messages."""
        return f"{self.topic} ({self.schema or 'no schema'}, {self.message_encoding})"


@dataclass
class FilePlan:
    """The channels of one MCAP file, and which need more than Rerun's importer."""

    path: Path
    channels: dict[int, ChannelInfo] = field(default_factory=dict)

    @property
    def json_topics(self) -> set[str]:
        """Topics whose messages are JSON-encoded."""
        return {c.topic for c in self.channels.values() if c.message_encoding == "json"}

    @property
    def needs_copy(self) -> bool:
        """True when a channel is per-message compressed or its ROS 2 schema is named the ROS 1 way."""
        return any(
            c.compression is not None
            or (c.schema_encoding == "ros2msg" and normalize_ros_name(c.schema) != c.schema)
            for c in self.channels.values()
        )


def _payload_compression(data: bytes) -> str | None:
    # A CDR payload starts with its encapsulation header (first byte 0x00), so neither magic collides.
    if data.startswith(_ZSTD_MAGIC):
        return "zstd"
    if data.startswith(_LZ4_MAGIC):
        return "lz4"
    return None


def plan_file(path: Path) -> FilePlan:
    """Every channel of `path` with its message count (from the summary) and payload compression."""
    from mcap.reader import make_reader

    plan = FilePlan(path)
    with path.open("rb") as fh:
        reader = make_reader(fh)
        summary = reader.get_summary()
        if summary is None:
            return plan
        counts = summary.statistics.channel_message_counts if summary.statistics else {}
        for cid, ch in summary.channels.items():
            schema = summary.schemas.get(ch.schema_id)
            compression = None
            if ch.message_encoding == "cdr":
                first = next(iter(reader.iter_messages(topics=[ch.topic])), None)
                compression = _payload_compression(first[2].data) if first else None
            plan.channels[cid] = ChannelInfo(
                topic=ch.topic,
                schema=schema.name if schema else "",
                schema_encoding=schema.encoding if schema else "",
                message_encoding=ch.message_encoding,
                messages=int(counts.get(cid, 0)),
                compression=compression,
            )
    return plan


def _decompress(data: bytes, how: str | None) -> bytes:
    if how == "zstd":
        import zstandard

        # A stream decompressor: frames written without their content size decode too.
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)  # type: ignore[no-any-return]
    if how == "lz4":
        import lz4.frame

        return lz4.frame.decompress(data)  # type: ignore[no-any-return]
    return data


class _Copier:
    """Schemas and channels of several input files registered once in one output writer."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.schemas: dict[tuple[str, str, bytes], int] = {}
        self.channels: dict[tuple[str, str, int], int] = {}

    def schema_id(self, name: str, encoding: str, data: bytes) -> int:
        if encoding == "ros2msg":
            name = normalize_ros_name(name)
        key = (name, encoding, data)
        if key not in self.schemas:
            self.schemas[key] = self.writer.register_schema(name=name, encoding=encoding, data=data)
        return self.schemas[key]

    def channel_id(self, topic: str, encoding: str, schema_id: int, metadata: dict[str, str]) -> int:
        key = (topic, encoding, schema_id)
        if key not in self.channels:
            self.channels[key] = self.writer.register_channel(
                topic=topic, message_encoding=encoding, schema_id=schema_id, metadata=metadata
            )
        return self.channels[key]


def normalized_copy(plans: Sequence[FilePlan], target: Path) -> None:
    """Write the non-JSON channels of `plans` (in order: the splits of one recording) to `target`,
    payloads decompressed and ROS 2 schema names normalized; attachments and metadata kept."""
    from mcap.reader import make_reader
    from mcap.writer import CompressionType, Writer

    with target.open("wb") as out:
        writer = Writer(out, compression=CompressionType.LZ4)
        writer.start(profile="ros2", library="lerobot_nb")
        copier = _Copier(writer)
        for plan in plans:
            with plan.path.open("rb") as fh:
                reader = make_reader(fh)
                _copy_messages(reader, plan, copier)
                for att in reader.iter_attachments():
                    writer.add_attachment(att.create_time, att.log_time, att.name, att.media_type, att.data)
                for meta in reader.iter_metadata():
                    writer.add_metadata(meta.name, dict(meta.metadata))
        writer.finish()


def _copy_messages(reader: McapReader, plan: FilePlan, copier: _Copier) -> None:
    topics = sorted({c.topic for c in plan.channels.values() if c.message_encoding != "json"})
    if not topics:
        return
    ids: dict[int, int] = {}
    for schema, channel, message in reader.iter_messages(topics=topics, log_time_order=False):
        if channel.id not in ids:
            sid = copier.schema_id(schema.name, schema.encoding, schema.data) if schema else 0
            ids[channel.id] = copier.channel_id(
                channel.topic, channel.message_encoding, sid, dict(channel.metadata)
            )
        info = plan.channels.get(channel.id)
        data = _decompress(message.data, info.compression if info else None)
        copier.writer.add_message(
            channel_id=ids[channel.id],
            log_time=message.log_time,
            publish_time=message.publish_time,
            data=data,
            sequence=message.sequence,
        )
