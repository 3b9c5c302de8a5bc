"""`lerobot-nb convert` / `inspect` on an xgym folder: the defaults, the overrides, bad input, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixture_files import fixture
from xgym_support import (
    ACTION_NAMES,
    RED_BLOCK,
    STATE_NAMES,
    expected_action,
    expected_state,
    expected_time_ns,
    kept_records,
    make_folder,
)

from lerobot_nb.cli.main import main
from lerobot_nb.sources.xgym_sample import XgymEpisodeSpec, read_frame_id

#: Padding, a crash and a late camera with a NaN gripper, at the recorder's camera size.
SPECS = (
    XgymEpisodeSpec(records=16, maxlen=20, seed=0),
    XgymEpisodeSpec(records=12, maxlen=20, crashed=True, seed=1),
    XgymEpisodeSpec(records=20, late=((2, 3),), nan_gripper=(7,), seed=2),
)
IDS = [f"xgym_data_20250301-09000{i}" for i in range(3)]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path, SPECS)


def _convert(folder: Path, out: Path, *flags: str) -> int:
    return main(["convert", str(folder), "--output", str(out), "--no-progress", *flags])


def _info(out: Path) -> dict:
    return json.loads((out / "meta/info.json").read_text())


@pytest.mark.slow
def test_convert_with_no_flags_gives_the_default_features(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lerobot.datasets import LeRobotDataset

    out = tmp_path / "ds"
    assert _convert(folder, out) == 0
    printed = capsys.readouterr()
    assert "written 3 episodes, skipped 0" in printed.out
    info = _info(out)
    assert (info["fps"], info["total_episodes"], info["total_frames"]) == (50, 3, 16 + 12 + 17)
    features = info["features"]
    assert list(features)[:5] == [
        "action",
        "observation.state",
        "observation.images.worm",
        "observation.images.side",
        "observation.images.wrist",
    ]
    assert (features["observation.state"]["shape"], features["observation.state"]["names"]) == (
        [14],
        STATE_NAMES,
    )
    assert (features["action"]["shape"], features["action"]["names"]) == ([8], ACTION_NAMES)
    assert features["observation.images.side"]["shape"] == [224, 224, 3]
    ds = LeRobotDataset("local/xgym", root=out, video_backend="pyav")
    start = 0
    for spec in SPECS:
        records = kept_records(spec)
        for k in (0, len(records) - 1):
            item = ds[start + k]
            np.testing.assert_array_equal(
                item["observation.state"].numpy(), expected_state(spec)[k].astype(np.float32)
            )
            np.testing.assert_array_equal(item["action"].numpy(), expected_action(spec)[k].astype(np.float32))
            assert item["task"] == "pick up the red block"
            chw = item["observation.images.wrist"].numpy()
            assert read_frame_id((chw.transpose(1, 2, 0) * 255).round().astype(np.uint8)) == (records[k], 2)
        start += len(records)


def test_convert_at_another_fps_regrids_on_time(folder: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "ds"
    assert _convert(folder, out, "--fps", "10", "--codec", "h264") == 0  # another fps: on `time`
    table = pq.read_table(next((out / "data").rglob("*.parquet")))
    state = np.stack(table.column("observation.state").to_numpy(zero_copy_only=False))
    want = []
    for spec in SPECS:
        times = expected_time_ns(spec)
        ticks = np.arange(times[0], times[-1] + 1, 100_000_000)  # k / 10 s from the first kept record
        want.append(expected_state(spec)[np.searchsorted(times, ticks, side="right") - 1])
    np.testing.assert_array_equal(state, np.concatenate(want).astype(state.dtype))
    assert (_info(out)["fps"], _info(out)["total_frames"]) == (10, sum(len(w) for w in want))


def test_language_embedding_npy_and_min_frames(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "ds"
    assert _convert(folder, out, "--language-embedding", "npy", "--min-frames", "14", "--codec", "h264") == 0
    skipped = [
        line for line in capsys.readouterr().out.splitlines() if "skipped " in line and "min_frames" in line
    ]
    assert len(skipped) == 1 and skipped[0].startswith(IDS[1])
    assert skipped[0].endswith("12 frames, fewer than min_frames=14")
    features = _info(out)["features"]
    assert features["observation.language_embedding"]["shape"] == [512]
    table = pq.read_table(next((out / "data").rglob("*.parquet")))
    emb = np.stack(table.column("observation.language_embedding").to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(emb, np.tile(np.load(fixture(RED_BLOCK)), (16 + 17, 1)).astype(emb.dtype))


def test_bad_input_is_one_line_and_nothing_is_written(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dat = folder / f"{IDS[1]}.dat"
    record = 4 * 23 + 3 * 224 * 224 * 3
    with dat.open("r+b") as fh:
        fh.truncate(20 * record - 10)
    out = tmp_path / "ds"
    assert _convert(folder, out) == 2
    assert capsys.readouterr().err == (
        f"error: {dat}, episode {IDS[1]}, stream /xgym/camera/wrist: truncated: {20 * record - 10} bytes, but "
        f"maxlen 20 records of {record} bytes need {20 * record}; it ends in record 19\n"
    )
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["xgym"]
    assert _convert(folder, out, "--skip-bad-episodes", "--codec", "h264") == 0
    printed = capsys.readouterr().out
    assert f"{IDS[1]}  skipped" in printed and "truncated" in printed
    assert _info(out)["total_episodes"] == 2


def test_inspect_suggests_the_identity_and_reports_the_jitter_of_time(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["timelines"] == {"record": "sequence", "time": "timestamp"}
    assert report["suggestion"] == {
        "index": "record",
        "fps": 50,
        "action_path": ["/gello_joints"],
        "state_path": ["/xarm_joints", "/xarm_gripper", "/xarm_pose"],
        "task_path": "/language_instruction",
        "image": ["worm:/xgym/camera/worm", "side:/xgym/camera/side", "wrist:/xgym/camera/wrist"],
    }
    late = [
        s
        for s in report["streams"]
        if s["episode"] == IDS[2] and s["stream"] == "/xarm_joints:Scalars:scalars"
    ]
    interval_s = np.diff(expected_time_ns(SPECS[2])) / 1e9
    assert late[0]["count"] == 17
    assert late[0]["jitter_ms"] == pytest.approx(np.std(interval_s) * 1e3, rel=1e-9)
