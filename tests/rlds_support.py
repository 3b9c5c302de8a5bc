"""A second, independent TFRecord / tf.train.Example codec for the RLDS tests, and a TFDS folder writer.

Nothing here uses the code under test: the CRC32C is a pure-Python table, the protobuf wire
format is encoded and decoded by hand (varints, length-delimited fields, packed floats via
`struct`), and `features.json` / `dataset_info.json` are written as TFDS lays them out.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# -- CRC32C (Castagnoli), bit-reflected polynomial 0x82F63B78 ----------------------------------------
_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# -- TFRecord framing --------------------------------------------------------------------------------
def frame_record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked(length)) + data + struct.pack("<I", masked(data))


def write_tfrecord(path: Path, records: Sequence[bytes]) -> list[int]:
    """Write `records`; returns the byte offset of each record's header."""
    offsets, pos = [], 0
    with path.open("wb") as fh:
        for data in records:
            blob = frame_record(data)
            offsets.append(pos)
            fh.write(blob)
            pos += len(blob)
    return offsets


def raw_records(path: Path) -> list[bytes]:
    """The data of every record, read with `struct` only (no CRC check)."""
    out, buf, pos = [], path.read_bytes(), 0
    while pos < len(buf):
        (n,) = struct.unpack_from("<Q", buf, pos)
        out.append(buf[pos + 12 : pos + 12 + n])
        pos += 12 + n + 4
    return out


# -- protobuf wire format ---------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


Value = tuple[str, Sequence[Any]]  # ("float" | "int64" | "bytes", values)


def feature_bytes(value: Value) -> bytes:
    kind, values = value
    if kind == "float":
        inner = _field(1, struct.pack(f"<{len(values)}f", *values)) if len(values) else b""
        return _field(2, inner)
    if kind == "int64":
        inner = _field(1, b"".join(_varint(int(v)) for v in values)) if len(values) else b""
        return _field(3, inner)
    return _field(1, b"".join(_field(1, bytes(v)) for v in values))


def _features(features: Mapping[str, Value]) -> bytes:
    return b"".join(
        _field(1, _field(1, k.encode()) + _field(2, feature_bytes(v))) for k, v in features.items()
    )


def example_bytes(features: Mapping[str, Value]) -> bytes:
    """A serialized `tf.train.Example`."""
    return _field(1, _features(features))


def sequence_example_bytes(context: Mapping[str, Value], lists: Mapping[str, Sequence[Value]]) -> bytes:
    """A serialized `tf.train.SequenceExample` (`lists`: key -> one value per step)."""
    fl = b"".join(
        _field(1, _field(1, k.encode()) + _field(2, b"".join(_field(1, feature_bytes(v)) for v in steps)))
        for k, steps in lists.items()
    )
    return _field(1, _features(context)) + _field(2, fl)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def _fields(buf: bytes) -> Iterator[tuple[int, bytes]]:
    """(field number, payload) of every length-delimited field of a message."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        assert key & 7 == 2, f"wire type {key & 7} not expected here"
        n, pos = _read_varint(buf, pos)
        yield key >> 3, buf[pos : pos + n]
        pos += n


def decode_example(data: bytes) -> dict[str, tuple[str, list[Any]]]:
    """A serialized `Example` as key -> (kind, values): floats as float32 numbers, bytes as bytes."""
    out: dict[str, tuple[str, list[Any]]] = {}
    for number, features in _fields(data):
        assert number == 1
        for _, entry in _fields(features):
            parts = dict(_fields(entry))
            key = parts[1].decode()
            ((kind, inner),) = list(_fields(parts.get(2, b"")))
            payload = b"".join(p for _, p in _fields(inner))
            if kind == 1:
                out[key] = ("bytes", [p for _, p in _fields(inner)])
            elif kind == 2:
                out[key] = ("float", list(np.frombuffer(payload, "<f4")))
            else:
                vals, pos = [], 0
                while pos < len(payload):
                    v, pos = _read_varint(payload, pos)
                    vals.append(v - (1 << 64) if v >= 1 << 63 else v)
                out[key] = ("int64", vals)
    return out


# -- TFDS folders -----------------------------------------------------------------------------------
_TFDS = "tensorflow_datasets.core.features."


def tensor(
    shape: Sequence[int], dtype: str = "float32", description: str = "", encoding: str = "none"
) -> dict:
    cls = "scalar.Scalar" if not shape else "tensor_feature.Tensor"
    node: dict[str, Any] = {
        "pythonClassName": _TFDS + cls,
        "tensor": {
            "shape": {"dimensions": [str(d) for d in shape]} if shape else {},
            "dtype": dtype,
            "encoding": encoding,
        },
    }
    if description:
        node["description"] = description
    return node


def image(shape: Sequence[int], fmt: str = "jpeg") -> dict:
    return {
        "pythonClassName": _TFDS + "image_feature.Image",
        "image": {"shape": {"dimensions": [str(d) for d in shape]}, "dtype": "uint8", "encodingFormat": fmt},
    }


def text() -> dict:
    return {"pythonClassName": _TFDS + "text_feature.Text", "text": {}}


def fdict(**children: dict) -> dict:
    return {"pythonClassName": _TFDS + "features_dict.FeaturesDict", "featuresDict": {"features": children}}


def steps(feature: dict) -> dict:
    return {
        "pythonClassName": _TFDS + "dataset_feature.Dataset",
        "sequence": {"feature": feature, "length": "-1"},
    }


def write_builder(
    root: Path, name: str, features: dict, splits: Mapping[str, Sequence[Sequence[bytes]]]
) -> dict[str, list[Path]]:
    """A TFDS builder folder: `features.json`, `dataset_info.json` and the shards of each split
    (`splits[split][shard]` = that shard's records). Returns split -> shard paths."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "features.json").write_text(json.dumps(features))
    info_splits, paths = [], {}
    for split, shards in splits.items():
        n = len(shards)
        paths[split] = [root / f"{name}-{split}.tfrecord-{i:05d}-of-{n:05d}" for i in range(n)]
        for path, records in zip(paths[split], shards, strict=True):
            write_tfrecord(path, records)
        info_splits.append(
            {
                "filepathTemplate": "{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}",
                "name": split,
                "shardLengths": [str(len(s)) for s in shards],
            }
        )
    info = {"fileFormat": "tfrecord", "name": name, "splits": info_splits, "version": root.name}
    (root / "dataset_info.json").write_text(json.dumps(info))
    return paths


def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def pil_decode(blob: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))


