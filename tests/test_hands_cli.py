"""`lerobot-nb hands` end to end: xgym npz episodes through the HaMeR protocol into a LeRobot dataset, recordings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import free_port
from fixture_files import fixture
from hamer_test_server import HamerTestServer, image_key
from hands_fixtures import fake_hamer_answers, rhd_samples

from lerobot_nb.cli.main import main

pytestmark = pytest.mark.xdist_group("hands_cli")
P = "observation.hands"


def _npz_dir(tmp_path: Path) -> Path:
    samples = rhd_samples()
    d = tmp_path / "npz"
    d.mkdir()
    frames = np.stack([samples[0].image, np.zeros_like(samples[0].image), samples[2].image])
    np.savez(d / "ep0.npz", low=frames, joints=np.zeros((3, 7), np.float32))
    np.save(d / "task-pick_up_the_red_block.npy", np.zeros(512, np.float32))
    return d


def test_npz_dir_through_hamer_into_lerobot_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = rhd_samples()
    answers = {
        image_key(s.image): {
            k: v for k, v in fake_hamer_answers()[s.file_name].items() if k != "gt_keypoints_2d"
        }
        for s in samples
    }
    out = tmp_path / "ds"
    rrd_dir = tmp_path / "overlay"
    with HamerTestServer(answers) as srv:
        code = main(
            [
                "hands",
                "--dir",
                str(_npz_dir(tmp_path)),
                "--backend",
                "hamer",
                "--hamer.host",
                "127.0.0.1",
                "--hamer.port",
                str(srv.port),
                "--fps",
                "5",
                "--output",
                str(out),
                "--codec",
                "h264",
                "--no-progress",
                "--rrd-dir",
                str(rrd_dir),
            ]
        )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "ep0: 3 frames, left 1, right 1, failed 0" in printed and "no intrinsics" in printed
    assert (rrd_dir / "ep0.hands.rrd").stat().st_size > 0
    info = json.loads((out / "meta/info.json").read_text())
    assert info["total_frames"] == 3 and info["fps"] == 5
    assert info["features"][f"{P}.left.kp2d"]["shape"] == [42]
    assert "observation.images.low" in info["features"]
    table = pq.read_table(next((out / "data").rglob("*.parquet")))
    left = np.stack(table.column(f"{P}.left.kp2d").to_numpy(zero_copy_only=False))
    right = np.stack(table.column(f"{P}.right.kp2d").to_numpy(zero_copy_only=False))
    assert np.abs(left[0].reshape(21, 2) - samples[0].keypoints).max() < 0.1
    assert np.abs(right[2].reshape(21, 2) - samples[2].keypoints).max() < 0.1
    present = np.stack(table.column(f"{P}.left.present").to_numpy(zero_copy_only=False)).reshape(3)
    np.testing.assert_array_equal(present, [1, 0, 0])
    tasks = pq.read_table(out / "meta/tasks.parquet").to_pandas()
    assert "pick up the red block" in tasks.index
    from lerobot.datasets import LeRobotDataset

    item = LeRobotDataset("local/hands", root=out, video_backend="pyav")[2]
    np.testing.assert_allclose(item[f"{P}.right.kp2d"].numpy().reshape(21, 2), samples[2].keypoints, atol=0.1)
    assert tuple(item["observation.images.low"].shape) == (3, 320, 320)


def test_recordings_without_hands_keep_every_frame(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "hands",
            str(fixture("rrd/episode_0.rrd")),
            "--image",
            "cam:/camera/raw:raw",
            "--state-path",
            "/observation/joint_positions",
            "--task-path",
            "",
            "--fps",
            "15",
            "--static-image-mode",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    first = printed.splitlines()[0]
    assert "frames, left 0, right 0, failed 0" in first
    assert "no hand found in any frame of camera cam" in printed and "no intrinsics" in printed


def test_server_down_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    code = main(
        [
            "hands",
            "--dir",
            str(_npz_dir(tmp_path)),
            "--backend",
            "hamer",
            "--hamer-port",
            str(port),
            "--hamer-retries",
            "0",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: ") and f"ws://127.0.0.1:{port}" in err[0] and "ep0.npz" in err[0]


def test_npz_without_cameras(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    np.savez(d / "ep3.npz", joints=np.zeros((3, 7)))
    code = main(["hands", "--dir", str(d)])
    err = capsys.readouterr().err
    assert code == 2 and "ep3.npz" in err and "no camera array" in err and "joints float64[3, 7]" in err
    code = main(["hands", "--dir", str(tmp_path / "missing")])
    assert code == 2 and "missing: no such file or folder" in capsys.readouterr().err


def test_existing_lerobot_dataset_is_enriched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A dataset lerobot wrote (no hands in its synthetic frames) comes out with every frame and value."""
    src = fixture("lerobot/synthetic_v30_video_lerobot061")
    out = tmp_path / "ds"
    code = main(
        [
            "hands",
            "--lerobot",
            str(src),
            "--camera",
            "front",
            "--output",
            str(out),
            "--codec",
            "h264",
            "--no-progress",
            "--static-image-mode",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "episode_1: 9 frames, left 0, right 0, failed 0" in printed
    info = json.loads((out / "meta/info.json").read_text())
    assert info["total_episodes"] == 3 and info["total_frames"] == 36
    assert info["features"][f"{P}.right.present"]["shape"] == [1]
    assert info["features"]["observation.state"]["names"] == [f"j{i}.pos" for i in range(6)]

    def column(root: Path, name: str) -> np.ndarray:
        files = sorted((root / "data").rglob("*.parquet"))
        return np.concatenate(
            [np.stack(pq.read_table(f, columns=[name])[name].to_numpy(zero_copy_only=False)) for f in files]
        )

    np.testing.assert_array_equal(column(out, "observation.state"), column(src, "observation.state"))
    np.testing.assert_array_equal(column(out, "action"), column(src, "action"))
    assert not column(out, f"{P}.left.present").any()
    src_tasks = pq.read_table(src / "meta/tasks.parquet").to_pandas()
    used = {src_tasks.index[int(i)] for i in column(src, "task_index")}
    assert set(pq.read_table(out / "meta/tasks.parquet").to_pandas().index) == used


def test_exactly_one_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hands"]) == 2
    assert "give exactly one input" in capsys.readouterr().err
    assert main(["hands", "--dir", str(tmp_path), "--lerobot", str(tmp_path)]) == 2
    assert "got --dir, --lerobot" in capsys.readouterr().err
    assert main(["hands", "--lerobot", str(tmp_path)]) == 2
    assert "not a LeRobot dataset" in capsys.readouterr().err
