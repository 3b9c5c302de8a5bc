"""A recording shaped like prismax's rig: a ROS 2 MCAP of joint states, cameras saved as mp4 files beside it.

`write_sidecar_recording(folder, "ep0")` writes `folder/ep0.mcap` (leader and follower
`sensor_msgs/JointState` at ~48.5 Hz with timing jitter) and
`folder/ep0/robot.<camera>.color.image_raw.mp4` (H.264 with B-frames, pts from 0, 30 fps), each
frame carrying its own number in a row of black/white blocks (`read_frame_number`), so tests can
check which video frame a tick got after any encoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from lerobot_nb.sources.sample_mcap import _JOINT_STATE, _stamp
from lerobot_nb.units import NS_PER_S

__all__ = ["SidecarTruth", "read_frame_number", "write_sidecar_recording"]

_BITS = 12
_BLOCK = 8
JOINTS = ("shoulder_pan", "shoulder_lift", "elbow", "wrist", "gripper")


@dataclass(frozen=True)
class SidecarTruth:
    """What was written: joint sample times (ns) and values per topic, video frames per camera."""

    mcap: Path
    joint_times: dict[str, np.ndarray]
    joint_values: dict[str, np.ndarray]
    video_frames: dict[str, int]
    video_fps: int


def _frame(number: int, height: int, width: int) -> np.ndarray:
    """An RGB frame whose top row of blocks spells `number` in binary (white = 1), grey below."""
    frame = np.full((height, width, 3), 96, np.uint8)
    for bit in range(_BITS):
        on = (number >> bit) & 1
        frame[:_BLOCK, bit * _BLOCK : (bit + 1) * _BLOCK] = 255 if on else 0
    frame[_BLOCK:, :] = (number * 7) % 200 + 30
    return frame


def read_frame_number(frame: np.ndarray) -> int:
    """The number `_frame` wrote into `frame` (robust to lossy encoding: each block's mean decides)."""
    blocks = [frame[:_BLOCK, b * _BLOCK : (b + 1) * _BLOCK].mean() > 128 for b in range(_BITS)]
    return sum(int(on) << bit for bit, on in enumerate(blocks))


def _write_video(path: Path, frames: int, fps: int, height: int, width: int) -> None:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "12", "x264-params": "bframes=2:keyint=15:scenecut=0"}
        for i in range(frames):
            picture = av.VideoFrame.from_ndarray(_frame(i, height, width), format="rgb24")
            picture.pts = i
            picture.time_base = Fraction(1, fps)
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _joint_messages(
    topic: str, times: np.ndarray, values: np.ndarray
) -> list[tuple[int, str, dict[str, object]]]:
    return [
        (
            int(t),
            topic,
            {
                "header": {"stamp": _stamp(int(t)), "frame_id": "base"},
                "name": list(JOINTS),
                "position": [float(v) for v in row],
                "velocity": [],
                "effort": [],
            },
        )
        for t, row in zip(times, values, strict=True)
    ]


def write_sidecar_recording(
    folder: str | Path,
    episode: str = "ep0",
    *,
    seconds: float = 3.0,
    hz: float = 48.5,
    video_fps: int = 30,
    cameras: tuple[str, ...] = ("front",),
    start_ns: int = 1_769_668_975_000_000_000,
    seed: int = 0,
) -> SidecarTruth:
    """Write the MCAP and its camera files (see the module docstring); returns what was written."""
    from mcap_ros2.writer import Writer

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    n = int(seconds * hz)
    period = NS_PER_S / hz
    times = start_ns + np.round(np.arange(n) * period + rng.uniform(-0.1, 0.1, n) * period).astype(np.int64)
    times = np.sort(times)
    topics = {role: f"/robot/arm_{role}/joint_states" for role in ("lead", "follow")}
    values = {t: np.cumsum(rng.normal(0, 0.01, (n, len(JOINTS))), axis=0) for t in topics.values()}
    messages = sorted(m for topic in topics.values() for m in _joint_messages(topic, times, values[topic]))
    mcap = folder / f"{episode}.mcap"
    folder.mkdir(parents=True, exist_ok=True)
    with mcap.open("wb") as fh:
        writer = Writer(fh)
        schema = writer.register_msgdef("sensor_msgs/msg/JointState", _JOINT_STATE)
        for t, topic, msg in messages:
            writer.write_message(topic, schema, msg, log_time=t, publish_time=t)
        writer.finish()
    frames = int(seconds * video_fps)
    for camera in cameras:
        _write_video(folder / episode / f"robot.{camera}.color.image_raw.mp4", frames, video_fps, 64, 8 * 14)
    return SidecarTruth(
        mcap, {t: times for t in topics.values()}, values, dict.fromkeys(cameras, frames), video_fps
    )