# -- a small generated dataset: `toy` ---------------------------------------------------------------
NAME = "toy_rlds"


def features(*, is_last: bool = True) -> dict:
    step = {
        "action": tensor([2], description="Delta [x, y]."),
        "observation": fdict(
            state=tensor([3], description="Robot state [2x joint, 1x gripper]."),
            image_0=image([4, 5, 3], "png"),
            depth=tensor([2, 2], "uint16", encoding="zlib"),
        ),
        "language_instruction": text(),
        "is_first": tensor([], "bool"),
        "is_terminal": tensor([], "bool"),
        "reward": tensor([], "float32"),
    }
    if is_last:
        step["is_last"] = tensor([], "bool")
    return fdict(steps=steps(fdict(**step)), episode_metadata=fdict(has_image_0=tensor([], "bool")))


def state(e: int, t: int) -> list[float]:
    return [e + t / 8, -t * 0.25, 1.5 * e]


def action(e: int, t: int) -> list[float]:
    return [t * 0.125, e - 0.5]


def pixels(e: int, t: int) -> np.ndarray:
    return np.full((4, 5, 3), (10 * e + t, 3 * t, 200), np.uint8)


def depth(e: int, t: int) -> np.ndarray:
    return np.array([[e, t], [1000 + t, 65535]], np.uint16)


def episode_values(e: int, n: int, *, is_last: bool = True, last_at: int | None = None) -> dict:
    last = n - 1 if last_at is None else last_at
    values = {
        "steps/action": ("float", [v for t in range(n) for v in action(e, t)]),
        "steps/observation/state": ("float", [v for t in range(n) for v in state(e, t)]),
        "steps/observation/image_0": ("bytes", [png(pixels(e, t)) for t in range(n)]),
        "steps/observation/depth": ("bytes", [zlib.compress(depth(e, t).tobytes()) for t in range(n)]),
        "steps/language_instruction": ("bytes", [f"task {e}".encode()] * n),
        "steps/is_first": ("int64", [int(t == 0) for t in range(n)]),
        "steps/is_terminal": ("int64", [0] * n),
        "steps/reward": ("float", [float(t == n - 1) for t in range(n)]),
        "episode_metadata/has_image_0": ("int64", [1]),
    }
    if is_last:
        values["steps/is_last"] = ("int64", [int(t == last) for t in range(n)])
    return values


def record(e: int, n: int, **kw: object) -> bytes:
    return example_bytes(episode_values(e, n, **kw))  # type: ignore[arg-type]


def toy(root: Path, shards: list[list[int]], **kw: object) -> dict[str, list[Path]]:
    """A `train` split whose shards hold episodes of the given lengths (episode e has length n)."""
    e = iter(range(100))
    split = [[record(next(e), n, **kw) for n in shard] for shard in shards]
    return write_builder(root, NAME, features(is_last=bool(kw.get("is_last", True))), {"train": split})
