"""TFRecord framing, read without TensorFlow: find the records of a file and read one, CRC-checked.

A TFRecord file is a sequence of records, each
`uint64 length | uint32 masked_crc32c(length) | data[length] | uint32 masked_crc32c(data)`
(little endian; `masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8` mod 2**32). Scanning reads
only the 12-byte headers (checking the length's CRC) and seeks over the data; the data's CRC is
checked when a record is read. CRC32C is Google's `google-crc32c` (C, hardware-accelerated).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import google_crc32c

from lerobot_nb.errors import LerobotNbError

__all__ = ["RecordSpan", "ShardScan", "masked_crc32c", "read_record", "scan_records"]

_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC32C of `data`."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


@dataclass(frozen=True)
class RecordSpan:
    """Record `index` (0-based) of `file`: its data is `length` bytes from byte `offset`."""

    file: Path
    index: int
    offset: int
    length: int


@dataclass(frozen=True)
class ShardScan:
    """The records found in one file, in order, and why scanning stopped early (None: clean end).

    `problem` concerns record number `len(records)`: it and everything after it cannot be read.
    """

    records: tuple[RecordSpan, ...]
    problem: str | None = None


def scan_records(path: Path) -> ShardScan:
    """Every record's span in `path`, reading headers only."""
    size = path.stat().st_size
    spans: list[RecordSpan] = []
    with path.open("rb") as fh:
        pos = 0
        while pos < size:
            index = len(spans)
            header = fh.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return ShardScan(tuple(spans), _truncated(index, pos, _HEADER.size, size - pos, "header"))
            length, crc = _HEADER.unpack(header)
            if masked_crc32c(header[:8]) != crc:
                what = "not a TFRecord file (or a compressed one)" if index == 0 else "the file is corrupt"
                return ShardScan(tuple(spans), f"record {index} (byte {pos}): length CRC mismatch, {what}")
            need = _HEADER.size + length + _CRC.size
            if pos + need > size:
                return ShardScan(tuple(spans), _truncated(index, pos, need, size - pos, "record"))
            spans.append(RecordSpan(path, index, pos + _HEADER.size, length))
            pos += need
            fh.seek(pos)
    return ShardScan(tuple(spans))


def _truncated(index: int, pos: int, need: int, left: int, what: str) -> str:
    return f"record {index} (byte {pos}): file truncated, the {what} needs {need} bytes but {left} are left"


def read_record(span: RecordSpan) -> bytes:
    """The data of one record; a data CRC mismatch raises a `LerobotNbError` naming file and record."""
    with span.file.open("rb") as fh:
        fh.seek(span.offset)
        blob = fh.read(span.length + _CRC.size)
    if len(blob) < span.length + _CRC.size:
        raise LerobotNbError(
            f"record {span.index} (byte {span.offset - _HEADER.size}): file truncated since it was scanned",
            file=span.file,
        )
    data = blob[: span.length]
    (stored,) = _CRC.unpack(blob[span.length :])
    computed = masked_crc32c(data)
    if stored != computed:
        raise LerobotNbError(
            f"record {span.index} (byte {span.offset - _HEADER.size}): data CRC mismatch "
            f"(stored {stored:#010x}, computed {computed:#010x}): the file is corrupt",
            file=span.file,
        )
    return data
