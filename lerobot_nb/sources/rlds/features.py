"""TFDS's `features.json` (a serialized `FeaturesDict`) as a flat list of features, and their values.

TFDS flattens nested features into `tf.train.Example` keys joined by `/`
(`steps/observation/image_0`); a feature inside the `steps` sequence holds every step's values
in one list (a `Tensor` f32[7] of a 10-step episode is a `float_list` of 70 floats, an `Image`
is a `bytes_list` of 10 encoded images, a `Text` a `bytes_list` of 10 UTF-8 strings, a bool an
`int64_list`). A `SequenceExample` keeps them per step in `feature_lists` instead; both are read.
Features of kinds not listed here (nested sequences, video, audio, bounding boxes) are reported
as not read.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.rlds.example import ParsedRecord

__all__ = ["FeatureSpec", "FeatureValues", "Features", "parse_features", "read_values"]

Kind = Literal["tensor", "image", "text"]

_IMAGE_MEDIA = {"jpeg": "image/jpeg", "jpg": "image/jpeg", "png": "image/png"}


@dataclass(frozen=True)
class FeatureSpec:
    """One leaf feature: its `/`-joined `path` (`steps/observation/state`), what it is, and whether
    it is per step (`in_steps`, inside the episode's sequence) or per episode.

    `shape` is one step's (or the episode's) shape, None for an unknown dimension; `dtype` the
    numpy dtype name; `encoding` `none`/`bytes`/`zlib` for tensors, `jpeg`/`png` for images.
    """

    path: str
    kind: Kind
    shape: tuple[int | None, ...]
    dtype: str
    encoding: str
    in_steps: bool
    description: str = ""

    @property
    def key(self) -> str:
        """The stream key: the path with a leading `/` (`/steps/observation/state`)."""
        return "/" + self.path

    @property
    def width(self) -> int:
        """Values per step of a tensor (1 for a scalar)."""
        return math.prod(d or 0 for d in self.shape) if self.shape else 1

    @property
    def media_type(self) -> str:
        """MIME type of an image feature's bytes (`image/png` for PNG, else `image/jpeg`)."""
        return _IMAGE_MEDIA.get(self.encoding, "image/jpeg")


@dataclass(frozen=True)
class Features:
    """The features of a dataset: `specs` in sorted path order, the steps sequence's name, and
    the features that cannot be read (path -> why)."""

    specs: tuple[FeatureSpec, ...]
    steps: str
    skipped: Mapping[str, str]


def parse_features(doc: Mapping[str, Any], *, file: str) -> Features:
    """Flatten a `features.json` document; raises when it has no (single) episode sequence."""
    specs: list[FeatureSpec] = []
    skipped: dict[str, str] = {}
    sequences: list[str] = []
    top = _dict_features(doc)
    if top is None:
        raise LerobotNbError("features.json is not a TFDS FeaturesDict", file=file)
    for name, node in top.items():
        if _class(node) in ("Dataset", "Sequence") and "sequence" in node:
            sequences.append(name)
            _walk(node["sequence"]["feature"], name, True, specs, skipped)
        else:
            _walk(node, name, False, specs, skipped)
    if len(sequences) != 1:
        found = ", ".join(sequences) or "none"
        raise LerobotNbError(
            f"not an RLDS dataset: features.json needs one sequence of steps, it has {found}", file=file
        )
    specs.sort(key=lambda s: _natural(s.path))
    return Features(tuple(specs), sequences[0], skipped)


