"""LeRobot v3.0 on-disk layout: paths, `meta/info.json`, features and the parquet schemas.

Everything here mirrors what lerobot 0.6.1 itself writes (compared against a dataset lerobot
wrote in `tests/test_export_layout.py`), without importing lerobot (it pulls in torch).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from lerobot_nb.stats import STAT_NAMES

__all__ = [
    "CODEBASE_VERSION",
    "DATA_PATH",
    "DEFAULT_FEATURES",
    "EPISODES_PATH",
    "INFO_PATH",
    "STATS_PATH",
    "TASKS_PATH",
    "VIDEO_PATH",
    "camera_feature",
    "data_schema",
    "episodes_schema",
    "numeric_feature",
    "read_json",
    "write_json_atomic",
]

CODEBASE_VERSION = "v3.0"
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
#: This package's sidecar: which recording each episode came from (for --resume); lerobot ignores it.
SOURCES_PATH = "meta/lerobot_nb.json"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"

#: The five columns lerobot adds to every dataset, in its order.
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}

_ARROW_TYPES: dict[str, pa.DataType] = {
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "bool": pa.bool_(),
}


def numeric_feature(values: np.ndarray, names: tuple[str, ...] | None) -> dict[str, Any]:
    """The info.json entry of a (T,) or (T, D) numeric array (dtype kept, so values round-trip)."""
    dtype = str(values.dtype)
    if dtype not in _ARROW_TYPES:
        dtype = "float64" if values.dtype.kind == "f" else "int64"
    dim = 1 if values.ndim == 1 else int(values.shape[1])
    return {"dtype": dtype, "shape": [dim], "names": list(names) if names else None}


def camera_feature(height: int, width: int) -> dict[str, Any]:
    """The info.json entry of a camera before its video `info` block is known."""
    return {"dtype": "video", "shape": [height, width, 3], "names": ["height", "width", "channels"]}


def video_info(
    *,
    height: int,
    width: int,
    codec: str,
    pix_fmt: str,
    fps: int,
    g: int | None,
    crf: int | None,
    preset: int | str | None,
    fast_decode: int,
    extra_options: Mapping[str, Any],
) -> dict[str, Any]:
    """The video `info` block, key for key as lerobot 0.6.1's `get_video_info` + encoder fields."""
    return {
        "video.height": height,
        "video.width": width,
        "video.codec": codec,
        "video.pix_fmt": pix_fmt,
        "video.fps": fps,
        "video.channels": 3,
        "has_audio": False,
        "video.g": g,
        "video.crf": crf,
        "video.preset": preset,
        "video.fast_decode": fast_decode,
        "video.video_backend": "pyav",
        "video.extra_options": dict(extra_options),
        "is_depth_map": False,
    }


#: `image` features (PNG bytes in the data files) and `string` features, as lerobot stores them.
_IMAGE_TYPE = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])


def _scalar_or_list(feature: Mapping[str, Any]) -> tuple[pa.DataType, dict[str, Any]]:
    """Arrow type and the `datasets` feature JSON lerobot stores for a feature of the data files."""
    dtype = feature["dtype"]
    if dtype == "image":
        return _IMAGE_TYPE, {"_type": "Image"}
    if dtype == "string":
        return pa.string(), {"dtype": "string", "_type": "Value"}
    if dtype not in _ARROW_TYPES or len(feature["shape"]) != 1:
        raise ValueError(f"dtype {dtype} with shape {list(feature['shape'])} is not supported")
    arrow = _ARROW_TYPES[dtype]
    dim = int(feature["shape"][0])
    if list(feature["shape"]) == [1]:
        return arrow, {"dtype": dtype, "_type": "Value"}
    hf = {"feature": {"dtype": dtype, "_type": "Value"}, "length": dim, "_type": "List"}
    return pa.list_(pa.field("element", arrow), dim), hf


def data_schema(features: Mapping[str, Mapping[str, Any]]) -> pa.Schema:
    """Schema of `data/*.parquet`: non-video features in order, with the `huggingface` metadata."""
    fields = []
    hf: dict[str, Any] = {}
    for key, feature in features.items():
        if feature["dtype"] == "video":
            continue
        arrow, hf[key] = _scalar_or_list(feature)
        fields.append(pa.field(key, arrow))
    meta = {"huggingface": json.dumps({"info": {"features": hf}})}
    return pa.schema(fields, metadata=meta)


def _stats_type(feature: Mapping[str, Any], stat: str) -> pa.DataType:
    if stat == "count":
        return pa.list_(pa.int64())
    if feature["dtype"] in ("video", "image"):
        return pa.list_(pa.list_(pa.list_(pa.float64())))
    return pa.list_(pa.float64())


def episodes_schema(features: Mapping[str, Mapping[str, Any]]) -> pa.Schema:
    """Schema of `meta/episodes/*.parquet`: every column lerobot 0.6.1 writes, in its order."""
    fields = [
        pa.field("episode_index", pa.int64()),
        pa.field("tasks", pa.list_(pa.string())),
        pa.field("length", pa.int64()),
        pa.field("data/chunk_index", pa.int64()),
        pa.field("data/file_index", pa.int64()),
        pa.field("dataset_from_index", pa.int64()),
        pa.field("dataset_to_index", pa.int64()),
    ]
    for key, feature in features.items():
        if feature["dtype"] == "video":
            fields += [
                pa.field(f"videos/{key}/chunk_index", pa.int64()),
                pa.field(f"videos/{key}/file_index", pa.int64()),
                pa.field(f"videos/{key}/from_timestamp", pa.float64()),
                pa.field(f"videos/{key}/to_timestamp", pa.float64()),
            ]
    for key, feature in features.items():
        if feature["dtype"] == "string":
            continue  # no statistics for text
        fields += [pa.field(f"stats/{key}/{stat}", _stats_type(feature, stat)) for stat in STAT_NAMES]
    fields += [
        pa.field("meta/episodes/chunk_index", pa.int64()),
        pa.field("meta/episodes/file_index", pa.int64()),
    ]
    return pa.schema(fields)


def info_json(
    *,
    fps: int,
    features: Mapping[str, Any],
    total_episodes: int,
    total_frames: int,
    total_tasks: int,
    chunks_size: int,
    data_files_size_in_mb: float,
    video_files_size_in_mb: float,
    robot_type: str | None,
) -> dict[str, Any]:
    """`meta/info.json` with lerobot 0.6.1's keys in its order."""
    has_video = any(f["dtype"] == "video" for f in features.values())
    return {
        "codebase_version": CODEBASE_VERSION,
        "fps": fps,
        "features": dict(features),
        "total_episodes": total_episodes,
        "total_frames": total_frames,
        "total_tasks": total_tasks,
        "chunks_size": chunks_size,
        "data_files_size_in_mb": _whole(data_files_size_in_mb),
        "video_files_size_in_mb": _whole(video_files_size_in_mb),
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if has_video else None,
        "robot_type": robot_type,
        "splits": {"train": f"0:{total_episodes}"},
    }


def _whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def next_file(chunk_index: int, file_index: int, chunks_size: int) -> tuple[int, int]:
    """The (chunk, file) after this one: files fill a chunk folder up to `chunks_size`."""
    if file_index + 1 >= chunks_size:
        return chunk_index + 1, 0
    return chunk_index, file_index + 1


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file + rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=4, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """The parsed JSON file at `path` (errors as `json.load` and `open` raise them)."""
    with open(path) as f:
        return json.load(f)
