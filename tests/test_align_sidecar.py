"""Cameras saved as mp4 files beside the recording (prismax's shape): `--image KEY:PATH:file[:offset_s]`.

The recording is generated (`lerobot_nb.sources.sample_sidecar`): H.264 with B-frames, pts from
0, every frame numbered in its pixels, so each tick's frame is checked against the frame a
latest-at pick on the video's own times must give.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lerobot_nb.align import AlignConfig, iter_aligned
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.server import RecordingServer, ServerConfig
from lerobot_nb.sources.sample_sidecar import read_frame_number, write_sidecar_recording

CAMERA = "front:{episode}/robot.front.color.image_raw.mp4:file"


def _config(image: str = CAMERA, fps: int = 15) -> AlignConfig:
    return AlignConfig(
        index="ros2_timestamp",
        fps=fps,
        state_path="/robot/arm_follow/joint_states/position",
        action_path="/robot/arm_lead/joint_states/position",
        task_path=None,
        image=(image,),
    )


def test_the_generated_video_really_has_b_frames(tmp_path: Path) -> None:
    import av

    write_sidecar_recording(tmp_path, "ep0", seconds=1.0)
    with av.open(str(tmp_path / "ep0/robot.front.color.image_raw.mp4")) as container:
        step = int(1 / (container.streams.video[0].time_base * 30))
        pts = [p.pts for p in container.demux(video=0) if p.size]
    assert pts != sorted(pts) and sorted(pts) == [
        i * step for i in range(30)
    ]  # B-frames: decode order differs


@pytest.mark.parametrize("offset_s", [0.0, 0.5])
def test_each_tick_gets_the_latest_video_frame_on_the_recordings_clock(
    tmp_path: Path, offset_s: float
) -> None:
    truth = write_sidecar_recording(tmp_path, "ep0", seconds=3.0)
    start = int(min(t[0] for t in truth.joint_times.values()))
    joint_end = int(min(t[-1] for t in truth.joint_times.values()))
    image = CAMERA if not offset_s else f"{CAMERA}:{offset_s}"
    with RecordingServer(ServerConfig(recordings=(str(truth.mcap),))) as server:
        (ep,) = iter_aligned(server, _config(image))
        numbers = [read_frame_number(frame) for frame in ep.images["front"]]
    video_start = start + round(offset_s * 1e9)
    video_end = video_start + round((truth.video_frames["front"] - 1) * 1e9 / truth.video_fps)
    want_ticks = video_start + (2 * np.arange(200) * 1_000_000_000 + 15) // 30
    want_ticks = want_ticks[want_ticks <= min(joint_end, video_end)]
    np.testing.assert_array_equal(ep.ticks, want_ticks)
    # frame j shows from video_start + j / fps (ns, rounded) on: the latest at or before each tick
    frame_times = video_start + np.round(np.arange(truth.video_frames["front"]) * 1e9 / truth.video_fps)
    assert numbers == (np.searchsorted(frame_times, ep.ticks, side="right") - 1).tolist()
    assert ep.images["front"].height == 64 and ep.images["front"].width == 112


def test_a_missing_video_file_is_one_line_naming_it(tmp_path: Path) -> None:
    truth = write_sidecar_recording(tmp_path, "ep0", seconds=1.0)
    with (
        RecordingServer(ServerConfig(recordings=(str(truth.mcap),))) as server,
        pytest.raises(LerobotNbError) as err,
    ):
        list(iter_aligned(server, _config("front:{episode}/robot.side.color.image_raw.mp4:file")))
    assert str(err.value) == (
        f"{truth.mcap}, episode ep0, stream front: no video file {tmp_path}/ep0/robot.side.color.image_raw.mp4 beside the recording"
    )


@pytest.mark.slow
def test_convert_writes_the_video_files_frames_in_sync(tmp_path: Path) -> None:
    from lerobot.datasets import LeRobotDataset

    from lerobot_nb.cli.main import main

    truth = write_sidecar_recording(tmp_path / "rec", "ep0", seconds=2.0)
    out = tmp_path / "ds"
    code = main([
        "convert", str(truth.mcap), "--output", str(out), "--index", "ros2_timestamp", "--fps", "15",
        "--state-path", "/robot/arm_follow/joint_states/position", "--action-path",
        "/robot/arm_lead/joint_states/position", "--task-path", "", "--task", "pick", "--image", CAMERA,
        "--no-progress",
    ])  # fmt: skip
    assert code == 0
    ds = LeRobotDataset("local/sidecar", root=out, video_backend="pyav")
    got = [
        read_frame_number(ds[i]["observation.images.front"].permute(1, 2, 0).numpy() * 255)
        for i in range(len(ds))
    ]
    start = int(min(t[0] for t in truth.joint_times.values()))
    ticks = start + (2 * np.arange(len(ds)) * 1_000_000_000 + 15) // 30
    frame_times = start + np.round(np.arange(truth.video_frames["front"]) * 1e9 / truth.video_fps)
    assert got == (np.searchsorted(frame_times, ticks, side="right") - 1).tolist()
