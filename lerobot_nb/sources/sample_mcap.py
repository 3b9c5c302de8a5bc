"""One sample episode as a ROS 2 MCAP (CDR-encoded `sensor_msgs` / `std_msgs`), like `ros2 bag record`.

Topics (header stamps carry the same jittered timestamps as the `.rrd` episode):

| topic                            | type                          | rate   |
|----------------------------------|-------------------------------|--------|
| `/joint_states`                  | sensor_msgs/JointState        | 50 Hz  |
| `/joint_commands`                | sensor_msgs/JointState        | 10 Hz  |
| `/camera/top/image/compressed`   | sensor_msgs/CompressedImage   | 15 Hz  |
| `/camera/wrist/image/compressed` | sensor_msgs/CompressedImage   | 10 Hz  |
| `/task`                          | std_msgs/String               | 1 Hz   |

Rerun's MCAP importer turns JointState into `/joint_states/position:Scalars:scalars` (+ names),
CompressedImage into `EncodedImage`, String into `TextDocument`, on the `ros2_timestamp` timeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lerobot_nb.sources.sample import _Episode

__all__ = ["write_ros2_episode"]

_SEP = "=" * 80
_TIME = "int32 sec\nuint32 nanosec\n"
_HEADER = f"builtin_interfaces/Time stamp\nstring frame_id\n{_SEP}\nMSG: builtin_interfaces/Time\n{_TIME}"
_JOINT_STATE = (
    "std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort\n"
    f"{_SEP}\nMSG: std_msgs/Header\n{_HEADER}"
)
_COMPRESSED_IMAGE = (
    f"std_msgs/Header header\nstring format\nuint8[] data\n{_SEP}\nMSG: std_msgs/Header\n{_HEADER}"
)
_STRING = "string data\n"


def _stamp(ns: int) -> dict[str, int]:
    return {"sec": int(ns // 1_000_000_000), "nanosec": int(ns % 1_000_000_000)}


def write_ros2_episode(ep: _Episode, path: Path) -> Path:
    """Write `ep` (a simulated sample episode) as a ROS 2 MCAP file at `path`; returns `path`.

    Messages are written in log-time order, as a recorder would; the log time equals the header
    stamp (a recorder that keeps up).
    """
    from mcap_ros2.writer import Writer

    from lerobot_nb.sources.sample import ACTION_NAMES, STATE_NAMES, _encode_jpeg

    messages: list[tuple[int, int, str, str, dict]] = []  # (time, tiebreak, topic, schema, msg)

    def joints(topic: str, names: tuple[str, ...], times: np.ndarray, values: np.ndarray) -> None:
        for i, (t, row) in enumerate(zip(times, values, strict=True)):
            msg = {
                "header": {"stamp": _stamp(int(t)), "frame_id": "base"},
                "name": list(names),
                "position": [float(v) for v in row],
                "velocity": [],
                "effort": [],
            }
            messages.append((int(t), i, topic, "joint", msg))

    def images(topic: str, frame_id: str, times: np.ndarray, frames: np.ndarray) -> None:
        for i, (t, rgb) in enumerate(zip(times, frames, strict=True)):
            msg = {
                "header": {"stamp": _stamp(int(t)), "frame_id": frame_id},
                "format": "jpeg",
                "data": _encode_jpeg(rgb),
            }
            messages.append((int(t), i, topic, "image", msg))

    joints("/joint_states", STATE_NAMES, ep.state.times_ns, ep.sim.state[ep.state.steps])
    joints("/joint_commands", ACTION_NAMES, ep.action.times_ns, ep.sim.action[ep.action.steps])
    images("/camera/top/image/compressed", "camera_top", ep.top.times_ns, ep.frames(ep.top, "top"))
    images("/camera/wrist/image/compressed", "camera_wrist", ep.wrist.times_ns, ep.frames(ep.wrist, "wrist"))
    start = int(ep.state.times_ns[0])
    for i in range(int(ep.sim.duration_s)):
        messages.append((start + i * 1_000_000_000, i, "/task", "string", {"data": ep.task}))
    messages.sort(key=lambda m: (m[0], m[2], m[1]))

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        writer = Writer(fh)
        schemas = {
            "joint": writer.register_msgdef("sensor_msgs/msg/JointState", _JOINT_STATE),
            "image": writer.register_msgdef("sensor_msgs/msg/CompressedImage", _COMPRESSED_IMAGE),
            "string": writer.register_msgdef("std_msgs/msg/String", _STRING),
        }
        for t, seq, topic, schema, msg in messages:
            writer.write_message(topic, schemas[schema], msg, log_time=t, publish_time=t, sequence=seq)
        writer.finish()
    return path
