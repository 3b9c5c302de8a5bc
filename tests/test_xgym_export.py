"""xgym folders end to end: exported and loaded with lerobot's own LeRobotDataset, and served as `.rrd`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from export_support import check_loads_in_lerobot
from fixture_files import fixture
from xgym_support import (
    ACTION_NAMES,
    DUCKS,
    STATE_NAMES,
    expected_action,
    expected_state,
    expected_time_ns,
    kept_records,
    make_folder,
)

from lerobot_nb.align import AlignConfig, iter_aligned
from lerobot_nb.align.aligner import iter_recorded
from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.export import ExportConfig, export_dataset
from lerobot_nb.inspect import stream_stats
from lerobot_nb.query import index_timelines
from lerobot_nb.server import RecordingServer, ServerConfig
from lerobot_nb.sources import discover_recordings
from lerobot_nb.sources.xgym import XgymReader, open_reader
from lerobot_nb.sources.xgym_sample import SAMPLE_EPISODES, XgymEpisodeSpec, read_frame_id

CAMERAS = ("worm", "side", "wrist")
#: The sample's cases, shorter: padding, a crash with padding, a late camera with NaN grippers.
SHORT = (
    XgymEpisodeSpec(records=20, maxlen=30, seed=0, texture=True),
    XgymEpisodeSpec(records=15, maxlen=30, crashed=True, seed=1),
    XgymEpisodeSpec(records=24, late=((1, 4),), nan_gripper=(10, 11, 12), seed=2),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("xgym"))


@pytest.fixture(scope="module")
def reader(folder: Path) -> XgymReader:
    return open_reader(folder)


@pytest.fixture(scope="module")
def server(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingServer]:
    cache = tmp_path_factory.mktemp("cache")
    with RecordingServer(ServerConfig(recordings=(str(folder),), cache_dir=str(cache))) as srv:
        yield srv


def _aligned(episodes: Iterator[object]) -> list[AlignedEpisode]:
    out = list(episodes)
    assert all(isinstance(e, AlignedEpisode) for e in out), out
    return out  # type: ignore[return-value]


def _config(reader: XgymReader, **overrides: object) -> AlignConfig:
    return AlignConfig(**{**reader.defaults(), **overrides})  # type: ignore[arg-type]


def _export(episodes: list[AlignedEpisode], out: Path, **kw: object) -> Path:
    export_dataset(episodes, ExportConfig(output=str(out), progress=False, **kw))  # type: ignore[arg-type]
    return out


def _image(item: dict, camera: str) -> np.ndarray:
    chw = item[f"observation.images.{camera}"].numpy()
    return (chw.transpose(1, 2, 0) * 255).round().astype(np.uint8)


@pytest.mark.slow
def test_export_loads_in_lerobot_with_exact_values_frames_and_tasks(tmp_path: Path) -> None:
    from lerobot.datasets import LeRobotDataset

    reader = open_reader(make_folder(tmp_path, SHORT))
    episodes = _aligned(iter_recorded(reader, _config(reader)))
    root = _export(episodes, tmp_path / "ds")
    check_loads_in_lerobot(root, episodes)  # numeric bit for bit, frames by PSNR, tasks, k / fps
    info = json.loads((root / "meta/info.json").read_text())
    assert info["fps"] == 50 and info["total_episodes"] == 3 and info["total_frames"] == 20 + 15 + 20
    assert info["features"]["observation.state"]["shape"] == [14]
    assert info["features"]["observation.state"]["names"] == STATE_NAMES
    assert info["features"]["action"]["names"] == ACTION_NAMES
    for cam in CAMERAS:
        assert info["features"][f"observation.images.{cam}"]["shape"] == [224, 224, 3]
    ds = LeRobotDataset("local/xgym", root=root, video_backend="pyav")
    start = 0
    for spec, ep in zip(SHORT, episodes, strict=True):
        state, action, records = expected_state(spec), expected_action(spec), kept_records(spec)
        for k in (0, 1, ep.length // 2, ep.length - 1):
            item = ds[start + k]
            np.testing.assert_array_equal(item["observation.state"].numpy(), state[k].astype(np.float32))
            np.testing.assert_array_equal(item["action"].numpy(), action[k].astype(np.float32))
            assert item["task"] == "pick up the red block"
            for c, cam in enumerate(CAMERAS):
                rgb = _image(item, cam)
                assert read_frame_id(rgb) == (records[k], c)
                blue = rgb[: 224 // 8].reshape(-1, 3).mean(axis=0)  # the band stored BGR (255, 0, 0)
                assert blue[2] > 200 and blue[0] < 40, blue
        start += ep.length


@pytest.mark.slow
def test_served_rrd_aligns_to_exactly_the_direct_path(reader: XgymReader, server: RecordingServer) -> None:
    assert server.episodes == reader.episode_ids()
    assert index_timelines(server.dataset) == {"record": "sequence", "time": "timestamp"}
    for overrides in ({}, {"fps": 10, "index": "time"}):
        config = _config(reader, **overrides)
        direct, served = _aligned(iter_recorded(reader, config)), _aligned(iter_aligned(server, config))
        for d, s in zip(direct, served, strict=True):
            assert (s.episode_id, s.fps, s.index, s.tasks, dict(s.names)) == (
                d.episode_id, d.fps, d.index, d.tasks, dict(d.names),
            )  # fmt: skip
            np.testing.assert_array_equal(s.ticks, d.ticks)
            assert s.numeric.keys() == d.numeric.keys()
            for key in d.numeric:
                np.testing.assert_array_equal(s.numeric[key], d.numeric[key])
            for cam in CAMERAS:
                for a, b in zip(s.images[cam], d.images[cam], strict=True):
                    np.testing.assert_array_equal(a, b)


def test_inspect_reports_the_jitter_of_time(server: RecordingServer) -> None:
    stats = stream_stats(server, index="time")
    late = SAMPLE_EPISODES[2]
    rows = stats.filter(stats["episode"] == "xgym_data_20250301-090002")
    assert set(rows["stream"]) >= {"/xarm_joints:Scalars:scalars", "/xgym/camera/side:Image:buffer"}
    interval_s = np.diff(expected_time_ns(late)) / 1e9
    assert rows["count"].to_list() == [66] * len(rows)
    np.testing.assert_allclose(rows["jitter_ms"].to_numpy(), np.std(interval_s) * 1e3, rtol=1e-9)
    assert 0.5 < float(rows["jitter_ms"][0]) < 3  # +-2 ms uniform timer jitter


def test_rrd_is_cached_by_content(folder: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    cache = tmp_path / "cache"
    first = discover_recordings(copy, cache_dir=cache)
    assert [r.format for r in first] == ["xgym"] * 3
    assert first[0].source == (copy / "xgym_data_20250301-090000.dat").resolve()
    assert first[0].defaults == open_reader(copy).defaults()
    assert [r.notes for r in first] == [open_reader(copy).read(r.episode_id, "record").notes for r in first]
    assert first[2].notes[0].startswith("4 leading records trimmed")
    stamps = [r.rrd.stat().st_mtime_ns for r in first]
    again = discover_recordings(copy, cache_dir=cache)
    assert [r.rrd for r in again] == [r.rrd for r in first]
    assert [r.rrd.stat().st_mtime_ns for r in again] == stamps  # not written again
    sidecar = copy / "xgym_data_20250301-090001.json"
    sidecar.write_text(sidecar.read_text().replace('"len": 0', '"len": 50'))
    edited = discover_recordings(copy, cache_dir=cache)
    assert edited[1].rrd != first[1].rrd and edited[0].rrd == first[0].rrd
    assert edited[1].notes == ("25 trailing all-zero records (padding up to maxlen 75) removed",)
    assert len(list(cache.glob("*.rrd"))) == len(list(cache.glob("*.notes.json"))) == 4
    assert not list(cache.glob("*.part"))


def test_one_camera_and_short_episodes_are_kept(tmp_path: Path) -> None:
    one_cam = XgymEpisodeSpec(records=150, cameras=("/xgym/camera/worm",), height=32, width=32)
    folder = make_folder(
        tmp_path, [one_cam, XgymEpisodeSpec(records=20, cameras=one_cam.cameras, height=32, width=32, seed=1)]
    )
    reader = open_reader(folder)
    assert reader.defaults()["image"] == ("worm:/xgym/camera/worm",)
    episodes = _aligned(iter_recorded(reader, _config(reader)))
    assert [e.length for e in episodes] == [150, 20]
    info = json.loads((_export(episodes, tmp_path / "ds", codec="h264") / "meta/info.json").read_text())
    assert (info["total_episodes"], info["total_frames"]) == (2, 170)


def test_overrides_and_the_language_embedding(tmp_path: Path) -> None:
    from lerobot.datasets import LeRobotDataset

    spec = XgymEpisodeSpec(records=12, height=32, width=32)
    folder = make_folder(tmp_path, [spec], task=DUCKS)
    reader = open_reader(folder)
    config = _config(
        reader,
        state_path=("/xarm_pose",),
        action_path=("/gello_joints",),
        image=("front:/xgym/camera/side",),
        extra=("observation.language_embedding=/language_embedding",),
    )
    names = "observation.state=px,py,pz,rx,ry,rz"
    root = _export(
        _aligned(iter_recorded(reader, config)), tmp_path / "ds", codec="h264", feature_names=(names,)
    )
    info = json.loads((root / "meta/info.json").read_text())
    assert [k for k in info["features"] if k.startswith("observation")] == [
        "observation.state",
        "observation.language_embedding",
        "observation.images.front",
    ]
    assert info["features"]["observation.state"]["names"] == ["px", "py", "pz", "rx", "ry", "rz"]
    item = LeRobotDataset("local/xgym", root=root, video_backend="pyav")[3]
    vector = np.load(fixture(DUCKS))
    np.testing.assert_array_equal(item["observation.language_embedding"].numpy(), vector)
    np.testing.assert_array_equal(
        item["observation.state"].numpy(), expected_state(spec)[3, 8:].astype(np.float32)
    )
    assert item["task"] == "put the ducks in the bowl" and read_frame_id(_image(item, "front")) == (3, 1)
