"""JSON-encoded MCAP channels: decoded into the entities Rerun's importer gives the CDR equivalents.

Expectations come from reading the raw messages with `mcap` + `json` here, never from the code
under test; the naming is checked against Rerun's own import of the same messages written as CDR.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fixture_files import fixture

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources import discover_recordings
from lerobot_nb.sources.mcap import convert_mcap, entity_rows

T0 = 1_700_000_000_000_000_000
LABELBOX = "real/labelbox_franka_mcap"


def raw_messages(path: Path) -> dict[str, list[tuple[int, int, dict[str, Any]]]]:
    """(log_time, publish_time, decoded JSON) per topic, straight from the file."""
    from mcap.reader import make_reader

    out: dict[str, list[tuple[int, int, dict[str, Any]]]] = {}
    with path.open("rb") as fh:
        for _, channel, msg in make_reader(fh).iter_messages():
            out.setdefault(channel.topic, []).append((msg.log_time, msg.publish_time, json.loads(msg.data)))
    return out


def rrd_table(rrd: Path) -> dict[str, dict[str, list[Any]]]:
    """Temporal rows per entity of an `.rrd`: column name -> values, rows in time order."""
    import pyarrow as pa
    import rerun.chunk as rrc

    batches: dict[str, list[pa.RecordBatch]] = {}
    for chunk in rrc.RrdReader(rrd).stream():
        if not chunk.is_static:
            batches.setdefault(str(chunk.entity_path), []).append(chunk.to_record_batch())
    out = {}
    for entity, parts in batches.items():
        table = pa.Table.from_batches(parts).drop_columns(["rerun.controls.RowId"])
        if "message_log_time" in table.column_names:
            table = table.sort_by("message_log_time")
        # Timelines as int64 ns (to_pylist would round them to microseconds).
        out[entity] = {
            c: (table[c].cast(pa.int64()) if pa.types.is_timestamp(table[c].type) else table[c]).to_pylist()
            for c in table.column_names
        }
    return out


def _ns(ts: int) -> int:
    return ts


def _stamp(s: dict[str, int]) -> int:
    return s["sec"] * 1_000_000_000 + s.get("nanosec", s.get("nsec", 0))


# -- the real Labelbox Franka recordings ----------------------------------------------------------


@pytest.fixture(scope="module")
def labelbox(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    cache = tmp_path_factory.mktemp("cache")
    files = sorted(fixture(LABELBOX).glob("*.mcap"))
    assert len(files) == 4
    return {f: convert_mcap([f], episode_id=f.stem, source=f, cache_dir=cache).rrd for f in files}


def test_labelbox_joint_states_are_the_json_numbers(labelbox: dict[Path, Path]) -> None:
    for mcap, rrd in labelbox.items():
        raw = raw_messages(mcap)["/joint_states"]
        table = rrd_table(rrd)
        for field in ("position", "velocity", "effort"):
            got = table[f"/joint_states/{field}"]
            assert got["Scalars:scalars"] == [m[field] for _, _, m in raw]
            assert got["SeriesLines:names"] == [m["name"] for _, _, m in raw]
            assert [_ns(t) for t in got["ros2_timestamp"]] == [
                _stamp(m["header"]["stamp"]) for _, _, m in raw
            ]
            assert [_ns(t) for t in got["message_log_time"]] == [t for t, _, _ in raw]
            assert [_ns(t) for t in got["message_publish_time"]] == [p for _, p, _ in raw]
        assert table["/joint_states"]["CoordinateFrame:frame"] == [
            [m["header"]["frame_id"]] for _, _, m in raw
        ]


def test_labelbox_custom_messages_become_scalars(labelbox: dict[Path, Path]) -> None:
    for mcap, rrd in labelbox.items():
        raw = raw_messages(mcap)
        table = rrd_table(rrd)
        # labelbox_robotics.Action {timestamp, data[7]}: Float64MultiArray-shaped -> the topic itself.
        assert table["/action"]["Scalars:scalars"] == [m["data"] for _, _, m in raw["/action"]]
        assert [_ns(t) for t in table["/action"]["timestamp"]] == [
            _stamp(m["timestamp"]) for _, _, m in raw["/action"]
        ]
        # labelbox_robotics.RobotState: every numeric field on its own entity.
        for field in ("joint_positions", "joint_velocities", "cartesian_position", "gripper_position"):
            want = [v if isinstance(v, list) else [v] for v in (m[field] for _, _, m in raw["/robot_state"])]
            assert table[f"/robot_state/{field}"]["Scalars:scalars"] == want


def test_labelbox_static_at_log_time_zero_and_named_empty_channels(tmp_path: Path) -> None:
    # 003442: /robot_description and /tf_static only at log_time 0, /tf has one message at 0.
    mcap = fixture(LABELBOX) / "trajectory_20250527_003442_00m02s.mcap"
    raw = raw_messages(mcap)
    assert [t for t, _, _ in raw["/robot_description"]] == [0] and [t for t, _, _ in raw["/tf_static"]] == [0]
    done = convert_mcap([mcap], episode_id="e", source=mcap, cache_dir=tmp_path)
    assert done.notes == (
        "channel /tf (tf2_msgs/msg/TFMessage, json): 1 message(s) with log_time 0 (no clock) in a "
        "recording on a wall clock were left out",
        f"channel /vr_controller (labelbox_robotics.VRController, json): {len(raw['/vr_controller'])} "
        "message(s), no rows after import (no field could be decoded)",
    )
    rows = {(e, tuple(c)): n for e, n, c in entity_rows(done.rrd)}
    assert rows[("/robot_description", ("TextDocument:text",))] == 1
    table = rrd_table(done.rrd)
    assert "/robot_description" not in table  # static, not at 1970
    timed_tf = [m for t, _, m in raw["/tf"] if t > 0]
    assert len(table["/tf"]["Transform3D:child_frame"]) == sum(len(m["transforms"]) for m in timed_tf)
    assert min(_ns(t) for t in table["/tf"]["message_log_time"]) > 0


@pytest.mark.slow
def test_labelbox_inspect_and_convert(tmp_path: Path) -> None:
    """The CLI end to end: 4 episodes, their streams and counts, and a dataset lerobot loads whose
    state is the brute-force latest-at of the JSON positions on the 10 fps log-time grid."""
    import os
    import shutil
    import subprocess
    import sys

    from lerobot.datasets import LeRobotDataset

    folder = tmp_path / "in"
    shutil.copytree(fixture(LABELBOX), folder)
    env_cmd = [sys.executable, "-m", "lerobot_nb.cli.main"]
    env = {**os.environ, "LEROBOT_NB_CACHE": str(tmp_path / "cache")}
    out = subprocess.run(
        [*env_cmd, "inspect", str(folder), "--json"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    files = sorted(folder.glob("*.mcap"))
    assert [e["episode"] for e in report["episodes"]] == [f.stem for f in files]
    assert "warning: " in out.stderr and "/vr_controller" in out.stderr  # the empty channel, named
    counts = {(s["episode"], s["stream"]): s["count"] for s in report["streams"]}
    raws = {f.stem: raw_messages(f) for f in files}
    for ep, raw in raws.items():
        assert counts[(ep, "/joint_states/position:Scalars:scalars")] == len(raw["/joint_states"])
        assert counts[(ep, "/action:Scalars:scalars")] == len(raw["/action"])

    dataset = tmp_path / "ds"
    flags = ["--fps", "10", "--index", "message_log_time", "--state-path", "/joint_states/position"]
    flags += ["--action-path", "/action", "--task-path", "", "--task", "bench session", "--no-progress"]
    out = subprocess.run(
        [*env_cmd, "convert", str(folder), "--output", str(dataset), *flags],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "/vr_controller" in out.stderr
    ds = LeRobotDataset("local/labelbox", root=dataset, video_backend="pyav")
    assert ds.num_episodes == 4
    i = 0
    for ep_index, raw in enumerate(raws.values()):
        js = [(t, m["position"]) for t, _, m in raw["/joint_states"]]
        act = [(t, m["data"]) for t, _, m in raw["/action"]]
        start, end = max(js[0][0], act[0][0]), min(js[-1][0], act[-1][0])
        ticks = range(start, end + 1, 100_000_000)
        assert ds.meta.episodes[ep_index]["length"] == len(ticks)
        for tick in ticks:
            item = ds[i]
            want_state = next(v for t, v in reversed(js) if t <= tick)
            want_action = next(v for t, v in reversed(act) if t <= tick)
            np.testing.assert_array_equal(item["observation.state"].numpy(), np.float32(want_state))
            np.testing.assert_array_equal(item["action"].numpy(), np.float32(want_action))
            assert item["task"] == "bench session"
            i += 1
    assert ds.num_frames == i


# -- generated JSON MCAPs ---------------------------------------------------------------------


def _rgb(i: int, h: int = 4, w: int = 6) -> np.ndarray:
    return ((np.arange(h * w * 3) * 5 + i * 11) % 256).astype(np.uint8).reshape(h, w, 3)


def _messages() -> list[tuple[str, str, int, dict[str, Any]]]:
    """(topic, ROS 2 type, log time, message as a dict with bytes) of one small robot episode."""
    out = []
    for i in range(3):
        t = T0 + i * 100_000_000
        header = {"stamp": {"sec": t // 10**9, "nanosec": t % 10**9 - 1000 if i else 0}, "frame_id": "base"}
        cam = dict(header, frame_id="cam")
        out += [
            ("/joint_states", "sensor_msgs/msg/JointState", t, {"header": header, "name": ["a", "b"], "position": [1.0 + i, -2.5], "velocity": [], "effort": [0.5, 0.25]}),
            ("/action", "std_msgs/msg/Float64MultiArray", t + 7, {"layout": {"dim": [], "data_offset": 0}, "data": [0.5 * i, 1.5]}),
            ("/task", "std_msgs/msg/String", t, {"data": f"pick {i}"}),
            ("/cam/raw", "sensor_msgs/msg/Image", t, {"header": cam, "height": 4, "width": 6, "encoding": "rgb8", "is_bigendian": 0, "step": 18, "data": _rgb(i).tobytes()}),
            ("/cam/bgr", "sensor_msgs/msg/Image", t, {"header": cam, "height": 4, "width": 6, "encoding": "bgr8", "is_bigendian": 0, "step": 18, "data": _rgb(i).tobytes()}),
            ("/cam/jpeg", "sensor_msgs/msg/CompressedImage", t, {"header": cam, "format": "jpeg", "data": b"\xff\xd8\xff\xe0" + bytes([i]) * 9}),
            ("/pose", "geometry_msgs/msg/PoseStamped", t, {"header": dict(header, frame_id="world"), "pose": {"position": {"x": 1.0 * i, "y": 2.0, "z": 3.0}, "orientation": {"x": 0.0, "y": 0.0, "z": 0.6, "w": 0.8}}}),
            ("/tf", "tf2_msgs/msg/TFMessage", t, {"transforms": [{"header": dict(header, frame_id="world"), "child_frame_id": c, "transform": {"translation": {"x": 1.0 * i, "y": 0.0, "z": 0.5}, "rotation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}} for c in ("ee", "cam")]}),
        ]  # fmt: skip
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def write_json_mcap(path: Path, messages: list[tuple[str, str, int, dict[str, Any]]]) -> Path:
    """The messages as JSON (bytes as base64, as Foxglove writes them) with `mcap`'s writer."""
    from mcap.writer import Writer

    with path.open("wb") as fh:
        writer = Writer(fh)
        writer.start()
        schemas: dict[str, int] = {}
        channels: dict[str, int] = {}
        for topic, typ, t, msg in messages:
            if typ not in schemas:
                schemas[typ] = writer.register_schema(
                    name=typ, encoding="jsonschema", data=b'{"type": "object"}'
                )
            if topic not in channels:
                channels[topic] = writer.register_channel(
                    topic=topic, message_encoding="json", schema_id=schemas[typ]
                )
            writer.add_message(
                channels[topic], log_time=t, publish_time=t + 3, data=json.dumps(_jsonable(msg)).encode()
            )
        writer.finish()
    return path


