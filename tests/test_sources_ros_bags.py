"""ROS bags and per-message-compressed ROS 2 MCAP, end to end.

Bags are written by `rosbags`' own writers (tests/ros_fixtures.py); expectations are the raw
messages as written, looked up by brute force; amber's pixels are its own zstd frames decoded
with `zstandard` + `mcap-ros2-support` here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fixture_files import fixture
from ros_fixtures import JOINTS, BagContent, image_pixels, write_bag

from lerobot_nb.align import AlignConfig, iter_aligned
from lerobot_nb.cli import main as lerobot_nb_main
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.server import open_recordings
from lerobot_nb.sources import discover_recordings
from lerobot_nb.sources.formats import format_of
from lerobot_nb.sources.mcap import entity_rows

AMBER = "real/amber_soccer_goal_mcap_fragment"
FPS = 5


def _amber_raw() -> list[tuple[int, dict]]:  # type: ignore[type-arg]
    """(log time, decoded sensor_msgs/Image) of amber's messages, decompressed and decoded here."""
    import zstandard
    from mcap.reader import make_reader
    from mcap_ros2._dynamic import generate_dynamic

    out = []
    with (fixture(AMBER) / "soccer_goal_12.mcap").open("rb") as fh:
        for schema, _, msg in make_reader(fh).iter_messages():
            decode = generate_dynamic("sensor_msgs/msg/Image", schema.data.decode())["sensor_msgs/msg/Image"]
            cdr = zstandard.ZstdDecompressor().decompressobj().decompress(msg.data)
            out.append((msg.log_time, decode(cdr)))
    return out


def _rrd_images(rrd: Path, entity: str) -> list[np.ndarray]:
    import rerun.chunk as rrc

    frames = []
    for chunk in rrc.RrdReader(rrd).stream():
        if str(chunk.entity_path) == entity and not chunk.is_static:
            batch = chunk.to_record_batch()
            for buf, fmt in zip(
                batch["Image:buffer"].to_pylist(), batch["Image:format"].to_pylist(), strict=True
            ):
                frames.append(np.asarray(buf[0], np.uint8).reshape(fmt[0]["height"], fmt[0]["width"], 3))
    return frames


@pytest.mark.parametrize("as_folder", [False, True], ids=["mcap_file", "rosbag2_folder"])
def test_amber_per_message_zstd_images_decode(as_folder: bool, tmp_path: Path) -> None:
    raw = _amber_raw()
    assert [m.encoding for _, m in raw] == ["rgb8", "rgb8"] and [(m.height, m.width) for _, m in raw] == [
        (480, 640)
    ] * 2
    path = fixture(AMBER) if as_folder else fixture(AMBER) / "soccer_goal_12.mcap"
    (rec,) = discover_recordings([path], cache_dir=tmp_path)
    frames = _rrd_images(rec.rrd, "/camera/image_raw")
    assert len(frames) == 2
    for frame, (_, msg) in zip(frames, raw, strict=True):
        np.testing.assert_array_equal(frame, np.frombuffer(bytes(msg.data), np.uint8).reshape(480, 640, 3))
    if as_folder:  # metadata.yaml lists 13 splits; only the last is in the fixture
        assert rec.episode_id == "amber_soccer_goal_mcap_fragment" and rec.format == "rosbag2"
        assert rec.notes == (
            "metadata.yaml lists 13 storage files, 12 missing (soccer_goal_0.mcap, soccer_goal_1.mcap, "
            "soccer_goal_2.mcap, ...): converted the 1 present",
        )
    else:
        assert rec.notes == () and rec.format == "mcap"


def test_amber_aligns_on_its_header_stamps(tmp_path: Path) -> None:
    raw = _amber_raw()
    config = AlignConfig(
        fps=30,
        index="ros2_timestamp",
        action_path=None,
        state_path=None,
        task_path=None,
        task="goal",
        image=("cam:/camera/image_raw:raw",),
    )
    with open_recordings(fixture(AMBER) / "soccer_goal_12.mcap", cache_dir=str(tmp_path)) as server:
        (ep,) = list(iter_aligned(server, config))
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for _, m in raw]
    assert ep.length == len(range(stamps[0], stamps[-1] + 1, 33_333_333))
    first = next(iter(ep.images["cam"]))
    np.testing.assert_array_equal(first, np.frombuffer(bytes(raw[0][1].data), np.uint8).reshape(480, 640, 3))


# -- bags written by rosbags ---------------------------------------------------------------------


def _latest(times: list[int], values: list, ticks: np.ndarray) -> list:  # type: ignore[type-arg]
    """Brute force: the last value whose time is <= each tick."""
    return [values[max(i for i, t in enumerate(times) if t <= tick)] for tick in ticks]