def _natural(path: str) -> list[Any]:
    """Sort key that puts `image_2` before `image_10`."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path)]


def _class(node: Mapping[str, Any]) -> str:
    return str(node.get("pythonClassName", "")).rsplit(".", 1)[-1]


def _dict_features(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    inner = node.get("featuresDict")
    return inner.get("features", {}) if isinstance(inner, Mapping) else None


def _walk(node: Mapping[str, Any], path: str, in_steps: bool, out: list[FeatureSpec], skipped: dict[str, str]) -> None:  # fmt: skip
    children = _dict_features(node)
    if children is not None:
        for name, child in children.items():
            _walk(child, f"{path}/{name}", in_steps, out, skipped)
        return
    spec = _leaf(node, path, in_steps)
    if isinstance(spec, str):
        skipped[path] = spec
    else:
        out.append(spec)


def _shape(info: Mapping[str, Any]) -> tuple[int | None, ...]:
    dims = info.get("shape", {}).get("dimensions", [])
    return tuple(None if int(d) < 0 else int(d) for d in dims)


def _leaf(node: Mapping[str, Any], path: str, in_steps: bool) -> FeatureSpec | str:
    """The feature at `path`, or why it is not read."""
    desc = str(node.get("description", ""))
    if "tensor" in node:
        info = node["tensor"]
        shape, encoding = _shape(info), str(info.get("encoding", "none")).lower()
        if None in shape and encoding == "none":
            return f"{_class(node)} of shape {list(shape)} (ragged per step) is not supported"
        return FeatureSpec(
            path, "tensor", shape, _dtype(info.get("dtype", "float32")), encoding, in_steps, desc
        )
    if "image" in node:
        info = node["image"]
        fmt = str(info.get("encodingFormat") or "png").lower()
        dtype = _dtype(info.get("dtype", "uint8"))
        if fmt not in _IMAGE_MEDIA or dtype != "uint8":
            return f"{dtype} {fmt} images are not supported (8-bit JPEG/PNG are)"
        return FeatureSpec(path, "image", _shape(info), dtype, fmt, in_steps, desc)
    if "text" in node:
        return FeatureSpec(path, "text", (), "str", "utf-8", in_steps, desc)
    if "classLabel" in node:
        return FeatureSpec(path, "tensor", (), "int64", "none", in_steps, desc)
    return f"feature type {_class(node) or 'unknown'} is not supported"


def _dtype(name: Any) -> str:
    text = str(name).lower()
    return {"string": "str", "bytes": "str", "object": "str"}.get(text, text)


@dataclass(frozen=True)
class FeatureValues:
    """One record's values of one feature: `array` (steps x width float64, or per episode 1 x width)
    for tensors, `blobs` (encoded images) or `texts`, one entry per step (per episode: one)."""

    spec: FeatureSpec
    array: np.ndarray | None = None
    blobs: tuple[bytes, ...] = ()
    texts: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.array) if self.array is not None else len(self.blobs) or len(self.texts)


def read_values(record: ParsedRecord, spec: FeatureSpec) -> FeatureValues | None:
    """The values of `spec` in `record`, None when the record does not hold it."""
    items = _features_of(record, spec)
    if items is None:
        return None
    if spec.kind == "image":
        return FeatureValues(spec, blobs=tuple(b for f in items for b in f.bytes_list.value))
    if spec.kind == "text" or spec.dtype == "str":
        texts = tuple(b.decode("utf-8", "replace") for f in items for b in f.bytes_list.value)
        return FeatureValues(spec, texts=texts)
    if spec.encoding in ("bytes", "zlib"):
        return FeatureValues(spec, array=_from_bytes(items, spec))
    return FeatureValues(spec, array=_from_lists(items, spec))


def _features_of(record: ParsedRecord, spec: FeatureSpec) -> Sequence[Any] | None:
    """The protobuf `Feature`s holding `spec`: one for an Example, one per step in a SequenceExample."""
    if spec.path in record.features:
        return [record.features[spec.path]]
    if not spec.in_steps:
        return None
    inner = spec.path.split("/", 1)[1]  # SequenceExample writers name lists with or without `steps/`
    for key in (spec.path, inner):
        if key in record.feature_lists:
            return record.feature_lists[key]
    return None


def _from_lists(items: Sequence[Any], spec: FeatureSpec) -> np.ndarray:
    if spec.dtype.startswith(("float", "bfloat")):
        flat = np.concatenate([_floats(f.float_list) for f in items])
    else:
        flat = np.concatenate([np.fromiter(f.int64_list.value, np.int64) for f in items])
    return _rows(flat, spec)


def _floats(float_list: Any) -> np.ndarray:
    """A `FloatList`'s values as float32, bit for bit and without a Python float per value: the
    message re-serialized by protobuf ends with its packed little-endian payload."""
    n = len(float_list.value)
    raw = float_list.SerializeToString()
    return np.frombuffer(raw, "<f4", count=n, offset=len(raw) - 4 * n)


def _from_bytes(items: Sequence[Any], spec: FeatureSpec) -> np.ndarray:
    """Tensors TFDS stored as raw bytes (`encoding: bytes`, or zlib-compressed), one per step."""
    blobs = [b for f in items for b in f.bytes_list.value]
    raw = [zlib.decompress(b) if spec.encoding == "zlib" else b for b in blobs]
    flat = np.concatenate([np.frombuffer(r, spec.dtype) for r in raw]) if raw else np.empty(0)
    return _rows(flat, spec, rows=len(raw))


def _rows(flat: np.ndarray, spec: FeatureSpec, rows: int | None = None) -> np.ndarray:
    """`flat` as steps x width float64; raises when its size is not a whole number of steps."""
    width = spec.width
    if rows is not None and width == 0:
        width = len(flat) // rows if rows else 0
    if width == 0 or len(flat) % width:
        raise LerobotNbError(
            f"{len(flat)} values are not a whole number of {spec.dtype}{list(spec.shape)} steps",
            stream=spec.key,
        )
    return flat.reshape(-1, width).astype(np.float64)