def write_cdr_mcap(path: Path, messages: list[tuple[str, str, int, dict[str, Any]]]) -> Path:
    """The same messages as ROS 2 CDR (mcap-ros2-support's writer, rosbags' message definitions)."""
    from mcap_ros2.writer import Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    with path.open("wb") as fh:
        writer = Writer(fh)
        schemas: dict[str, Any] = {}
        for topic, typ, t, msg in messages:
            if typ not in schemas:
                schemas[typ] = writer.register_msgdef(typ, store.generate_msgdef(typ, ros_version=2)[0])
            writer.write_message(topic, schemas[typ], msg, log_time=t, publish_time=t + 3)
        writer.finish()
    return path


def test_json_channels_match_rerun_import_of_the_same_cdr(tmp_path: Path) -> None:
    """Entities, components, timelines and values of every mapped type are exactly what Rerun's
    importer makes of the CDR twin, so the aligner and inspect cannot tell JSON from CDR."""
    import rerun.chunk as rrc

    messages = _messages()
    cdr = write_cdr_mcap(tmp_path / "cdr.mcap", messages)
    reference = tmp_path / "cdr.rrd"
    rrc.McapReader(cdr).stream().write_rrd(reference, application_id="t", recording_id="cdr")
    done = convert_mcap(
        [write_json_mcap(tmp_path / "j.mcap", messages)], episode_id="j", source=cdr, cache_dir=tmp_path
    )
    assert done.notes == ()
    want, got = rrd_table(reference), rrd_table(done.rrd)
    assert set(got) == set(want)
    for entity in got:
        assert got[entity] == want[entity], entity
    assert set(got) >= {"/joint_states/position", "/cam/raw", "/cam/jpeg", "/pose", "/tf", "/task", "/action"}


