"""The conversion CLIs end to end on real recordings: shared .rrd fixtures, ros2_robot.mcap, samples."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from export_support import assert_valid, check_loads_in_lerobot
from fixture_files import fixture

from lerobot_nb.align import AlignConfig, iter_aligned
from lerobot_nb.cli import main as lerobot_nb_main
from lerobot_nb.cli import oss_server_lerobot
from lerobot_nb.server import open_recordings

RRD_ALIGN = [
    "--fps",
    "10",
    "--index",
    "real_time",
    "--action-path",
    "/action",
    "--state-path",
    "/observation/joint_positions",
    "--task-path",
    "/language_instruction",
    "--image",
    "raw:/camera/raw:raw",
    "--image",
    "jpeg:/camera/jpeg:compressed",
    "--image",
    "video:/camera/video:video",
]
RRD_CONFIG = AlignConfig(
    fps=10,
    index="real_time",
    action_path="/action",
    state_path="/observation/joint_positions",
    task_path="/language_instruction",
    image=("raw:/camera/raw:raw", "jpeg:/camera/jpeg:compressed", "video:/camera/video:video"),
)

pytestmark = pytest.mark.xdist_group("fixture_server")


def _aligned(server: object, config: AlignConfig) -> list:  # type: ignore[type-arg]
    return list(iter_aligned(server, config))  # type: ignore[arg-type]


def test_reference_command_on_the_rrd_fixtures(
    tmp_path: Path, fixture_server: object, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    code = oss_server_lerobot.main(
        [
            "--rrd-dir",
            str(fixture("rrd")),
            "--output",
            str(out),
            "--dataset-name",
            "robot_runs",
            *RRD_ALIGN,
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "written 2 episodes, skipped 0" in printed and "episode_0" in printed
    expected = _aligned(fixture_server, RRD_CONFIG)
    check_loads_in_lerobot(out, expected, min_psnr=30)
    info = json.loads((out / "meta/info.json").read_text())
    assert info["features"]["observation.images.video"]["info"]["video.codec"] == "av1"
    assert info["total_frames"] == sum(e.length for e in expected)
    assert_valid(out)


def test_convert_attaches_to_a_server_url_and_resumes(
    tmp_path: Path, fixture_server: object, capsys: pytest.CaptureFixture[str]
) -> None:
    url = fixture_server.url  # type: ignore[attr-defined]
    out = tmp_path / "ds"
    base = [
        "convert",
        "--server-url",
        url,
        "--output",
        str(out),
        *RRD_ALIGN[:-4],
        "--codec",
        "h264",
        "--no-progress",
    ]
    assert lerobot_nb_main.main([*base, "--episodes", "episode_1"]) == 0
    assert json.loads((out / "meta/info.json").read_text())["total_episodes"] == 1
    assert lerobot_nb_main.main([*base, "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "written 1 episodes, skipped 0, already present 1" in printed
    expected = {e.episode_id: e for e in _aligned(fixture_server, RRD_CONFIG)}
    # episode_1 went first (index 0), episode_0 was appended by --resume
    check_loads_in_lerobot(
        out,
        [
            expected["episode_1"].__class__(
                **{**expected["episode_1"].__dict__, "images": {"raw": expected["episode_1"].images["raw"]}}
            ),
            expected["episode_0"].__class__(
                **{**expected["episode_0"].__dict__, "images": {"raw": expected["episode_0"].images["raw"]}}
            ),
        ],
    )
    assert lerobot_nb_main.main([*base, "--resume"]) == 0  # nothing new: a no-op
    assert "written 0 episodes, skipped 0, already present 2" in capsys.readouterr().out


def test_convert_ros2_mcap(tmp_path: Path) -> None:
    mcap = tmp_path / "in" / "ros2_robot.mcap"
    mcap.parent.mkdir()
    shutil.copy(fixture("mcap/ros2_robot.mcap"), mcap)
    config = AlignConfig(
        fps=10,
        index="message_log_time",
        action_path="/action",
        state_path="/joint_states/position",
        task_path="/task",
        image=("raw:/camera/image_raw:raw", "jpeg:/camera/image/compressed:compressed"),
    )
    out = tmp_path / "ds"
    code = lerobot_nb_main.main(
        [
            "convert",
            str(mcap),
            "--output",
            str(out),
            "--fps",
            "10",
            "--index",
            "message_log_time",
            "--action-path",
            "/action",
            "--state-path",
            "/joint_states/position",
            "--task-path",
            "/task",
            "--image",
            "raw:/camera/image_raw:raw",
            "--image",
            "jpeg:/camera/image/compressed:compressed",
            "--no-progress",
        ]
    )
    assert code == 0
    with open_recordings(mcap) as server:
        expected = _aligned(server, config)
    check_loads_in_lerobot(out, expected, min_psnr=28)
    names = json.loads((out / "meta/info.json").read_text())["features"]["observation.state"]["names"]
    assert names == list(expected[0].names["observation.state"])  # JointState names kept


def test_convert_sample_recordings_with_h264(tmp_path: Path) -> None:
    from lerobot_nb.sources.sample import sample_recordings

    rrd = sample_recordings(episodes=2)
    config = AlignConfig(image=("top:/camera/top:video", "wrist:/camera/wrist:compressed"))
    out = tmp_path / "ds"
    code = lerobot_nb_main.main(
        [
            "convert",
            str(rrd),
            "--output",
            str(out),
            "--image",
            "top:/camera/top:video",
            "--image",
            "wrist:/camera/wrist:compressed",
            "--codec",
            "h264",
            "--no-progress",
        ]
    )
    assert code == 0
    with open_recordings(rrd) as server:
        expected = _aligned(server, config)
    check_loads_in_lerobot(out, expected, min_psnr=28)


def _cli(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lerobot_nb.cli.oss_server_lerobot", *args],
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )  # type: ignore[call-overload]


def test_bad_outputs_are_one_line_errors(tmp_path: Path, rrd_dir: Path) -> None:
    inside = _cli("--rrd-dir", str(rrd_dir), "--output", str(rrd_dir / "ds"), *RRD_ALIGN)
    assert inside.returncode == 2
    assert inside.stderr.strip().splitlines() == [
        f"error: {rrd_dir / 'ds'}: the output folder is inside the input folder (the dataset would be read "
        "back as recordings); choose an output outside it"
    ]
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken/file.txt").write_text("x")
    taken = _cli("--rrd-dir", str(rrd_dir), "--output", str(tmp_path / "taken"), *RRD_ALIGN)
    assert taken.returncode == 2 and "pass --overwrite" in taken.stderr
    assert (tmp_path / "taken/file.txt").read_text() == "x"


def test_no_write_permission(tmp_path: Path, rrd_dir: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    # root ignores mode bits, but not the immutable attribute
    lock = ["chattr", "+i", str(locked)] if os.geteuid() == 0 else ["chmod", "555", str(locked)]
    unlock = ["chattr", "-i", str(locked)] if os.geteuid() == 0 else ["chmod", "755", str(locked)]
    if subprocess.run(lock, capture_output=True).returncode != 0:
        pytest.skip("cannot make a read-only folder here")
    try:
        result = _cli("--rrd-dir", str(rrd_dir), "--output", str(locked / "ds"), *RRD_ALIGN)
    finally:
        subprocess.run(unlock, check=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {locked / 'ds'}: no write permission in {locked}"]
    assert list(locked.iterdir()) == []


def test_real_h264_video_stream_is_remuxed_on_its_own_grid(
    tmp_path: Path, fixture_server: object, capsys: pytest.CaptureFixture[str]
) -> None:
    # /camera/video is H.264 at 15 Hz: on a 15 fps grid every tick is its own sample -> remux
    args = [
        "--fps",
        "15",
        "--action-path",
        "/action",
        "--state-path",
        "/observation/joint_positions",
        "--image",
        "video:/camera/video:video",
        "--codec",
        "h264",
        "--no-progress",
    ]
    out = tmp_path / "ds"
    assert oss_server_lerobot.main(["--rrd-dir", str(fixture("rrd")), "--output", str(out), *args]) == 0
    assert "(2 videos remuxed without re-encoding)" in capsys.readouterr().out
    config = AlignConfig(
        fps=15, state_path="/observation/joint_positions", image=("video:/camera/video:video",)
    )
    expected = _aligned(fixture_server, config)
    check_loads_in_lerobot(out, expected, min_psnr=45)  # the source's own pictures, not re-encoded
    assert_valid(out)


def test_every_reference_flag_is_accepted(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    parser = oss_server_lerobot.build_parser()
    flags = {s for a in parser._actions for s in a.option_strings}
    reference = {
        "--rrd-dir",
        "--output",
        "--dataset-name",
        "--fps",
        "--index",
        "--action-path",
        "--state-path",
        "--task-path",
        "--image",
        "--action-column",
        "--state-column",
        "--task-column",
        "--video-format",
    }
    assert reference <= flags
    assert {
        "--codec",
        "--episodes",
        "--workers",
        "--resume",
        "--overwrite",
        "--writer",
        "--skip-bad-episodes",
        "--g",
        "--crf",
        "--preset",
        "--pix-fmt",
    } <= flags
    # full column names and the video format give the same dataset as the entity paths
    rrd = str(fixture("rrd"))
    common = ["--rrd-dir", rrd, "--fps", "10", "--image", "video:/camera/video:video", "--no-progress"]
    assert (
        oss_server_lerobot.main(
            [
                *common,
                "--output",
                str(tmp_path / "a"),
                "--action-path",
                "/action",
                "--state-path",
                "/observation/joint_positions",
            ]
        )
        == 0
    )
    assert (
        oss_server_lerobot.main(
            [
                *common,
                "--output",
                str(tmp_path / "b"),
                "--action-column",
                "/action:Scalars:scalars",
                "--state-column",
                "/observation/joint_positions:Scalars:scalars",
                "--task-column",
                "/language_instruction:TextDocument:text",
                "--video-format",
                "h264",
            ]
        )
        == 0
    )
    a, b = (pq.read_table(tmp_path / d / "data/chunk-000/file-000.parquet") for d in "ab")
    assert a.equals(b) and a.num_rows == 80
