"""A LeRobot dataset served by a real local Rerun server (what notebook 01 and the viewer use): its
`.rrd`s hold every feature with names, the cameras, both timelines and the task, and the served
episodes align to what the direct reader gives."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from fixture_files import fixture
from lerobot_input_support import HandEpisode, column, data, decoded, write_legacy_dataset

from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.pipeline import Inputs
from lerobot_nb.query import index_timelines, read_static, read_stream
from lerobot_nb.server import RecordingServer, ServerConfig
from lerobot_nb.sources.lerobot import to_recordings


def _aligned(src: Path, *, direct: bool) -> list[AlignedEpisode]:
    inputs = Inputs.discover(ServerConfig(recordings=(str(src),)), direct=direct)
    config = inputs.align_config({})
    with inputs.open(config) as source:
        return [e for e in source.aligned(source.episodes) if isinstance(e, AlignedEpisode)]


def test_served_lerobot_v30_matches_the_direct_read(tmp_path: Path) -> None:
    src = fixture("lerobot/synthetic_v30_video_lerobot061")
    recordings = to_recordings(src, tmp_path / "cache")
    assert [r.episode_id for r in recordings] == ["episode_0", "episode_1", "episode_2"]
    assert to_recordings(src, tmp_path / "cache")[0].rrd == recordings[0].rrd  # made once
    with RecordingServer(
        ServerConfig(recordings=(str(src),), cache_dir=str(tmp_path / "cache")), recordings=recordings
    ) as server:
        dataset = server.dataset
        assert index_timelines(dataset) == {"frame_index": "sequence", "timestamp": "timestamp"}
        state = read_stream(dataset, "episode_1", "/observation.state:Scalars:scalars", "frame_index")
        truth = column(data(src), "observation.state")[12:21]
        np.testing.assert_array_equal(np.asarray(state.times), np.arange(9))
        np.testing.assert_array_equal(np.array(state.values.to_pylist(), np.float32), truth)
        stamps = read_stream(dataset, "episode_1", "/action:Scalars:scalars", "timestamp")
        np.testing.assert_array_equal(np.asarray(stamps.times, np.int64), np.arange(9) * 100_000_000)
        names = read_static(dataset, "episode_1", "/observation.state:SeriesLines:names")
        assert names == [f"j{i}.pos" for i in range(6)]
        task = read_stream(dataset, "episode_1", "/task:TextDocument:text", "frame_index")
        src_tasks = ["push the cube", "place the cube"]  # what episode 1's rows say, in row order
        assert sorted({t[0] if isinstance(t, list) else t for t in task.values.to_pylist()}) == sorted(
            src_tasks
        )
        codec = read_static(dataset, "episode_1", "/observation.images.front:VideoStream:codec")
        assert codec == [0x61763031]  # AV1: the mp4's own packets
    direct = _aligned(src, direct=True)
    served = _aligned(src, direct=False)
    assert [e.episode_id for e in served] == [e.episode_id for e in direct]
    for a, b in zip(served, direct, strict=True):
        assert a.length == b.length and a.tasks == b.tasks
        for key in b.numeric:
            np.testing.assert_array_equal(np.asarray(a.numeric[key], np.float32), b.numeric[key])
        for key in b.images:
            assert all(np.array_equal(x, y) for x, y in zip(a.images[key], b.images[key], strict=True))


def test_served_b_frames_fall_back_to_jpeg_and_partial_episodes_are_named(tmp_path: Path) -> None:
    eps = [HandEpisode(0, 12), HandEpisode(1, 8)]
    src = write_legacy_dataset(tmp_path / "src", eps, codec="h264", bframes=True, listed=[0, 1, 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recordings = to_recordings(src, tmp_path / "cache")
    assert [r.episode_id for r in recordings] == ["episode_0", "episode_1"]
    assert [str(w.message) for w in caught] == [
        f"{src}: 1 of the 3 episodes listed in meta/episodes.jsonl have no data file and are not served (episode_2)"
    ]
    with RecordingServer(
        ServerConfig(recordings=(str(src),), cache_dir=str(tmp_path / "cache")), recordings=recordings
    ) as server:
        images = read_stream(
            server.dataset, "episode_0", "/observation.images.front:EncodedImage:blob", "frame_index"
        )
        assert len(images.times) == 12
        source = [f for _, f in decoded(src / "videos/chunk-000/observation.images.front/episode_000000.mp4")]
        import io

        from PIL import Image

        first = np.asarray(
            Image.open(io.BytesIO(np.asarray(images.values[0].as_py(), np.uint8).tobytes())).convert("RGB")
        )
        assert first.shape == source[0].shape and np.abs(first.astype(int) - source[0]).mean() < 4