def test_foxglove_json_images_and_raw_pixels(tmp_path: Path) -> None:
    jpeg = [b"\xff\xd8\xff\xe0" + bytes([i]) * 20 for i in range(3)]
    fox = [
        ("/front", "foxglove.CompressedImage", T0 + i * 10**8, {"timestamp": {"sec": (T0 + i * 10**8) // 10**9, "nsec": i * 10**8}, "frame_id": "front", "format": "jpeg", "data": jpeg[i]})
        for i in range(3)
    ] + [
        ("/raw", "foxglove.RawImage", T0 + i * 10**8, {"timestamp": {"sec": T0 // 10**9, "nsec": i}, "frame_id": "r", "width": 6, "height": 4, "encoding": "rgb8", "step": 18, "data": _rgb(i).tobytes()})
        for i in range(3)
    ]  # fmt: skip
    done = convert_mcap(
        [write_json_mcap(tmp_path / "f.mcap", fox)], episode_id="f", source=tmp_path, cache_dir=tmp_path
    )
    table = rrd_table(done.rrd)
    assert table["/front"]["EncodedImage:blob"] == [[list(b)] for b in jpeg]
    assert table["/front"]["EncodedImage:media_type"] == [["image/jpeg"]] * 3
    assert table["/front"]["CoordinateFrame:frame"] == [["front_image_plane"]] * 3
    assert [_ns(t) for t in table["/front"]["timestamp"]] == [T0 + i * 10**8 for i in range(3)]
    for i, buf in enumerate(table["/raw"]["Image:buffer"]):
        np.testing.assert_array_equal(np.asarray(buf[0], np.uint8).reshape(4, 6, 3), _rgb(i))
    assert table["/raw"]["Image:format"][0][0] | {"pixel_format": None} == {
        "width": 6, "height": 4, "pixel_format": None, "color_model": 2, "channel_datatype": 6,
    }  # fmt: skip


def test_lichtblick_json_camera_decodes(tmp_path: Path) -> None:
    mcap = fixture("mcap/lichtblick_custom-camera-model.mcap")
    raw = raw_messages(mcap)["/image/compressed"]
    done = convert_mcap([mcap], episode_id="l", source=mcap, cache_dir=tmp_path)
    table = rrd_table(done.rrd)
    assert table["/image/compressed"]["EncodedImage:blob"] == [
        [list(base64.b64decode(m["data"]))] for _, _, m in raw
    ]
    assert table["/camera_calibration"]["Pinhole:resolution"][0] == [[640.0, 480.0]]


def test_channel_without_rows_is_named_and_nothing_decodable_is_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from mcap.writer import Writer

    def write(path: Path, with_robot: bool) -> Path:
        with path.open("wb") as fh:
            w = Writer(fh)
            w.start()
            flags = w.register_channel("/flags", "json", w.register_schema("my.Flags", "jsonschema", b"{}"))
            blob = w.register_channel("/blob", "cbor", 0)
            js = w.register_channel(
                "/js", "json", w.register_schema("sensor_msgs/msg/JointState", "jsonschema", b"{}")
            )
            for i in range(4):
                w.add_message(flags, T0 + i, json.dumps({"ok": True, "label": "x"}).encode(), T0 + i)
                w.add_message(blob, T0 + i, b"\xa1\x61a\x01", T0 + i)
                if with_robot:
                    w.add_message(
                        js, T0 + i, json.dumps({"name": ["j"], "position": [float(i)]}).encode(), T0 + i
                    )
            w.finish()
        return path

    good = write(tmp_path / "good.mcap", with_robot=True)
    with caplog.at_level(logging.WARNING, logger="lerobot_nb.sources"):
        recs = discover_recordings([good], cache_dir=tmp_path / "cache")
    assert recs[0].notes == (
        "channel /flags (my.Flags, json): 4 message(s), no rows after import (no field could be decoded)",
        "channel /blob (no schema, cbor): 4 message(s), no rows after import (Rerun does not decode "
        "cbor-encoded messages)",
    )
    assert [r.getMessage() for r in caplog.records] == [
        f"warning: {good.resolve()}: {n}" for n in recs[0].notes
    ]
    bad = write(tmp_path / "bad.mcap", with_robot=False)
    with pytest.raises(LerobotNbError) as err:
        discover_recordings([bad], cache_dir=tmp_path / "cache")
    assert str(err.value) == (
        f"{bad}: MCAP has no decodable robot streams (no Scalars, images or video after import; channels: "
        "/flags (my.Flags, json), /blob (no schema, cbor), /js (sensor_msgs/msg/JointState, json))"
    )
