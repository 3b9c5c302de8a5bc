"""The built-in PushT sample recordings: streams, rates, images that match the state, determinism,
the ROS 2 MCAP twin, the cache and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.query import StreamRows, component_columns, index_timelines, read_static, read_streams
from lerobot_nb.server import RecordingServer, open_recordings
from lerobot_nb.sources.sample import (
    ACTION_NAMES,
    SAMPLE_TASKS,
    STATE_NAMES,
    SampleConfig,
    read_sample_summary,
    sample_mcap,
    sample_recordings,
    write_sample_recordings,
)

pytestmark = pytest.mark.xdist_group("sample")

ACTION = "/action:Scalars:scalars"
STATE = "/observation/state:Scalars:scalars"
REWARD = "/reward:Scalars:scalars"
TOP = "/camera/top:VideoStream:sample"
TOP_KEY = "/camera/top:VideoStream:is_keyframe"
WRIST = "/camera/wrist:EncodedImage:blob"
STREAMS = [ACTION, STATE, REWARD, TOP, TOP_KEY, WRIST]

SAMPLE_COLUMNS = [
    "/action:Scalars:scalars",
    "/action:SeriesLines:names",
    "/camera/top:VideoStream:codec",
    "/camera/top:VideoStream:is_keyframe",
    "/camera/top:VideoStream:sample",
    "/camera/wrist:EncodedImage:blob",
    "/camera/wrist:EncodedImage:media_type",
    "/language_instruction:TextDocument:text",
    "/observation/state:Scalars:scalars",
    "/observation/state:SeriesLines:names",
    "/reward:Scalars:scalars",
    "/reward:SeriesLines:names",
]


@pytest.fixture(scope="module")
def sample_server() -> Iterator[RecordingServer]:
    with open_recordings(sample_recordings()) as server:
        yield server


@pytest.fixture(scope="module")
def episode0(sample_server: RecordingServer) -> dict[str, StreamRows]:
    return read_streams(sample_server.dataset, "pusht_000", STREAMS, "real_time")


def _decode_h264(samples: list[bytes]) -> list[np.ndarray]:
    import av

    ctx = av.CodecContext.create("h264", "r")
    frames = []
    for data in samples:
        frames += [f.to_ndarray(format="rgb24") for f in ctx.decode(av.Packet(data))]
    frames += [f.to_ndarray(format="rgb24") for f in ctx.decode(None)]
    return frames


def _blobs(rows: StreamRows) -> list[bytes]:
    return [bytes(cell[0]) for cell in rows.values.to_pylist()]


def _agent_pixel(frame: np.ndarray) -> np.ndarray:
    """Centroid (x, y) of the blue pusher disc (pygame RoyalBlue 65, 105, 225) in an RGB frame."""
    f = frame.astype(int)
    mask = (np.abs(f[..., 0] - 65) < 45) & (np.abs(f[..., 1] - 105) < 45) & (f[..., 2] > 170)
    ys, xs = np.nonzero(mask)
    assert len(xs) > 3, "no pusher disc in the frame"
    return np.array([xs.mean(), ys.mean()])


def test_episodes_columns_and_timeline(sample_server: RecordingServer) -> None:
    assert sample_server.episodes == ["pusht_000", "pusht_001", "pusht_002", "pusht_003"]
    assert [c.name for c in component_columns(sample_server.dataset)] == SAMPLE_COLUMNS
    assert index_timelines(sample_server.dataset) == {"real_time": "timestamp"}
    static = {c.name for c in component_columns(sample_server.dataset) if c.is_static}
    assert static == {
        "/action:SeriesLines:names",
        "/camera/top:VideoStream:codec",
        "/language_instruction:TextDocument:text",
        "/observation/state:SeriesLines:names",
        "/reward:SeriesLines:names",
    }


def test_names_and_task(sample_server: RecordingServer) -> None:
    ds = sample_server.dataset
    assert read_static(ds, "pusht_000", "/observation/state:SeriesLines:names") == list(STATE_NAMES)
    assert read_static(ds, "pusht_001", "/action:SeriesLines:names") == list(ACTION_NAMES)
    for ep, task in zip(sample_server.episodes, SAMPLE_TASKS * 2, strict=True):
        text = read_static(ds, ep, "/language_instruction:TextDocument:text")
        assert (text[0] if isinstance(text, list) else text) == task


def test_native_rates_counts_and_jitter(episode0: dict[str, StreamRows]) -> None:
    # 8 s episodes; every stream starts a little after 0 s, so 8 s holds one sample fewer than 8*rate.
    expected = {ACTION: (10, 79), STATE: (50, 399), REWARD: (10, 79), TOP: (15, 119)}
    for column, (rate, count) in expected.items():
        t = episode0[column].times
        assert len(t) == count, column
        d = np.diff(t) / 1e9
        assert abs(1 / np.median(d) / rate - 1) < 0.01, column
        assert abs((len(t) - 1) / ((t[-1] - t[0]) / 1e9) / rate - 1) < 0.01, column
        # Realistic jitter: present, but far from reordering samples.
        assert 0.002 < np.std(d) * rate < 0.2, column
        assert np.all(d > 0), column
    # The wrist camera loses a few frames: the gaps account exactly for the missing samples.
    t = episode0[WRIST].times
    period = 0.1
    d = np.diff(t) / 1e9
    lost = int(np.sum(np.round(d / period) - 1))
    assert len(t) + lost == 79
    assert abs(1 / np.median(d) / 10 - 1) < 0.01
    # Streams start independently, like separate sensor threads.
    assert len({int(episode0[c].times[0]) for c in (ACTION, STATE, TOP, WRIST)}) == 4


def test_value_shapes_and_ranges(episode0: dict[str, StreamRows]) -> None:
    action = np.array(episode0[ACTION].values.to_pylist())
    state = np.array(episode0[STATE].values.to_pylist())
    assert action.shape == (79, 2) and state.shape == (399, 5)
    assert np.all((action >= 0) & (action <= 512))
    assert np.all((state[:, :4] >= 0) & (state[:, :4] <= 512))
    assert np.all((state[:, 4] >= 0) & (state[:, 4] < 2 * np.pi))
    # The PD-controlled pusher follows its target: late in each hold period it is near it.
    at = np.searchsorted(episode0[STATE].times, episode0[ACTION].times[1:], side="right") - 1
    err = np.linalg.norm(state[at, :2] - action[:-1], axis=1)
    assert np.median(err) < 25


def test_top_camera_is_h264_that_shows_the_logged_state(episode0: dict[str, StreamRows]) -> None:
    samples = _blobs(episode0[TOP])
    assert all(s.startswith((b"\x00\x00\x00\x01", b"\x00\x00\x01")) for s in samples)  # Annex B
    keyframes = [cell[0] for cell in episode0[TOP_KEY].values.to_pylist()]
    assert len(keyframes) == len(samples) and keyframes[0] is True
    assert 4 <= sum(keyframes) <= 12  # one GOP per second of video
    frames = _decode_h264(samples)
    assert len(frames) == len(samples)
    assert frames[0].shape == (96, 96, 3)
    state = episode0[STATE]
    for i in range(0, len(frames), 10):
        j = np.searchsorted(state.times, episode0[TOP].times[i], side="right") - 1
        agent = np.array(state.values[j].as_py()[:2]) * 96 / 512
        assert np.all(np.abs(_agent_pixel(frames[i]) - agent) < 2.5), i


def test_wrist_camera_is_jpeg_centered_on_the_pusher(episode0: dict[str, StreamRows]) -> None:
    import io

    from PIL import Image

    blobs = _blobs(episode0[WRIST])
    assert all(b.startswith(b"\xff\xd8") for b in blobs)
    for blob in blobs[::15]:
        img = np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))
        assert img.shape == (64, 64, 3)
        assert np.all(np.abs(_agent_pixel(img) - 31.5) < 3)


def test_the_policy_pushes_the_t_toward_the_goal(sample_server: RecordingServer) -> None:
    starts, ends = [], []
    for ep in sample_server.episodes:
        reward = read_streams(sample_server.dataset, ep, [REWARD], "real_time")[REWARD]
        cov = np.array(reward.values.to_pylist())[:, 0]
        assert np.all((cov >= 0) & (cov <= 1))
        starts.append(cov[:5].mean())
        ends.append(cov[-5:].mean())
    assert np.mean(ends) - np.mean(starts) > 0.3
    assert sum(e > s + 0.05 for s, e in zip(starts, ends, strict=True)) >= 3


def test_summary_matches_the_recordings(sample_server: RecordingServer) -> None:
    rows = read_sample_summary(sample_recordings())
    assert [r["episode"] for r in rows] == [*sample_server.episodes, "pusht_003_ros2"]
    reward = read_streams(sample_server.dataset, "pusht_002", [REWARD], "real_time")[REWARD]
    assert rows[2]["coverage_start"] == pytest.approx(reward.values[0].as_py()[0], abs=1e-4)


def _everything(folder: Path) -> dict[tuple[str, str], tuple[list[int], list[object]]]:
    out = {}
    with open_recordings(folder) as server:
        for ep in server.episodes:
            for col, rows in read_streams(server.dataset, ep, STREAMS, "real_time").items():
                out[ep, col] = (rows.times.tolist(), rows.values.to_pylist())
    return out


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    config = SampleConfig(episode_count=2, seed=7, duration_s=2.0, mcap=False)
    a = write_sample_recordings(tmp_path / "a", config)
    b = write_sample_recordings(tmp_path / "b", config)
    assert [p.name for p in a] == [p.name for p in b] == ["pusht_000.rrd", "pusht_001.rrd"]
    first, second = _everything(tmp_path / "a" / "rrd"), _everything(tmp_path / "b" / "rrd")
    assert first.keys() == second.keys() and len(first) == 2 * len(STREAMS)
    assert first == second
    write_sample_recordings(tmp_path / "c", SampleConfig(episode_count=2, seed=8, duration_s=2.0, mcap=False))
    other = _everything(tmp_path / "c" / "rrd")
    assert other["pusht_000", STATE] != first["pusht_000", STATE]
    assert other["pusht_000", ACTION][0] != first["pusht_000", ACTION][0]


def test_ros2_mcap_twin_converts_and_matches_the_rrd_episode(sample_server: RecordingServer) -> None:
    mcap = sample_mcap()
    assert mcap.parent.name == "mcap" and mcap.name == "pusht_003_ros2.mcap"
    with open_recordings(mcap) as server:
        assert server.episodes == ["pusht_003_ros2"]
        names = {c.name for c in component_columns(server.dataset)}
        assert {
            "/joint_states/position:Scalars:scalars",
            "/joint_states/position:SeriesLines:names",
            "/joint_commands/position:Scalars:scalars",
            "/camera/top/image/compressed:EncodedImage:blob",
            "/camera/wrist/image/compressed:EncodedImage:blob",
            "/task:TextDocument:text",
        } <= names
        assert "ros2_timestamp" in index_timelines(server.dataset)
        ros = read_streams(
            server.dataset,
            "pusht_003_ros2",
            [
                "/joint_states/position:Scalars:scalars",
                "/joint_commands/position:Scalars:scalars",
                "/camera/top/image/compressed:EncodedImage:blob",
            ],
            "ros2_timestamp",
        )
        task = read_streams(server.dataset, "pusht_003_ros2", ["/task:TextDocument:text"], "message_log_time")
    rrd = read_streams(sample_server.dataset, "pusht_003", [STATE, ACTION, TOP], "real_time")
    # Same simulation, same header stamps: the MCAP carries exactly the .rrd episode's samples.
    joint = ros["/joint_states/position:Scalars:scalars"]
    np.testing.assert_array_equal(joint.times, rrd[STATE].times)
    np.testing.assert_allclose(np.array(joint.values.to_pylist()), np.array(rrd[STATE].values.to_pylist()))
    command = ros["/joint_commands/position:Scalars:scalars"]
    np.testing.assert_array_equal(command.times, rrd[ACTION].times)
    np.testing.assert_allclose(
        np.array(command.values.to_pylist()), np.array(rrd[ACTION].values.to_pylist()), rtol=1e-6
    )
    np.testing.assert_array_equal(ros["/camera/top/image/compressed:EncodedImage:blob"].times, rrd[TOP].times)
    texts = task["/task:TextDocument:text"].values.to_pylist()
    assert len(texts) == 8 and all(v == [SAMPLE_TASKS[1]] for v in texts)  # 1 Hz over 8 s


def test_cache_is_reused_and_keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = sample_recordings()
    stamps = {p: p.stat().st_mtime_ns for p in folder.glob("*.rrd")}
    import lerobot_nb.sources.sample as sample

    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("generated again although the cache has it")

    monkeypatch.setattr(sample, "write_sample_recordings", no_generation)
    assert sample_recordings() == folder
    assert {p: p.stat().st_mtime_ns for p in folder.glob("*.rrd")} == stamps
    assert folder.parent.name.startswith(f"v{sample.GENERATOR_VERSION}-e4-s0-")
    with pytest.raises(AssertionError, match="generated again"):
        sample_recordings(episodes=1, seed=99)  # another key: not in the cache


def test_incomplete_cache_entry_is_regenerated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEROBOT_NB_CACHE", str(tmp_path))
    config = SampleConfig(episodes=1, seed=3, duration_s=1.0, mcap=False)
    folder = sample_recordings(config=config)
    assert sorted(p.name for p in folder.iterdir()) == ["pusht_000.rrd"]
    (folder.parent / "sample.json").unlink()  # as if the run had been killed
    again = sample_recordings(config=config)
    assert again == folder and (folder.parent / "sample.json").exists()
    assert not [p for p in tmp_path.joinpath("sample").iterdir() if p.name.startswith(".")]


def test_config_is_checked() -> None:
    with pytest.raises(LerobotNbError, match="action_hz must divide the simulator rate 100 Hz"):
        SampleConfig(action_hz=7)
    with pytest.raises(LerobotNbError, match="episode_count must be at least 1"):
        SampleConfig(episode_count=0)
    with pytest.raises(LerobotNbError, match="top_size must be even"):
        SampleConfig(top_size=95)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lerobot_nb.cli.main", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_writes_episodes_and_mcap(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _cli("sample", str(out), "--episode-count", "2", "--seed", "4", "--duration-s", "1.5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert sorted(p.name for p in (out / "rrd").iterdir()) == ["pusht_000.rrd", "pusht_001.rrd"]
    assert [p.name for p in (out / "mcap").iterdir()] == ["pusht_001_ros2.mcap"]
    meta = json.loads((out / "sample.json").read_text())
    assert meta["config"]["seed"] == 4 and meta["config"]["duration_s"] == 1.5
    lines = proc.stdout.splitlines()
    assert lines[1].startswith("pusht_000") and lines[3].startswith("pusht_001_ros2")
    assert f"lerobot-nb inspect {out / 'rrd'}" in proc.stdout


def test_cli_refuses_a_file_as_output(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    proc = _cli("sample", str(target))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {target}: exists and is not a folder"


def test_rewriting_a_folder_with_fewer_episodes_leaves_no_extras(tmp_path: Path) -> None:
    write_sample_recordings(tmp_path, SampleConfig(episodes=3, duration_s=1.0))
    write_sample_recordings(tmp_path, SampleConfig(episodes=1, duration_s=1.0))
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "mcap/pusht_000_ros2.mcap",
        "rrd/pusht_000.rrd",
        "sample.json",
    ]


def test_the_mcap_episode_aligns_with_the_suggested_config() -> None:
    from dataclasses import asdict

    from lerobot_nb.align import AlignConfig, align_episode
    from lerobot_nb.inspect import suggest

    with open_recordings(sample_mcap()) as server:
        s = suggest(server)
        assert (s.action_path, s.state_path, s.task_path, s.fps) == (
            ("/joint_commands/position",),
            ("/joint_states/position",),
            "/task",
            10,
        )
        ep = align_episode(server.dataset, "pusht_003_ros2", AlignConfig(**asdict(s)))
        assert ep.length == 78  # 7.8 s of overlap at 10 fps
        assert ep.numeric["action"].shape == (78, 2) and ep.numeric["observation.state"].shape == (78, 5)
        assert ep.names["observation.state"] == STATE_NAMES
        assert set(ep.tasks) == {SAMPLE_TASKS[1]}
        sizes = {k: (src.height, src.width) for k, src in ep.images.items()}
        assert sizes == {"top": (96, 96), "wrist": (64, 64)}
        assert len(list(ep.images["top"])) == 78


def test_the_old_episodes_flag_still_counts_episodes(tmp_path: Path) -> None:
    """`--episodes` names episode ids everywhere else; the sample count is `--episode-count` (alias kept)."""
    import argparse

    from lerobot_nb.config import add_config_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_config_arguments(parser, SampleConfig)
    assert "--episodes" not in parser.format_help() and "--episode-count" in parser.format_help()
    with pytest.warns(DeprecationWarning, match="use episode_count"):
        config = config_from_args(SampleConfig, parser.parse_args(["--episodes", "3"]))
    assert config.episode_count == 3 and config.episodes is None
