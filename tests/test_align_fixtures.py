"""The shared fixtures (.rrd and ROS 2 / Foxglove MCAP) aligned end to end, counts checked exactly."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path, PurePath

import numpy as np
import pytest
from align_recordings import brute_latest, expected_ticks
from fixture_files import fixture, fixture_names

from lerobot_nb.align import AlignConfig, AlignedEpisode, align_episode, iter_aligned
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.query import read_streams
from lerobot_nb.server import RecordingServer, ServerConfig

RRD_CONFIG = AlignConfig(
    fps=10,
    state_path="/observation/joint_positions",
    image=("raw:/camera/raw:raw", "jpeg:/camera/jpeg:compressed", "video:/camera/video:video"),
)
RRD_ENTITIES = ("/action", "/observation/joint_positions", "/camera/raw", "/camera/jpeg", "/camera/video")


def raw_times_from_file(rrd: Path, entities: tuple[str, ...], timeline: str) -> dict[str, np.ndarray]:
    """Sample times per entity read straight from the file's chunks (no server involved)."""
    import pyarrow as pa
    import rerun.chunk as rrc

    out: dict[str, list[int]] = {e: [] for e in entities}
    for chunk in rrc.RrdReader(rrd).stream().to_chunks():
        batch = chunk.to_record_batch()
        if str(chunk.entity_path) in out and timeline in batch.schema.names:
            out[str(chunk.entity_path)] += batch.column(timeline).cast(pa.int64()).to_pylist()
    return {e: np.sort(np.array(t, dtype=np.int64)) for e, t in out.items()}


@pytest.mark.parametrize("name", fixture_names("rrd", "*.rrd"), ids=lambda n: PurePath(n).stem)
def test_shared_rrd_fixtures_at_10_fps_give_the_expected_tick_count(
    fixture_server: RecordingServer, name: str
) -> None:
    rrd = fixture(name)
    times = raw_times_from_file(rrd, RRD_ENTITIES, "real_time")
    start = max(int(t[0]) for t in times.values())
    end = min(int(t[-1]) for t in times.values())
    count = (end - start) // 100_000_000 + 1  # 1e9 / 10 fps is a whole number of ns
    assert count == 40  # 30 Hz action, 50 Hz state, 15 Hz cameras over ~3.93 s of overlap
    ep = align_episode(fixture_server.dataset, rrd.stem, RRD_CONFIG, source=str(rrd))
    assert ep.length == count
    assert ep.ticks[0] == start and np.all(np.diff(ep.ticks) == 100_000_000)
    assert ep.timestamps.tolist() == [k / 10 for k in range(count)]
    assert ep.numeric["action"].shape == (count, 6)
    assert ep.numeric["observation.state"].shape == (count, 7)
    assert ep.tasks == (f"pick up cube {rrd.stem[-1]}",) * count
    assert set(ep.report["kept"].to_list()) == {count} and ep.report.height == 5
    # Every camera shows its source frame number n: raw/JPEG as gray level 10n mod 255, the
    # video as an n pixel wide white bar. The picked frame is the latest not newer than the tick.
    cam_t = times["/camera/raw"]
    picks = [max(j for j, t in enumerate(cam_t) if t <= tick) for tick in ep.ticks]
    frames = {k: list(src) for k, src in ep.images.items()}
    assert all(len(f) == count and f[0].shape == (48, 64, 3) for f in frames.values())
    assert [int(f[0, 40, 0]) for f in frames["raw"]] == [10 * n % 255 for n in picks]
    assert all(abs(int(f[0, 40, 0]) - 10 * n % 255) <= 3 for f, n in zip(frames["jpeg"], picks, strict=True))
    bars = [int((f[24, :, :].min(axis=1) > 200).sum()) for f in frames["video"]]
    assert all(abs(b - n) <= 1 for b, n in zip(bars, picks, strict=True))


