"""Bridge RLDS to a LeRobot v3.0 dataset (loaded by lerobot), and its `.rrd`s through a real Rerun server."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixture_files import fixture
from rlds_support import decode_example, pil_decode, raw_records

from lerobot_nb.align import AlignConfig, iter_aligned, iter_recorded
from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.export import ExportConfig, export_dataset
from lerobot_nb.server import RecordingServer, ServerConfig
from lerobot_nb.sources.rlds import open_reader, to_recordings

BRIDGE = "real/bridge_rlds_octo/bridge_dataset/1.0.0"
EMBEDDING = ("observation.language_embedding=/steps/language_embedding",)

pytestmark = pytest.mark.slow


def _raw_train(root: Path) -> list[dict]:
    return [decode_example(r) for r in raw_records(root / "bridge_dataset-train.tfrecord-00000-of-00001")]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse) if mse else float("inf")


def test_export_and_load_with_lerobot(tmp_path: Path) -> None:
    from lerobot.datasets import LeRobotDataset

    root = fixture(BRIDGE)
    reader = open_reader(root, split="train")
    config = AlignConfig(**{**reader.defaults(), "fps": 5, "sequence_rate": 5, "extra": EMBEDDING})
    out = tmp_path / "bridge"
    summary = export_dataset(iter_recorded(reader, config), ExportConfig(output=str(out), progress=False))
    assert "written 25 episodes" in str(summary)

    info = json.loads((out / "meta/info.json").read_text())
    assert (info["total_episodes"], info["total_frames"], info["fps"]) == (25, 250, 5)
    cams = sorted(k for k in info["features"] if k.startswith("observation.images."))
    assert cams == [f"observation.images.image_{i}" for i in range(3)]  # the black image_3 left out
    assert info["features"]["observation.language_embedding"]["shape"] == [512]

    ds = LeRobotDataset("local/bridge", root=out, video_backend="pyav")
    assert (ds.num_episodes, ds.num_frames) == (25, 250)
    raw = _raw_train(root)
    for index in (0, 9, 10, 137, 249):
        ep, step = divmod(index, 10)
        item = ds[index]
        ex = raw[ep]
        assert int(item["episode_index"]) == ep and int(item["frame_index"]) == step
        assert float(item["timestamp"]) == pytest.approx(step / 5)
        for key, path, width in (
            ("observation.state", "steps/observation/state", 7),
            ("action", "steps/action", 7),
            ("observation.language_embedding", "steps/language_embedding", 512),
        ):
            want = np.array(ex[path][1], np.float32).reshape(10, width)[step]
            np.testing.assert_array_equal(item[key].numpy(), want)
        assert item["task"] == ex["steps/language_instruction"][1][step].decode()
        for cam in range(3):
            got = (item[f"observation.images.image_{cam}"].numpy().transpose(1, 2, 0) * 255).round()
            want = pil_decode(ex[f"steps/observation/image_{cam}"][1][step])
            assert got.shape == (64, 64, 3)
            assert _psnr(got, want) > 28, (index, cam)


def test_served_rrds_align_like_the_direct_reader(tmp_path: Path) -> None:
    root = fixture(BRIDGE)
    reader = open_reader(root)
    recordings = to_recordings(root, tmp_path / "cache")
    assert [r.episode_id for r in recordings] == reader.episode_ids()
    assert {r.format for r in recordings} == {"rlds"} and recordings[0].defaults == reader.defaults()
    again = to_recordings(root, tmp_path / "cache")  # cached by content: the same files, not rewritten
    assert [r.rrd for r in again] == [r.rrd for r in recordings]
    assert [r.rrd.stat().st_mtime_ns for r in again] == [r.rrd.stat().st_mtime_ns for r in recordings]

    config = AlignConfig(**{**reader.defaults(), "fps": 5, "sequence_rate": 5, "extra": EMBEDDING})
    chosen = ["train_00003", "val_00024"]
    direct = [e for e in iter_recorded(reader, config, episodes=chosen) if isinstance(e, AlignedEpisode)]
    server_config = ServerConfig(recordings=(str(root),), cache_dir=str(tmp_path / "cache"))
    with RecordingServer(server_config) as server:
        assert server.episodes == reader.episode_ids()
        served = [e for e in iter_aligned(server, config, episodes=chosen) if isinstance(e, AlignedEpisode)]
        for a, b in zip(served, direct, strict=True):
            assert (a.episode_id, a.length, a.tasks) == (b.episode_id, 10, b.tasks)
            assert sorted(a.numeric) == ["action", "observation.language_embedding", "observation.state"]
            for key in b.numeric:
                np.testing.assert_array_equal(a.numeric[key], b.numeric[key])
            assert sorted(a.images) == ["image_0", "image_1", "image_2"]
            for key in b.images:
                for fa, fb in zip(a.images[key], b.images[key], strict=True):
                    np.testing.assert_array_equal(fa, fb)
