"""Hand-written LeRobot datasets (v2.0/v2.1 by hand, as other labs' scripts write them) and
independent readers of any LeRobot folder for the input tests: pyarrow rows, PyAV packets/frames.

Nothing here uses lerobot_nb's reader: the tests compare its output with these.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from export_support import frame

FPS = 10
H, W = 48, 64


@dataclass
class HandEpisode:
    """One episode of a hand-written dataset: `length` rows, tasks per row, optional jitter."""

    index: int
    length: int
    tasks: Sequence[str] = ("pick the cube",)
    #: seconds added to k / fps (0: timestamps exactly frame_index / fps)
    jitter: np.ndarray | None = None
    seed: int = 0
    state: np.ndarray = field(init=False)
    action: np.ndarray = field(init=False)
    reward: np.ndarray = field(init=False)
    gripper: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(100 + self.index)
        self.state = rng.standard_normal((self.length, 3)).astype(np.float32)
        self.action = rng.standard_normal((self.length, 2)).astype(np.float32)
        self.reward = rng.random(self.length).astype(np.float32)
        self.gripper = rng.integers(0, 3, self.length).astype(np.int64)

    @property
    def timestamps(self) -> np.ndarray:
        base = np.arange(self.length) / FPS
        return (base + (self.jitter if self.jitter is not None else 0.0)).astype(np.float32)

    def task_of(self, k: int) -> str:
        return self.tasks[min(k * len(self.tasks) // self.length, len(self.tasks) - 1)]

    def image(self, k: int) -> np.ndarray:
        return frame(k, self.seed + self.index)


def _fixed(values: np.ndarray) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])


def write_legacy_dataset(
    root: Path,
    episodes: Sequence[HandEpisode],
    *,
    version: str = "v2.1",
    codec: str | None = "h264",
    bframes: bool = False,
    names: dict[str, str] | None = None,
    listed: Sequence[int] | None = None,
) -> Path:
    """A v2.x dataset as a hand-written script makes one: per-episode parquet and mp4, jsonl meta.

    `names` renames the features (`{"observation.state": "state", ...}`) as labs do; `listed`
    are the episode indices meta/episodes.jsonl lists (default: the ones written).
    """
    names = names or {}
    key = {
        k: names.get(k, k)
        for k in ("observation.state", "action", "next.reward", "gripper", "observation.images.front")
    }
    tasks = list(dict.fromkeys(t for ep in episodes for t in ep.tasks))
    features: dict[str, Any] = {
        key["observation.state"]: {"dtype": "float32", "shape": [3], "names": [["x", "y", "z"]]},
        key["action"]: {"dtype": "float32", "shape": [2], "names": {"motors": ["left", "right"]}},
        key["next.reward"]: {"dtype": "float32", "shape": [1], "names": None},
        key["gripper"]: {"dtype": "int64", "shape": [1], "names": None},
        "note": {"dtype": "string", "shape": [1], "names": None},
    }
    if codec is not None:
        features[key["observation.images.front"]] = {
            "dtype": "video",
            "shape": [H, W, 3],
            "names": ["height", "width", "channel"],
            "info": {"video.fps": FPS, "video.codec": codec, "video.pix_fmt": "yuv420p"},
        }
    for name, dtype in (
        ("timestamp", "float32"),
        ("frame_index", "int64"),
        ("episode_index", "int64"),
        ("index", "int64"),
        ("task_index", "int64"),
    ):
        features[name] = {"dtype": dtype, "shape": [1], "names": None}
    info = {
        "codebase_version": version,
        "robot_type": "hand_written",
        "total_episodes": len(listed) if listed is not None else len(episodes),
        "total_frames": sum(e.length for e in episodes),
        "total_tasks": len(tasks),
        "total_videos": len(episodes) if codec else 0,
        "total_chunks": 1,
        "chunks_size": 1000,
        "fps": FPS,
        "splits": {"train": f"0:{len(episodes)}"},
        "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "video_path": "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
        if codec
        else None,
        "features": features,
    }
    (root / "meta").mkdir(parents=True)
    (root / "meta/info.json").write_text(json.dumps(info, indent=2))
    listed_eps = list(listed) if listed is not None else [e.index for e in episodes]
    lengths = {e.index: e.length for e in episodes}
    (root / "meta/episodes.jsonl").write_text(
        "".join(
            json.dumps({"episode_index": i, "tasks": tasks, "length": lengths.get(i, 5)}) + "\n"
            for i in listed_eps
        )
    )
    (root / "meta/tasks.jsonl").write_text(
        "".join(json.dumps({"task_index": i, "task": t}) + "\n" for i, t in enumerate(tasks))
    )
    if version == "v2.1":
        (root / "meta/episodes_stats.jsonl").write_text(
            "".join(json.dumps({"episode_index": i, "stats": {}}) + "\n" for i in listed_eps)
        )
    start = 0
    for ep in episodes:
        table = pa.table(
            {
                key["observation.state"]: _fixed(ep.state),
                key["action"]: _fixed(ep.action),
                key["next.reward"]: pa.array(ep.reward),
                key["gripper"]: pa.array(ep.gripper),
                "note": pa.array([f"row {k}" for k in range(ep.length)]),
                "timestamp": pa.array(ep.timestamps),
                "frame_index": pa.array(np.arange(ep.length, dtype=np.int64)),
                "episode_index": pa.array(np.full(ep.length, ep.index, np.int64)),
                "index": pa.array(np.arange(start, start + ep.length, dtype=np.int64)),
                "task_index": pa.array(
                    np.array([tasks.index(ep.task_of(k)) for k in range(ep.length)], np.int64)
                ),
            }
        )
        path = root / f"data/chunk-000/episode_{ep.index:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        if codec is not None:
            video = root / f"videos/chunk-000/{key['observation.images.front']}/episode_{ep.index:06d}.mp4"
            encode_mp4(video, [ep.image(k) for k in range(ep.length)], codec=codec, bframes=bframes)
        start += ep.length
    return root


def encode_mp4(
    path: Path, frames: Sequence[np.ndarray], *, codec: str, bframes: bool = False, g: int = 4
) -> None:
    """Frames at FPS, constant rate, as a recorder script writes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    encoder = {"h264": "libx264", "av1": "libsvtav1", "hevc": "libx265"}[codec]
    with av.open(str(path), "w") as out:
        stream: Any = out.add_stream(encoder, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        options = {"g": str(g)}
        if codec == "h264":
            options["bf"] = "2" if bframes else "0"
        stream.options = options
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


# -- independent readers ----------------------------------------------------------------------------
def info(root: Path) -> dict[str, Any]:
    return dict(json.loads((root / "meta/info.json").read_text()))


def data(root: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(f) for f in sorted((root / "data").rglob("*.parquet")))


def column(table: pa.Table, name: str) -> np.ndarray:
    col = table[name]
    if pa.types.is_fixed_size_list(col.type) or pa.types.is_list(col.type):
        return np.stack(col.to_numpy(zero_copy_only=False))
    return col.to_numpy()


def decoded(path: Path) -> list[tuple[Fraction, np.ndarray]]:
    """(time in s, RGB) of every frame of an mp4, in display order."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return [(Fraction(f.pts) * stream.time_base, f.to_ndarray(format="rgb24")) for f in c.decode(stream)]


def packets(path: Path) -> list[tuple[int, bytes]]:
    """(pts, bytes) of every video packet of an mp4, in decode order."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return [(int(p.pts), bytes(p)) for p in c.demux(stream) if p.size]


def vcl_units(packet: bytes) -> list[bytes]:
    """The coded slices (NAL types 1 and 5) of an MP4 H.264 packet (4-byte length prefixes):
    what a remux must keep bit for bit (parameter sets may move in or out of band)."""
    out, pos = [], 0
    while pos + 4 <= len(packet):
        size = int.from_bytes(packet[pos : pos + 4], "big")
        unit = packet[pos + 4 : pos + 4 + size]
        if unit and unit[0] & 0x1F in (1, 5):
            out.append(unit)
        pos += 4 + size
    return out


def episode_frames(root: Path, episode: int, key: str) -> list[np.ndarray]:
    """The frames of one episode of a v3.0 dataset: the picture at from_timestamp + k / fps."""
    meta = pa.concat_tables(pq.read_table(f) for f in sorted((root / "meta/episodes").rglob("*.parquet")))
    row = meta.to_pylist()[episode]
    rel = info(root)["video_path"].format(
        video_key=key,
        chunk_index=row[f"videos/{key}/chunk_index"],
        file_index=row[f"videos/{key}/file_index"],
    )
    pictures = decoded(root / rel)
    times = np.array([float(t) for t, _ in pictures])
    out = []
    for k in range(row["length"]):
        t = row[f"videos/{key}/from_timestamp"] + k / info(root)["fps"]
        i = int(np.argmin(np.abs(times - t)))
        assert abs(times[i] - t) < 1e-4
        out.append(pictures[i][1])
    return out


def closest(picture: np.ndarray, candidates: Sequence[np.ndarray]) -> int:
    """Index of the candidate nearest to `picture` (mean squared error)."""
    errors = [np.mean((picture.astype(np.float64) - c.astype(np.float64)) ** 2) for c in candidates]
    return int(np.argmin(errors))