def test_iter_aligned_over_the_shared_fixtures(fixture_server: RecordingServer) -> None:
    out = list(iter_aligned(fixture_server, RRD_CONFIG))
    assert [e.episode_id for e in out] == ["episode_0", "episode_1"]
    assert all(e.source.endswith(f"{e.episode_id}.rrd") for e in out)


@pytest.fixture(scope="module")
def mcap_server() -> Iterator[RecordingServer]:
    paths = (str(fixture("mcap/ros2_robot.mcap")), str(fixture("mcap/foxglove_robot.mcap")))
    with RecordingServer(ServerConfig(recordings=paths)) as srv:
        yield srv


def test_ros2_mcap_end_to_end_on_ros2_timestamp(mcap_server: RecordingServer) -> None:
    cfg = AlignConfig(
        fps=10,
        index="ros2_timestamp",
        action_path="/joint_states/velocity",
        state_path="/joint_states/position",
        task_path="/task",  # std_msgs/String has no header stamp: found on another timeline
        image=("front:/camera/image_raw:raw", "wrist:/camera/image/compressed:compressed"),
    )
    ep = align_episode(mcap_server.dataset, "ros2_robot", cfg, source="ros2_robot.mcap")
    rows = read_streams(
        mcap_server.dataset,
        "ros2_robot",
        ["/joint_states/position:Scalars:scalars", "/camera/image_raw:Image:buffer"],
        "ros2_timestamp",
    )
    state_t = rows["/joint_states/position:Scalars:scalars"].times
    cam_t = rows["/camera/image_raw:Image:buffer"].times
    assert (len(state_t), len(cam_t)) == (150, 45)
    ticks = expected_ticks(max(state_t[0], cam_t[0]), min(state_t[-1], cam_t[-1]), 10)
    assert len(ticks) == 30
    np.testing.assert_array_equal(ep.ticks, ticks)
    assert ep.names["observation.state"] == ("j0", "j1", "j2", "j3", "j4", "j5")
    values = np.array(rows["/joint_states/position:Scalars:scalars"].values.to_pylist())
    want = np.array([brute_latest(state_t, values, int(t))[0] for t in ticks])
    np.testing.assert_array_equal(ep.numeric["observation.state"], want)
    assert ep.tasks == ("pick up the cube",) * 30
    assert [f.shape for f in ep.images["front"]] == [(48, 64, 3)] * 30
    assert len(list(ep.images["wrist"])) == 30


def test_ros2_mcap_action_is_not_on_ros2_timestamp(mcap_server: RecordingServer) -> None:
    """Float64MultiArray has no header: on ros2_timestamp the action has no samples at all."""
    with pytest.raises(Exception, match="episode ros2_robot, stream action: no samples"):
        align_episode(
            mcap_server.dataset,
            "ros2_robot",
            AlignConfig(index="ros2_timestamp", state_path="/joint_states/position", task="t"),
        )
    ep = align_episode(
        mcap_server.dataset,
        "ros2_robot",
        AlignConfig(index="message_log_time", state_path="/joint_states/position", task_path="/task"),
    )
    assert ep.numeric["action"].shape == (30, 7) and ep.length == 30
    assert ep.tasks[0] == "pick up the cube"


