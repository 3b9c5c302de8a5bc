"""The xgym recorder's files: `xgym_data_*.dat` memmaps, their JSON sidecars and one `task-*.npy`.

Layout (from xgym's `nodes/writer.py`): each episode is `xgym_data_<stamp>.dat`, a flat memmap of
`info.maxlen` fixed-size records, beside `xgym_data_<stamp>.json` =
`{"schema": {name: int | [shape]}, "info": {"hz", "len", "maxlen", "path"}}`. A record is
`time` (float32 seconds) then every schema entry in JSON object order: an int is a float32
vector of that length, a list a uint8 array of that shape (a camera, stored BGR). The folder's
`task-<words_with_underscores>.npy` holds the 512-d embedding of the task sentence, which is
only in the file name.

Everything here reads headers only (sidecars, file sizes, the 2 KB task file): cheap enough to
run over a whole folder before any data is touched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.task_file import Task, read_task  # the folder's task-*.npy

__all__ = [
    "DAT_PATTERN",
    "DIMENSION_NAMES",
    "EpisodeFiles",
    "Sidecar",
    "Task",
    "camera_key",
    "entity_of",
    "find_episodes",
    "read_sidecar",
    "read_task",
    "record_count",
]

DAT_PATTERN = "xgym_data_*.dat"
SIDECAR_PATTERN = "xgym_data_*.json"

#: Dimension names of the writer's numeric streams (other streams stay unnamed).
DIMENSION_NAMES: Mapping[str, tuple[str, ...]] = {
    "xarm_joints": tuple(f"joint_{i}" for i in range(1, 8)),
    "xarm_gripper": ("gripper",),
    "xarm_pose": ("x", "y", "z", "roll", "pitch", "yaw"),
    "gello_joints": (*(f"joint_{i}" for i in range(1, 8)), "gripper"),
}


@dataclass(frozen=True)
class EpisodeFiles:
    """One episode's two files; either may be missing (a bad input that `read` reports)."""

    episode_id: str
    dat: Path
    sidecar: Path

    def check_pair(self) -> None:
        """Raise `LerobotNbError` naming the file present when its `.dat` / `.json` partner is missing."""
        for have, missing in ((self.dat, self.sidecar), (self.sidecar, self.dat)):
            if not missing.is_file():
                raise LerobotNbError(
                    f"has no {missing.suffix} beside it ({missing.name} is missing)", file=have
                )


def find_episodes(folder: Path) -> list[EpisodeFiles]:
    """Every episode stem that has a `.dat` or a sidecar in `folder`, sorted (= recording order)."""
    stems = {p.stem for pattern in (DAT_PATTERN, SIDECAR_PATTERN) for p in folder.glob(pattern)}
    return [EpisodeFiles(s, folder / f"{s}.dat", folder / f"{s}.json") for s in sorted(stems)]


@dataclass(frozen=True)
class Sidecar:
    """One episode's sidecar: the schema in declaration order and the recorder's info."""

    path: Path
    schema: Mapping[str, int | tuple[int, ...]]
    hz: int
    length: int  # info.len: 0 when the recorder did not stop cleanly
    maxlen: int | None

    @property
    def dtype(self) -> np.dtype:
        """The record dtype exactly as the writer builds it (packed, `time` first)."""
        fields: list[tuple[str, type, tuple[int, ...]]] = [("time", np.float32, ())]
        for name, v in self.schema.items():
            shape = v if isinstance(v, tuple) else (v,)
            fields.append((name, np.uint8 if isinstance(v, tuple) else np.float32, shape))
        return np.dtype(fields)

    @property
    def cameras(self) -> list[str]:
        """Camera streams (schema entries with an image shape), in declaration order."""
        return [name for name, v in self.schema.items() if isinstance(v, tuple)]

    @property
    def numeric(self) -> list[str]:
        """Numeric streams (schema entries with a width), in declaration order."""
        return [name for name, v in self.schema.items() if not isinstance(v, tuple)]

    def shape(self, camera: str) -> tuple[int, int]:
        """`(height, width)` of a camera."""
        v = self.schema[camera]
        assert isinstance(v, tuple)
        return v[0], v[1]


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _schema(raw: object, path: Path) -> dict[str, int | tuple[int, ...]]:
    if not isinstance(raw, dict) or not raw:
        raise LerobotNbError("sidecar has no schema object (name -> length or [shape])", file=path)
    out: dict[str, int | tuple[int, ...]] = {}
    for name, v in raw.items():
        if name == "time":
            raise LerobotNbError(
                "schema declares `time`, which every record already starts with", file=path, stream=name
            )
        if _positive_int(v):
            out[name] = v
        elif isinstance(v, list) and v and all(_positive_int(d) for d in v):
            if len(v) != 3 or v[2] != 3:
                raise LerobotNbError(
                    f"camera shape {v} is not [height, width, 3] (BGR uint8)", file=path, stream=name
                )
            out[name] = tuple(v)
        else:
            raise LerobotNbError(
                f"schema value {v!r} is neither a length nor a [shape]", file=path, stream=name
            )
    if not any(isinstance(v, tuple) for v in out.values()):
        raise LerobotNbError("schema has no camera (no [height, width, 3] entry)", file=path)
    return out


