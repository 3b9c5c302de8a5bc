"""ROS- and Foxglove-shaped messages (plain dicts) as Rerun rows, named like Rerun's MCAP importer.

Rerun's importer turns a CDR `sensor_msgs/msg/JointState` on topic `/js` into `/js` (CoordinateFrame)
plus `/js/position`, `/js/velocity`, `/js/effort` (Scalars + SeriesLines names), on the timelines
`message_log_time`, `message_publish_time` and `ros2_timestamp` (the header stamp). `message_rows`
gives the same entities, components and timelines for a message that arrived some other way (JSON
today), so the aligner and inspect cannot tell the two apart:

| message (schema name, or shape when the name is unknown) | entity: archetypes | extra timeline |
|---|---|---|
| `sensor_msgs/msg/JointState`, or `name` + `position` lists | topic: CoordinateFrame; topic/{position,velocity,effort}: Scalars + SeriesLines | ros2_timestamp |
| `std_msgs/msg/Float64MultiArray`, or a numeric `data` list | topic: Scalars | |
| `std_msgs/msg/String`, or a lone string `data` | topic: TextDocument | |
| `sensor_msgs/msg/Image` (rgb8, rgba8, bgr8, bgra8; mono8/mono16/16UC1/32FC1 as DepthImage) | topic: CoordinateFrame `<frame>_image_plane`, Image | ros2_timestamp |
| `sensor_msgs/msg/CompressedImage` (`h264` format: VideoStream) | topic: CoordinateFrame, EncodedImage | ros2_timestamp |
| `geometry_msgs/msg/PoseStamped`, or a `pose` / `position`+`orientation` object | topic: CoordinateFrame, InstancePoses3D | ros2_timestamp |
| `tf2_msgs/msg/TFMessage` | topic: one Transform3D row per transform | |
| `sensor_msgs/msg/CameraInfo` | topic: Pinhole | ros2_timestamp |
| `sensor_msgs/msg/Imu` | topic: CoordinateFrame, Scalars (gyroscope, accelerometer xyz) + static names | ros2_timestamp |
| `foxglove.CompressedImage` / `RawImage` / `CompressedVideo` (base64 `data`) | topic: CoordinateFrame, EncodedImage (+ media type) / Image / VideoStream | timestamp |
| `foxglove.PoseInFrame`, `FrameTransform(s)`, `CameraCalibration` | as the ROS equivalents | timestamp |
| anything else: numeric fields, lists and all-numeric objects | topic/<field path>: Scalars (+ SeriesLines keys) | ros2_timestamp / timestamp |

A `header.stamp` gives `ros2_timestamp`; a top-level `timestamp` `{sec, nsec}` gives `timestamp`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "LOG_TIME",
    "PUBLISH_TIME",
    "ROS2_TIME",
    "STAMP_TIME",
    "Row",
    "message_rows",
    "normalize_ros_name",
]

LOG_TIME = "message_log_time"
PUBLISH_TIME = "message_publish_time"
ROS2_TIME = "ros2_timestamp"
#: Foxglove schemas put their `.timestamp` field on this timeline (as Rerun does for protobuf ones).
STAMP_TIME = "timestamp"

Message = Mapping[str, Any]


@dataclass(frozen=True)
class Row:
    """One row of one entity: archetypes at timeline values (ns); no times = static."""

    entity: str
    times: tuple[tuple[str, int], ...]
    archetypes: tuple[Any, ...]


def normalize_ros_name(name: str) -> str:
    """`sensor_msgs/Image` (ROS 1 style, older rosbag2) -> `sensor_msgs/msg/Image`; others unchanged."""
    parts = name.split("/")
    return f"{parts[0]}/msg/{parts[1]}" if len(parts) == 2 and all(parts) else name


def message_rows(
    schema_name: str, topic: str, msg: Message, *, log_time: int | None, publish_time: int | None
) -> list[Row]:
    """The rows Rerun's importer would make of `msg` on `topic` (empty: nothing decodable).

    `log_time` / `publish_time` are the MCAP record times in ns; None leaves them out (a message
    without a clock, logged static when it has no other time either).
    """
    base = [(n, t) for n, t in ((LOG_TIME, log_time), (PUBLISH_TIME, publish_time)) if t is not None]
    name = normalize_ros_name(schema_name)
    handler = _BY_NAME.get(name)
    if handler is None:
        handler = _shaped_handler(msg)
    return handler(_Ctx(topic, msg, tuple(base)))


# -- message context and times -------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    topic: str
    msg: Message
    base: tuple[tuple[str, int], ...]

    def header_times(self) -> tuple[tuple[str, int], ...]:
        stamp = _stamp_ns(_get(self.msg, "header", "stamp"))
        return self.base if stamp is None else (*self.base, (ROS2_TIME, stamp))

    def stamp_times(self) -> tuple[tuple[str, int], ...]:
        stamp = _stamp_ns(self.msg.get("timestamp"))
        return self.base if stamp is None else (*self.base, (STAMP_TIME, stamp))

    def own_times(self) -> tuple[tuple[str, int], ...]:
        """Header stamp if there is one, else a Foxglove-style `timestamp`."""
        return self.header_times() if _get(self.msg, "header", "stamp") is not None else self.stamp_times()

    def row(self, times: tuple[tuple[str, int], ...], *archetypes: Any, suffix: str = "") -> Row:
        return Row(self.topic + suffix, times, archetypes)


def _get(msg: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(msg, Mapping):
            return None
        msg = msg.get(key)
    return msg


def _stamp_ns(stamp: Any) -> int | None:
    """ns of a ROS 2 `{sec, nanosec}`, Foxglove `{sec, nsec}` or ROS 1 `{secs, nsecs}` stamp."""
    if not isinstance(stamp, Mapping):
        return None
    for sec_key, ns_key in (("sec", "nanosec"), ("sec", "nsec"), ("secs", "nsecs")):
        if sec_key in stamp and ns_key in stamp:
            return int(stamp[sec_key]) * 1_000_000_000 + int(stamp[ns_key])
    return None


def _bytes(value: Any) -> bytes:
    """A `uint8[]` field: base64 text (Foxglove/JSON convention) or a list of ints."""
    if isinstance(value, str):
        return base64.b64decode(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return bytes(bytearray(value))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_numbers(v: Any) -> bool:
    return isinstance(v, list) and all(_is_number(x) for x in v)


# -- the message kinds -----------------------------------------------------------------------------


def _joint_state(c: _Ctx) -> list[Row]:
    import rerun as rr

    times = c.header_times()
    names = [str(n) for n in c.msg.get("name") or []]
    rows = [c.row(times, rr.CoordinateFrame(str(_get(c.msg, "header", "frame_id") or "")))]
    for field in ("position", "velocity", "effort"):
        values = np.asarray(c.msg.get(field) or [], dtype=np.float64)
        rows.append(c.row(times, rr.Scalars(values), rr.SeriesLines(names=names), suffix=f"/{field}"))
    return rows


def _multi_array(c: _Ctx) -> list[Row]:
    import rerun as rr

    # ROS's MultiArray has no stamp (log times only); a look-alike with a `timestamp` keeps it.
    return [c.row(c.own_times(), rr.Scalars(np.asarray(c.msg.get("data") or [], dtype=np.float64)))]


def _string(c: _Ctx) -> list[Row]:
    import rerun as rr

    return [c.row(c.own_times(), rr.TextDocument(str(c.msg.get("data", ""))))]


#: ROS image encodings -> (archetype, color model, channel datatype), as Rerun's importer maps them.
_IMAGE_ENCODINGS: dict[str, tuple[str, str | None, str]] = {
    "rgb8": ("Image", "RGB", "U8"),
    "rgba8": ("Image", "RGBA", "U8"),
    "bgr8": ("Image", "BGR", "U8"),
    "bgra8": ("Image", "BGRA", "U8"),
    "8uc3": ("Image", "RGB", "U8"),
    "mono8": ("DepthImage", "L", "U8"),
    "8uc1": ("DepthImage", "L", "U8"),
    "mono16": ("DepthImage", "L", "U16"),
    "16uc1": ("DepthImage", None, "U16"),
    "32fc1": ("DepthImage", None, "F32"),
}


def _raw_image(c: _Ctx, times: tuple[tuple[str, int], ...], frame: str) -> list[Row]:
    import rerun as rr

    encoding = str(c.msg.get("encoding", "")).lower()
    known = _IMAGE_ENCODINGS.get(encoding)
    if known is None:
        return []
    archetype, color_model, datatype = known
    fmt = rr.components.ImageFormat(
        width=int(c.msg["width"]),
        height=int(c.msg["height"]),
        color_model=color_model,  # type: ignore[arg-type]  # a name from the table above
        channel_datatype=datatype,  # type: ignore[arg-type]
    )
    cls = rr.Image if archetype == "Image" else rr.DepthImage
    image = cls.from_fields(buffer=_bytes(c.msg.get("data", b"")), format=fmt)
    return [c.row(times, rr.CoordinateFrame(f"{frame}_image_plane"), image)]


def _ros_image(c: _Ctx) -> list[Row]:
    return _raw_image(c, c.header_times(), str(_get(c.msg, "header", "frame_id") or ""))


def _media_type(fmt: str) -> str | None:
    fmt = fmt.lower()
    for word, media in (("jpeg", "image/jpeg"), ("jpg", "image/jpeg"), ("png", "image/png")):
        if word in fmt:
            return media
    return None


def _video_codec(fmt: str) -> Any:
    import rerun as rr

    fmt = fmt.lower()
    for word, codec in (("h264", "H264"), ("h265", "H265"), ("hevc", "H265"), ("av1", "AV1")):
        if word in fmt:
            return getattr(rr.VideoCodec, codec)
    return None


def _compressed(c: _Ctx, times: tuple[tuple[str, int], ...], frame: str, *, media: bool) -> list[Row]:
    import rerun as rr

    fmt = str(c.msg.get("format", ""))
    data = _bytes(c.msg.get("data", b""))
    codec = _video_codec(fmt)
    if codec is not None:
        return [c.row(times, rr.CoordinateFrame(f"{frame}_image_plane"), rr.VideoStream(codec, sample=data))]
    # Rerun names the media type for Foxglove images only; ROS CompressedImage rows carry none.
    image = rr.EncodedImage.from_fields(blob=data, media_type=_media_type(fmt) if media else None)
    return [c.row(times, rr.CoordinateFrame(f"{frame}_image_plane"), image)]


def _ros_compressed(c: _Ctx) -> list[Row]:
    return _compressed(c, c.header_times(), str(_get(c.msg, "header", "frame_id") or ""), media=False)


def _pose_archetype(pose: Any) -> Any:
    import rerun as rr

    p, q = pose.get("position") or {}, pose.get("orientation") or {}
    return rr.InstancePoses3D(
        translations=[[float(p.get(k, 0.0)) for k in "xyz"]],
        quaternions=[[float(q.get(k, 0.0 if k != "w" else 1.0)) for k in "xyzw"]],
    )


def _pose_stamped(c: _Ctx) -> list[Row]:
    import rerun as rr

    pose = c.msg.get("pose") if isinstance(c.msg.get("pose"), Mapping) else c.msg
    frame = str(_get(c.msg, "header", "frame_id") or c.msg.get("frame_id") or "")
    return [c.row(c.own_times(), rr.CoordinateFrame(frame), _pose_archetype(pose))]


def _transform(translation: Any, rotation: Any, parent: str, child: str) -> Any:
    import rerun as rr

    t, q = translation or {}, rotation or {}
    return rr.Transform3D(
        translation=[float(t.get(k, 0.0)) for k in "xyz"],
        quaternion=rr.Quaternion(xyzw=[float(q.get(k, 0.0 if k != "w" else 1.0)) for k in "xyzw"]),
        parent_frame=parent,
        child_frame=child,
    )


def _tf_message(c: _Ctx) -> list[Row]:
    rows = []
    for tf in c.msg.get("transforms") or []:
        tr = tf.get("transform") or {}
        parent = str(_get(tf, "header", "frame_id") or "")
        child = str(tf.get("child_frame_id", ""))
        rows.append(c.row(c.base, _transform(tr.get("translation"), tr.get("rotation"), parent, child)))
    return rows


def _pinhole(c: _Ctx, times: tuple[tuple[str, int], ...], frame: str, k: Any) -> list[Row]:
    import rerun as rr

    if not _is_numbers(k) or len(k) != 9:
        return []
    pinhole = rr.Pinhole(
        image_from_camera=np.asarray(k, dtype=np.float32).reshape(3, 3),
        resolution=[float(c.msg.get("width", 0)), float(c.msg.get("height", 0))],
        parent_frame=frame,
        child_frame=f"{frame}_image_plane",
    )
    return [c.row(times, pinhole)]


def _camera_info(c: _Ctx) -> list[Row]:
    frame = str(_get(c.msg, "header", "frame_id") or "")
    return _pinhole(c, c.header_times(), frame, c.msg.get("k", c.msg.get("K")))


_IMU_NAMES = [f"{part}/{axis}" for part in ("gyroscope", "accelerometer") for axis in "xyz"]


def _imu(c: _Ctx) -> list[Row]:
    import rerun as rr

    gyro, accel = c.msg.get("angular_velocity") or {}, c.msg.get("linear_acceleration") or {}
    values = [float(gyro.get(k, 0.0)) for k in "xyz"] + [float(accel.get(k, 0.0)) for k in "xyz"]
    frame = rr.CoordinateFrame(str(_get(c.msg, "header", "frame_id") or ""))
    # Rerun logs the series names once, static, beside the temporal gyroscope + accelerometer values.
    return [c.row(c.header_times(), frame, rr.Scalars(values)), c.row((), rr.SeriesLines(names=_IMU_NAMES))]


def _fox_compressed(c: _Ctx) -> list[Row]:
    return _compressed(c, c.stamp_times(), str(c.msg.get("frame_id", "")), media=True)


def _fox_raw(c: _Ctx) -> list[Row]:
    return _raw_image(c, c.stamp_times(), str(c.msg.get("frame_id", "")))


def _fox_transform(c: _Ctx, tf: Message) -> Row:
    parent, child = str(tf.get("parent_frame_id", "")), str(tf.get("child_frame_id", ""))
    return c.row(c.stamp_times(), _transform(tf.get("translation"), tf.get("rotation"), parent, child))


def _fox_transforms(c: _Ctx) -> list[Row]:
    items = c.msg.get("transforms")
    return [_fox_transform(c, tf) for tf in (items if isinstance(items, list) else [c.msg])]


def _fox_calibration(c: _Ctx) -> list[Row]:
    return _pinhole(c, c.stamp_times(), str(c.msg.get("frame_id", "")), c.msg.get("K"))


# -- shapes (schemas nobody maps) -----------------------------------------------------------------


def _numeric_leaves(msg: Any, path: str = "") -> Iterator[tuple[str, list[float], list[str]]]:
    """(path, values, names) of every number, numeric list and all-numeric object below `msg`."""
    for key, value in msg.items():
        if key in ("header", "timestamp") and not path:
            continue
        sub = f"{path}/{key}"
        if _is_number(value):
            yield sub, [float(value)], []
        elif _is_numbers(value):
            yield sub, [float(v) for v in value], []
        elif isinstance(value, Mapping) and value and all(_is_number(v) for v in value.values()):
            yield sub, [float(v) for v in value.values()], [str(k) for k in value]
        elif isinstance(value, Mapping):
            yield from _numeric_leaves(value, sub)


def _arrays(c: _Ctx) -> list[Row]:
    import rerun as rr

    times = c.own_times()
    rows = []
    for path, values, names in _numeric_leaves(c.msg):
        archetypes: tuple[Any, ...] = (rr.Scalars(np.asarray(values, dtype=np.float64)),)
        if names:
            archetypes += (rr.SeriesLines(names=names),)
        rows.append(c.row(times, *archetypes, suffix=path))
    return rows


def _shaped_handler(msg: Message) -> Callable[[_Ctx], list[Row]]:
    """The handler for a message whose schema name says nothing: judged by its fields."""
    keys = set(msg)
    data = msg.get("data")
    if isinstance(msg.get("name"), list) and _is_numbers(msg.get("position")):
        return _joint_state
    if isinstance(msg.get("pose"), Mapping) or {"position", "orientation"} <= keys:
        return _pose_stamped
    if "data" in keys and isinstance(msg.get("format"), str):
        return lambda c: _compressed(c, c.own_times(), _frame_of(c.msg), media=True)
    if "data" in keys and {"encoding", "width", "height"} <= keys:
        return lambda c: _raw_image(c, c.own_times(), _frame_of(c.msg))
    if _is_numbers(data) and keys - {"data", "layout", "header", "timestamp"} == set():
        return _multi_array
    if isinstance(data, str) and keys - {"data", "header", "timestamp"} == set():
        return _string
    return _arrays


def _frame_of(msg: Message) -> str:
    return str(_get(msg, "header", "frame_id") or msg.get("frame_id") or "")


_BY_NAME: dict[str, Callable[[_Ctx], list[Row]]] = {
    "sensor_msgs/msg/JointState": _joint_state,
    "std_msgs/msg/Float64MultiArray": _multi_array,
    "std_msgs/msg/String": _string,
    "sensor_msgs/msg/Image": _ros_image,
    "sensor_msgs/msg/CompressedImage": _ros_compressed,
    "geometry_msgs/msg/PoseStamped": _pose_stamped,
    "tf2_msgs/msg/TFMessage": _tf_message,
    "sensor_msgs/msg/CameraInfo": _camera_info,
    "sensor_msgs/msg/Imu": _imu,
    "foxglove.CompressedImage": _fox_compressed,
    "foxglove.RawImage": _fox_raw,
    "foxglove.CompressedVideo": _fox_compressed,
    "foxglove.PoseInFrame": _pose_stamped,
    "foxglove.FrameTransform": _fox_transforms,
    "foxglove.FrameTransforms": _fox_transforms,
    "foxglove.CameraCalibration": _fox_calibration,
}