def test_foxglove_mcap_video_raw_and_jpeg(mcap_server: RecordingServer) -> None:
    cfg = AlignConfig(
        fps=15,
        index="message_log_time",
        action_path=None,
        state_path=None,
        task="look",
        image=("front:/camera/front:video", "raw:/camera/raw:raw", "jpeg:/camera/jpeg:compressed"),
    )
    ep = align_episode(mcap_server.dataset, "foxglove_robot", cfg)
    times = read_streams(
        mcap_server.dataset, "foxglove_robot", ["/camera/front:VideoStream:sample"], "message_log_time"
    )["/camera/front:VideoStream:sample"].times
    # 45 frames at 15 Hz, stamps truncated to whole ns: the last frame lands 29 ns before tick 44,
    # which therefore lies past the span (no trailing values beyond the earliest last sample).
    assert len(times) == 45 and int(times[-1]) == int(times[0]) + 2_933_333_304
    assert ep.length == len(expected_ticks(int(times[0]), int(times[-1]), 15)) == 44
    frames = {k: np.stack(list(src)).astype(float) for k, src in ep.images.items()}
    assert frames["front"].shape == (44, 48, 64, 3)
    # One source frame per tick; each kind shows its frame number n (raw/JPEG: gray 10n mod 255,
    # video: green about 13n mod 256, H.264 blurs it by a few levels).
    assert frames["raw"][:, 0, 40, 0].tolist() == [10 * n % 255 for n in range(44)]
    assert np.abs(frames["jpeg"][:, 0, 40, 0] - frames["raw"][:, 0, 40, 0]).max() <= 3
    green = frames["front"][:, 24, 30, 1]
    assert all(min(abs(g - 13 * n % 256), 256 - abs(g - 13 * n % 256)) <= 5 for n, g in enumerate(green))
    enc = ep.images["front"].encoded("h264")
    assert enc is not None and len(enc.packets) == 44 and enc.keyframes[0]


def test_image_cells_are_fetched_in_small_windows(
    fixture_server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a tiny byte budget (8-row windows) the frames equal a decode of all rows in memory."""
    from lerobot_nb.align import images
    from lerobot_nb.align.images import EncodedImageFrames, ImageRows, RawImageFrames

    monkeypatch.setattr(images, "WINDOW_BYTES", 1)
    calls: list[tuple[int, int]] = []
    real_init = ImageRows.__init__

    def counting_init(self: ImageRows, count: int, fetch: images.Fetch, *, window: int = 16) -> None:
        def counted(lo: int, hi: int) -> object:
            calls.append((lo, hi))
            return fetch(lo, hi)

        real_init(self, count, counted, window=window)  # type: ignore[arg-type]

    monkeypatch.setattr(ImageRows, "__init__", counting_init)
    lazy_config = dataclasses.replace(RRD_CONFIG, image_memory_mb=0.0)  # every file counts as big
    ep = align_episode(
        fixture_server.dataset, "episode_1", lazy_config, source=str(fixture("rrd/episode_1.rrd"))
    )
    lazy = {k: list(ep.images[k]) for k in ("raw", "jpeg")}
    assert len(calls) > 6 and all(hi - lo + 1 <= 16 for lo, hi in calls)
    cols = ["/camera/raw:Image:buffer", "/camera/raw:Image:format", "/camera/jpeg:EncodedImage:blob"]
    full = read_streams(fixture_server.dataset, "episode_1", cols, "real_time")
    picks = np.searchsorted(full[cols[0]].times, ep.ticks, side="right") - 1
    raw = RawImageFrames(
        ImageRows.of({c: full[c].values for c in cols[:2]}),
        picks,
        buffer=cols[0],
        format=cols[1],
        stream="s",
        episode="e",
        file="f",
    )
    jpeg = EncodedImageFrames(
        ImageRows.of({cols[2]: full[cols[2]].values}), picks, blob=cols[2], stream="s", episode="e", file="f"
    )
    assert all(np.array_equal(a, b) for a, b in zip(lazy["raw"], raw, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(lazy["jpeg"], jpeg, strict=True))


def test_frames_of_small_episodes_outlive_the_server_big_ones_say_why_not() -> None:
    with RecordingServer(ServerConfig(recordings=(str(fixture("rrd/episode_0.rrd")),))) as server:
        small = next(iter_aligned(server, RRD_CONFIG))
        big = next(iter_aligned(server, dataclasses.replace(RRD_CONFIG, image_memory_mb=0.0)))
    assert isinstance(small, AlignedEpisode) and isinstance(big, AlignedEpisode)
    assert all(len(list(src)) == small.length for src in small.images.values())
    assert len(list(big.images["video"])) == big.length  # packets are always held
    with pytest.raises(LerobotNbError, match="inside the `with RecordingServer"):
        list(big.images["raw"])
