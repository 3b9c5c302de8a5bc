"""Robot bags written by `rosbags`' own writers (ROS 1 `.bag`, ROS 2 `.db3` and `.mcap`), and the raw
messages they hold, for tests that check the conversion against a brute-force reading.

Topics (one short episode, 2 s):

| topic | type | rate | header stamp |
|---|---|---|---|
| `/joint_states` | sensor_msgs/JointState, 3 joints | 50 Hz | = receive time - 2 ms |
| `/action` | std_msgs/Float64MultiArray, 2 values | 10 Hz | (none) |
| `/camera/image_raw` | sensor_msgs/Image rgb8 16x24 | 5 Hz | = receive time - 2 ms |
| `/camera/image/compressed` | sensor_msgs/CompressedImage jpeg 16x24 | 5 Hz | = receive time - 2 ms |
| `/task` | std_msgs/String | 1 Hz | (none) |

The bag's receive time (`message_log_time` after conversion) has a deterministic jitter of a few
hundred microseconds so that latest-at lookups are not trivially on the samples.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = ["JOINTS", "T0_NS", "BagContent", "image_pixels", "write_bag"]

T0_NS = 1_700_000_000_000_000_000
JOINTS = ("shoulder", "elbow", "gripper")
H, W = 16, 24
DURATION_S = 2
STAMP_LAG_NS = 2_000_000


@dataclass
class BagContent:
    """The raw messages written, per topic: receive times (ns) and values."""

    times: dict[str, list[int]] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, topic: str, t: int, value: Any) -> None:
        self.times.setdefault(topic, []).append(t)
        self.values.setdefault(topic, []).append(value)


def image_pixels(i: int) -> np.ndarray:
    """Frame `i` of the raw camera: a (H, W, 3) uint8 gradient that moves with i."""
    y, x = np.mgrid[0:H, 0:W]
    return np.stack(
        [(x * 10 + i * 7) % 256, (y * 15 + i * 3) % 256, np.full_like(x, 40 * i % 256)], -1
    ).astype(np.uint8)


def _jpeg(rgb: np.ndarray) -> bytes:
    import av

    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    buf = io.BytesIO()
    with av.open(buf, "w", format="image2pipe") as out:
        stream = out.add_stream("mjpeg")
        stream.width, stream.height, stream.pix_fmt = W, H, "yuvj420p"
        for packet in stream.encode(frame.reformat(format="yuvj420p")):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def _jitter(k: int) -> int:
    return int((k * 7919) % 600) * 1_000  # 0..599 us, deterministic


def _schedule() -> list[tuple[int, str, int]]:
    """(receive time ns, topic, index) of every message, in time order."""
    out = []
    for topic, hz in (("/joint_states", 50), ("/action", 10), ("/camera/image_raw", 5), ("/task", 1)):
        for i in range(DURATION_S * hz):
            out.append((T0_NS + i * 1_000_000_000 // hz + _jitter(i), topic, i))
    out += [
        (t + 1_000, "/camera/image/compressed", i)
        for t, topic, i in list(out)
        if topic == "/camera/image_raw"
    ]
    return sorted(out)


def _messages(typestore: Any, ros1: bool) -> list[tuple[int, str, str, Any, Any]]:
    """(time, topic, msgtype, message, raw value) per message, built from `typestore`'s types."""
    types = typestore.types
    time = types["builtin_interfaces/msg/Time"]

    def header(t: int, frame: str) -> Any:
        stamp = time(sec=(t - STAMP_LAG_NS) // 1_000_000_000, nanosec=(t - STAMP_LAG_NS) % 1_000_000_000)
        if ros1:
            return types["std_msgs/msg/Header"](seq=0, stamp=stamp, frame_id=frame)
        return types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame)

    out = []
    for t, topic, i in _schedule():
        if topic == "/joint_states":
            pos = np.array([np.sin(i / 10), np.cos(i / 7), 0.01 * i], dtype=np.float64)
            msg = types["sensor_msgs/msg/JointState"](
                header=header(t, "base"),
                name=list(JOINTS),
                position=pos,
                velocity=pos * 2,
                effort=np.zeros(3),
            )
            out.append((t, topic, "sensor_msgs/msg/JointState", msg, pos))
        elif topic == "/action":
            data = np.array([0.5 * i, -0.25 * i], dtype=np.float64)
            layout = types["std_msgs/msg/MultiArrayLayout"](dim=[], data_offset=0)
            msg = types["std_msgs/msg/Float64MultiArray"](layout=layout, data=data)
            out.append((t, topic, "std_msgs/msg/Float64MultiArray", msg, data))
        elif topic == "/camera/image_raw":
            rgb = image_pixels(i)
            msg = types["sensor_msgs/msg/Image"](
                header=header(t, "cam"), height=H, width=W, encoding="rgb8", is_bigendian=0, step=W * 3,
                data=rgb.reshape(-1),
            )  # fmt: skip
            out.append((t, topic, "sensor_msgs/msg/Image", msg, rgb))
        elif topic == "/camera/image/compressed":
            jpeg = _jpeg(image_pixels(i))
            msg = types["sensor_msgs/msg/CompressedImage"](
                header=header(t, "cam"), format="jpeg", data=np.frombuffer(jpeg, np.uint8)
            )
            out.append((t, topic, "sensor_msgs/msg/CompressedImage", msg, jpeg))
        else:
            text = f"put the block {'left' if i % 2 == 0 else 'right'}"
            out.append((t, topic, "std_msgs/msg/String", types["std_msgs/msg/String"](data=text), text))
    return out


def _open_writer(path: Path, kind: str) -> Any:
    if kind == "bag":
        from rosbags.rosbag1 import Writer as Writer1

        return Writer1(path)
    from rosbags.rosbag2 import StoragePlugin
    from rosbags.rosbag2 import Writer as Writer2

    plugin = StoragePlugin.SQLITE3 if kind == "db3" else StoragePlugin.MCAP
    return Writer2(path, version=9, storage_plugin=plugin)


def write_bag(path: Path, kind: Literal["bag", "db3", "mcap"]) -> BagContent:
    """Write the episode at `path` (a `.bag` file, or a rosbag2 folder with sqlite3 / mcap storage)."""
    from rosbags.typesys import Stores, get_typestore

    ros1 = kind == "bag"
    typestore = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
    serialize = typestore.serialize_ros1 if ros1 else typestore.serialize_cdr
    content = BagContent()
    writer = _open_writer(path, kind)
    with writer:
        conns: dict[str, Any] = {}
        for t, topic, msgtype, msg, value in _messages(typestore, ros1):
            if topic not in conns:
                conns[topic] = writer.add_connection(topic, msgtype, typestore=typestore)
            writer.write(conns[topic], t, serialize(msg, msgtype))
            content.add(topic, t, value)
    return content