def _info_int(info: dict[str, object], key: str, path: Path, *, required: bool, minimum: int) -> int | None:
    value = info.get(key)
    if value is None and not required:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise LerobotNbError(f"sidecar info.{key}={value!r} is not a whole number >= {minimum}", file=path)
    return value


def read_sidecar(path: Path) -> Sidecar:
    """Parse and check one sidecar (JSON object order is the record layout, kept by `json`)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LerobotNbError(f"cannot read the sidecar ({str(exc).splitlines()[0]})", file=path) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("info", {}), dict):
        raise LerobotNbError("sidecar is not {schema: ..., info: {...}}", file=path)
    info = doc.get("info", {})
    hz = _info_int(info, "hz", path, required=True, minimum=1)
    length = _info_int(info, "len", path, required=False, minimum=0)
    maxlen = _info_int(info, "maxlen", path, required=False, minimum=1)
    assert hz is not None
    return Sidecar(path, _schema(doc.get("schema"), path), hz, length or 0, maxlen)


def record_count(dat: Path, sidecar: Sidecar) -> int:
    """How many records `dat` holds by the sidecar's layout; raises when size and layout disagree.

    The recorder preallocates `maxlen` records, so a file of another size is cut off (shorter
    than `maxlen` records) or was written with another schema (`maxlen` records of another size,
    or a size that is no whole number of records).
    """
    size, record, maxlen = dat.stat().st_size, sidecar.dtype.itemsize, sidecar.maxlen
    if size == 0:
        raise LerobotNbError("the .dat file is empty", file=dat)
    if (size == maxlen * record) if maxlen else (size % record == 0):
        return size // record
    if maxlen and size % maxlen == 0:
        raise LerobotNbError(
            f"the sidecar's schema disagrees with the data: it describes {record}-byte records, the "
            f"file holds maxlen {maxlen} records of {size // maxlen} bytes",
            file=dat,
        )
    if maxlen and size < maxlen * record:
        raise LerobotNbError(
            f"truncated: {size} bytes, but maxlen {maxlen} records of {record} bytes need "
            f"{maxlen * record}; it ends in record {size // record}",
            file=dat,
            stream=_field_at(sidecar.dtype, size % record),
        )
    raise LerobotNbError(
        f"the sidecar's schema disagrees with the data: {size} bytes is not a whole number of "
        f"{record}-byte records" + (f" (maxlen {maxlen})" if maxlen else ""),
        file=dat,
    )


def _field_at(dtype: np.dtype, offset: int) -> str:
    """The record field holding byte `offset` of a record."""
    assert dtype.names is not None
    return next(n for n in reversed(dtype.names) if dtype.fields[n][1] <= offset)  # type: ignore[index]


def entity_of(name: str) -> str:
    """The entity path of a schema entry (`xarm_joints` -> `/xarm_joints`; topics keep theirs)."""
    return name if name.startswith("/") else "/" + name


def camera_key(topic: str, others: list[str]) -> str:
    """The feature key of a camera: its topic's last component (`/xgym/camera/worm` -> `worm`),
    or, when two topics share it, the whole topic joined with `_`."""
    last = [t.rstrip("/").rsplit("/", 1)[-1] for t in others]
    mine = topic.rstrip("/").rsplit("/", 1)[-1]
    key = mine if last.count(mine) == 1 else topic.strip("/").replace("/", "_")
    return key.replace(".", "_") or "camera"