def _grid(content: BagContent, topics: list[str]) -> np.ndarray:
    start = max(content.times[t][0] for t in topics)
    end = min(content.times[t][-1] for t in topics)
    return np.arange(start, end + 1, 1_000_000_000 // FPS, dtype=np.int64)


BAG_KINDS = ["bag", "db3", "mcap"]


def _write(kind: str, folder: Path) -> tuple[Path, BagContent]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("robot.bag" if kind == "bag" else f"robot_{kind}")
    return path, write_bag(path, kind)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", BAG_KINDS)
def test_bags_are_detected_and_cover_every_message(kind: str, tmp_path: Path) -> None:
    path, content = _write(kind, tmp_path)
    fmt = format_of(path)
    assert fmt is not None and fmt.name == ("bag" if kind == "bag" else "rosbag2")
    (rec,) = discover_recordings([tmp_path], cache_dir=tmp_path / "cache")  # the folder is one recording
    assert rec.episode_id == path.stem and rec.notes == ()
    rows = {e: n for e, n, cols in entity_rows(rec.rrd) if any(not c.startswith("Mcap") for c in cols)}
    n = {t: len(v) for t, v in content.times.items()}
    assert rows == {
        "/__mcap_properties": 1,
        "/joint_states": n["/joint_states"],
        "/joint_states/position": n["/joint_states"],
        "/joint_states/velocity": n["/joint_states"],
        "/joint_states/effort": n["/joint_states"],
        "/action": n["/action"],
        "/camera/image_raw": n["/camera/image_raw"],
        "/camera/image/compressed": n["/camera/image/compressed"],
        "/task": n["/task"],
    }


@pytest.mark.parametrize("kind", ["db3", "mcap"])
def test_bare_storage_file_of_a_rosbag2_folder(kind: str, tmp_path: Path) -> None:
    """A `.db3` / `.mcap` taken out of its rosbag2 folder is a recording of its own."""
    path, content = _write(kind, tmp_path / "bag")
    loose = tmp_path / f"loose.{kind}"
    shutil.copy(next(path.glob(f"*.{kind}")), loose)
    (rec,) = discover_recordings([loose], cache_dir=tmp_path / "cache")
    assert rec.format == kind and rec.episode_id == "loose"
    rows = {e: n for e, n, _ in entity_rows(rec.rrd)}
    assert rows["/joint_states/position"] == len(content.times["/joint_states"])
    assert rows["/camera/image_raw"] == len(content.times["/camera/image_raw"])


def test_bag_is_converted_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rosbags.convert.converter as conv

    path, _ = _write("bag", tmp_path)
    cache = tmp_path / "cache"
    (first,) = discover_recordings([path], cache_dir=cache)
    monkeypatch.setattr(conv, "convert", lambda *a, **k: pytest.fail("converted again"))
    (again,) = discover_recordings([path], cache_dir=cache)
    assert again.rrd == first.rrd


def test_unreadable_bag_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.bag"
    bad.write_bytes(b"#ROSBAG V2.0\n" + b"\0" * 100)
    with pytest.raises(LerobotNbError) as err:
        discover_recordings([bad], cache_dir=tmp_path / "cache")
    assert str(err.value).startswith(f"{bad}: cannot read the bag (") and "\n" not in str(err.value)


@pytest.mark.slow
@pytest.mark.parametrize("kind", BAG_KINDS)
def test_bag_converts_to_a_dataset_equal_to_latest_at(kind: str, tmp_path: Path) -> None:
    """`lerobot-nb convert` on the bag; lerobot loads the dataset; every value is the brute-force
    latest-at of the raw messages on the 5 fps grid of receive times."""
    from lerobot.datasets import LeRobotDataset

    path, content = _write(kind, tmp_path / "in")
    out = tmp_path / "ds"
    flags = ["--fps", str(FPS), "--index", "message_log_time", "--state-path", "/joint_states/position"]
    flags += ["--action-path", "/action", "--task-path", "/task", "--image", "raw:/camera/image_raw:raw"]
    flags += [
        "--image",
        "jpeg:/camera/image/compressed:compressed",
        "--no-progress",
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    assert lerobot_nb_main.main(["convert", str(path), "--output", str(out), *flags]) == 0

    ticks = _grid(content, ["/joint_states", "/action", "/camera/image_raw", "/camera/image/compressed"])
    ds = LeRobotDataset("local/bag", root=out, video_backend="pyav")
    assert ds.num_episodes == 1 and ds.num_frames == len(ticks)
    info = json.loads((out / "meta/info.json").read_text())
    assert info["features"]["observation.state"]["names"] == list(JOINTS)
    state = _latest(content.times["/joint_states"], content.values["/joint_states"], ticks)
    action = _latest(content.times["/action"], content.values["/action"], ticks)
    task = _latest(content.times["/task"], content.values["/task"], ticks)
    raw = _latest(
        content.times["/camera/image_raw"], list(range(len(content.times["/camera/image_raw"]))), ticks
    )
    for k in range(len(ticks)):
        item = ds[k]
        np.testing.assert_array_equal(item["observation.state"].numpy(), np.float32(state[k]))
        np.testing.assert_array_equal(item["action"].numpy(), np.float32(action[k]))
        assert item["task"] == task[k]
        got = (item["observation.images.raw"].numpy().transpose(1, 2, 0) * 255).round()
        # Video is lossy: the decoded frame is close to the latest-at frame, and far from its neighbours.
        err = {
            i: np.abs(got - image_pixels(i)).mean() for i in range(len(content.times["/camera/image_raw"]))
        }
        second = sorted(err.values())[1]
        assert min(err, key=err.__getitem__) == raw[k] and err[raw[k]] < second / 1.5, (k, err)

    # The aligned raw frames themselves (before video encoding) are the written pixels exactly.
    config = AlignConfig(
        fps=FPS,
        index="message_log_time",
        action_path="/action",
        state_path="/joint_states/position",
        task_path="/task",
        image=("raw:/camera/image_raw:raw",),
    )
    with open_recordings(path, cache_dir=str(tmp_path / "c")) as server:
        (ep,) = list(iter_aligned(server, config))
    for k, frame in enumerate(ep.images["raw"]):
        np.testing.assert_array_equal(frame, image_pixels(raw[k]))
