"""The seed's `lrbt` commands: the spec's flags, lerobot's default folder for the repo id, a push at the end.

xgym's HaMeR `.npz` input goes through a real websocket server replaying HaMeR answers
(tests/hamer_test_server.py); the RLDS input is the real BridgeData fixture placed where
`tfds.load("xgym_lift_single:1.0.0")` would look; the Hub is the recording stand-in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from fixture_files import fixture
from hamer_test_server import HamerTestServer, image_key
from hands_fixtures import fake_hamer_answers, rhd_samples
from hub_standin import recording_hub

from lerobot_nb.lrbt import convert, from_mano_npz

pytestmark = pytest.mark.xdist_group("hands_cli")
TASK_VECTOR = np.linspace(-1, 1, 512, dtype=np.float32)


def _npz_dir(tmp_path: Path) -> Path:
    samples = rhd_samples()
    d = tmp_path / "npz"
    d.mkdir()
    np.savez(d / "ep0.npz", low=np.stack([samples[0].image, samples[2].image]))
    np.save(d / "task-pick_up_the_red_block.npy", TASK_VECTOR)
    return d


def _answers() -> dict[str, object]:
    hamer = fake_hamer_answers()
    return {image_key(s.image): {k: v for k, v in hamer[s.file_name].items() if k != "gt_keypoints_2d"}
            for s in rhd_samples()}  # fmt: skip


def test_from_mano_npz_writes_hands_at_50_fps_into_lerobots_folder_and_pushes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_LEROBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("lerobot.utils.constants.HF_LEROBOT_HOME", tmp_path / "home")
    hub = recording_hub(monkeypatch)
    with HamerTestServer(_answers()) as srv:
        code = from_mano_npz.main([
            "--dir", str(_npz_dir(tmp_path)), "--repo-id", "lab/hands", "--branch", "xgym-v0.1",
            "--hamer.host", "127.0.0.1", "--hamer.port", str(srv.port), "--codec", "h264", "--no-progress",
        ])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    root = tmp_path / "home" / "lab" / "hands"
    info = json.loads((root / "meta/info.json").read_text())
    assert (info["fps"], info["total_frames"], info["robot_type"]) == (50, 2, "human")
    table = pq.read_table(next((root / "data").rglob("*.parquet")))
    emb = np.stack(table.column("observation.language_embedding").to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(emb, np.stack([TASK_VECTOR] * 2))
    left = np.stack(table.column("observation.hands.left.kp2d").to_numpy(zero_copy_only=False))
    assert np.abs(left[0].reshape(21, 2) - rhd_samples()[0].keypoints).max() < 0.1
    names = [c.name for c in hub.calls]
    assert names[:2] == ["create_repo", "create_branch"] and names[-1] == "create_tag"
    commit = next(c for c in hub.calls if c.name == "create_commit")
    assert commit.args["repo_id"] == "lab/hands" and commit.args["revision"] == "xgym-v0.1"
    assert "pushed" in out


def test_convert_reads_the_xgym_builder_by_task_embodiment_and_version(tmp_path: Path) -> None:
    data_dir = tmp_path / "tfds"
    (data_dir / "xgym_lift_single").mkdir(parents=True)
    (data_dir / "xgym_lift_single" / "1.0.0").symlink_to(
        fixture("real/bridge_rlds_octo/bridge_dataset/1.0.0")
    )
    out = tmp_path / "ds"
    code = convert.main([
        "--task", "lift", "--embodiment", "single", "--version", "1.0.0", "--data-dir", str(data_dir),
        "--output", str(out), "--no-push", "--codec", "h264", "--no-progress", "--episodes", "train_00000",
        "--episodes", "train_00001",
    ])  # fmt: skip
    assert code == 0
    info = json.loads((out / "meta/info.json").read_text())
    assert (info["fps"], info["total_episodes"], info["total_frames"]) == (50, 2, 20)
    assert info["features"]["observation.language_embedding"]["shape"] == [512]
    assert {"observation.images.image_0", "observation.state", "action"} <= set(info["features"])


def test_a_push_without_repo_id_fails_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = from_mano_npz.main(["--dir", str(_npz_dir(tmp_path)), "--output", str(tmp_path / "ds")])
    assert code == 2 and not (tmp_path / "ds").exists()
    assert capsys.readouterr().err == (
        "error: --push needs --repo-id user/name (or pass --no-push to only write the dataset)\n"
    )


def test_no_output_and_no_repo_id_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert from_mano_npz.main(["--dir", str(_npz_dir(tmp_path)), "--no-push"]) == 2
    assert "pass --output DIR (or --repo-id user/name" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["from_memmap", "from_mano_npz", "convert"])
def test_the_modules_run_with_the_specs_flags(module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", f"lerobot_nb.lrbt.{module}", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    spec_flags = {
        "from_memmap": ["--dir", "--branch", "--repo-id"],
        "from_mano_npz": ["--dir", "--branch", "--repo-id", "--hamer.host", "--hamer.port"],
        "convert": ["--embodiment", "--task", "--version"],
    }[module]
    assert all(flag in proc.stdout for flag in [*spec_flags, "--output", "--push", "--no-push", "--fps"])
