"""`tf.train.Example` / `SequenceExample` messages without TensorFlow: protobuf classes built at run time.

The message classes come from a `FileDescriptorProto` written out below (the field numbers of
TensorFlow's `feature.proto` and `example.proto`) in a private descriptor pool, so they never
clash with TensorFlow's own classes when both are loaded. Parsing is protobuf's (the C `upb`
backend): packed and unpacked repeated fields, unknown fields and map entries are handled by the
library, not by a hand-written wire decoder.

An `Example` parses as a `SequenceExample` with empty `feature_lists`: both keep their
`Features` in field 1, so one parser reads both kinds of record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

__all__ = ["DecodeError", "ParsedRecord", "parse_record"]

_PACKAGE = "tensorflow"
_F = descriptor_pb2.FieldDescriptorProto


@dataclass(frozen=True)
class ParsedRecord:
    """One record: `features` (an Example's features, a SequenceExample's context) and, for a
    SequenceExample, `feature_lists` (key -> one `Feature` per step). Values are protobuf
    `Feature` messages: read `.float_list.value`, `.int64_list.value`, `.bytes_list.value`."""

    features: Mapping[str, Any]
    feature_lists: Mapping[str, Sequence[Any]]


def _field(name: str, number: int, kind: int, *, label: int = _F.LABEL_OPTIONAL, type_name: str = "", oneof: int | None = None, packed: bool = False) -> descriptor_pb2.FieldDescriptorProto:  # fmt: skip
    field = _F(name=name, number=number, type=kind, label=label)  # type: ignore[arg-type]
    if type_name:
        field.type_name = f".{_PACKAGE}.{type_name}"
    if oneof is not None:
        field.oneof_index = oneof
    if packed:
        field.options.packed = True
    return field


def _list(name: str, kind: int, packed: bool) -> descriptor_pb2.DescriptorProto:
    msg = descriptor_pb2.DescriptorProto(name=name)
    msg.field.append(_field("value", 1, kind, label=_F.LABEL_REPEATED, packed=packed))
    return msg


def _map(
    owner: str, field: str, value_type: str
) -> tuple[descriptor_pb2.DescriptorProto, descriptor_pb2.FieldDescriptorProto]:
    """A `map<string, value_type>` field: protobuf's nested MapEntry message and the field itself."""
    entry = descriptor_pb2.DescriptorProto(name=f"{field.title().replace('_', '')}Entry")
    entry.options.map_entry = True
    entry.field.append(_field("key", 1, _F.TYPE_STRING))
    entry.field.append(_field("value", 2, _F.TYPE_MESSAGE, type_name=value_type))
    repeated = _field(field, 1, _F.TYPE_MESSAGE, label=_F.LABEL_REPEATED, type_name=f"{owner}.{entry.name}")
    return entry, repeated


def _file() -> descriptor_pb2.FileDescriptorProto:
    fd = descriptor_pb2.FileDescriptorProto(
        name="lerobot_nb/tf_example.proto", package=_PACKAGE, syntax="proto3"
    )
    fd.message_type.extend(
        [
            _list("BytesList", _F.TYPE_BYTES, packed=False),
            _list("FloatList", _F.TYPE_FLOAT, packed=True),
            _list("Int64List", _F.TYPE_INT64, packed=True),
        ]
    )
    feature = descriptor_pb2.DescriptorProto(name="Feature")
    feature.oneof_decl.add(name="kind")
    for number, (name, type_name) in enumerate(
        (("bytes_list", "BytesList"), ("float_list", "FloatList"), ("int64_list", "Int64List")), start=1
    ):
        feature.field.append(_field(name, number, _F.TYPE_MESSAGE, type_name=type_name, oneof=0))
    fd.message_type.append(feature)
    for owner, field, value_type in (("Features", "feature", "Feature"), ("FeatureLists", "feature_list", "FeatureList")):  # fmt: skip
        msg = descriptor_pb2.DescriptorProto(name=owner)
        entry, repeated = _map(owner, field, value_type)
        msg.nested_type.append(entry)
        msg.field.append(repeated)
        fd.message_type.append(msg)
        if owner == "Features":
            feature_list = descriptor_pb2.DescriptorProto(name="FeatureList")
            feature_list.field.append(
                _field("feature", 1, _F.TYPE_MESSAGE, label=_F.LABEL_REPEATED, type_name="Feature")
            )
            fd.message_type.append(feature_list)
    seq = descriptor_pb2.DescriptorProto(name="SequenceExample")
    seq.field.append(_field("context", 1, _F.TYPE_MESSAGE, type_name="Features"))
    seq.field.append(_field("feature_lists", 2, _F.TYPE_MESSAGE, type_name="FeatureLists"))
    fd.message_type.append(seq)
    return fd


@cache
def _sequence_example() -> Any:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file())
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.SequenceExample"))


def parse_record(data: bytes) -> ParsedRecord:
    """Parse one record's bytes (`Example` or `SequenceExample`); raises `DecodeError` on bad bytes."""
    msg = _sequence_example()()
    msg.ParseFromString(data)
    lists = {key: value.feature for key, value in msg.feature_lists.feature_list.items()}
    return ParsedRecord(features=msg.context.feature, feature_lists=lists)
