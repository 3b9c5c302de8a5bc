"""The real, partial LeRobot v2.1 dataset (Unitree G1 + Inspire hands): meta for 100 episodes, data
for 0-4, videos for 1, 2, 4. Through the CLI as a user runs it; expectations from the folder itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from export_support import assert_valid
from fixture_files import fixture
from lerobot_input_support import column, data, decoded, episode_frames, info, packets

from lerobot_nb.cli.main import main

G1 = "real/g1_inspire_lerobot_v21_partial"
CAMERA = "observation.images.cam_high"


def _present(src: Path) -> tuple[list[int], set[int], set[int]]:
    listed = [
        json.loads(line)["episode_index"] for line in (src / "meta/episodes.jsonl").read_text().splitlines()
    ]
    with_data = {int(p.stem.split("_")[1]) for p in (src / "data").rglob("episode_*.parquet")}
    with_video = {int(p.stem.split("_")[1]) for p in (src / "videos").rglob("episode_*.mp4")}
    return listed, with_data, with_video


@pytest.mark.slow
def test_g1_partial_converts_the_complete_episodes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = fixture(G1)
    listed, with_data, with_video = _present(src)
    complete = sorted(with_data & with_video)
    assert len(listed) == 100 and complete == [1, 2, 4]
    out = tmp_path / "g1"
    code = main(["convert", str(src), "--output", str(out), "--skip-bad-episodes", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    lines = {line.split()[0]: line for line in printed.splitlines() if line.startswith("episode_")}
    assert [e for e, line in lines.items() if " written " in line] == [f"episode_{i}" for i in complete]
    for ep in listed:
        if ep in complete:
            continue
        missing = (
            f"data/chunk-000/episode_{ep:06d}.parquet"
            if ep not in with_data
            else f"videos/chunk-000/{CAMERA}/episode_{ep:06d}.mp4"
        )
        assert f"{missing} is missing" in lines[f"episode_{ep}"], lines[f"episode_{ep}"]
    assert "written 3 episodes, skipped 97" in printed and "(3 videos remuxed without re-encoding)" in printed

    src_info, out_info = info(src), info(out)
    names = src_info["features"]["observation.state"]["names"][0]  # v2.1 nests them: [[...]]
    assert len(names) == 26 and out_info["features"]["observation.state"]["names"] == names
    assert out_info["features"]["action"]["names"] == src_info["features"]["action"]["names"][0]
    assert out_info["fps"] == 30 and out_info["total_episodes"] == 3
    tasks = {
        json.loads(t)["task_index"]: json.loads(t)["task"]
        for t in (src / "meta/tasks.jsonl").read_text().splitlines()
    }
    out_data = data(out)
    out_file = next((out / "videos" / CAMERA).rglob("*.mp4"))
    out_packets = iter(packets(out_file))
    for j, ep in enumerate(complete):
        src_rows = pq.read_table(src / f"data/chunk-000/episode_{ep:06d}.parquet")
        rows = out_data.filter(np.asarray(out_data["episode_index"]) == j)
        assert rows.num_rows == src_rows.num_rows
        for key in ("observation.state", "action"):
            np.testing.assert_array_equal(column(rows, key), column(src_rows, key))
            assert column(rows, key).dtype == np.float32
        task_table = pq.read_table(out / "meta/tasks.parquet").to_pandas()
        out_task = dict(zip(task_table["task_index"], task_table.index, strict=True))
        assert [out_task[i] for i in rows["task_index"].to_pylist()] == [
            tasks[i] for i in src_rows["task_index"].to_pylist()
        ]
        src_video = src / f"videos/chunk-000/{CAMERA}/episode_{ep:06d}.mp4"
        # remuxed: packet for packet the source's, and so the same pictures
        assert [next(out_packets)[1] for _ in range(src_rows.num_rows)] == [p for _, p in packets(src_video)]
        got = episode_frames(out, j, CAMERA)
        assert all(np.array_equal(a, b) for a, (_, b) in zip(got, decoded(src_video), strict=True))
    assert_valid(out)


def test_g1_without_skip_names_the_first_bad_episode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = fixture(G1)
    code = main(["convert", str(src), "--output", str(tmp_path / "g1"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        f"error: {src}, episode episode_0, stream cam_high: videos/chunk-000/{CAMERA}/episode_000000.mp4 is "
        "missing (the episode is listed in meta/episodes.jsonl); --skip-bad-episodes converts the episodes "
        "whose files are there"
    ]
    assert not (tmp_path / "g1").exists()


def test_empty_unfinalized_dataset_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = fixture("real/so100_lerobot_v30_empty_unfinalized")
    code = main(["convert", str(src), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        f"error: {src}: an empty or unfinished LeRobot recording (total_episodes 0, no meta/episodes): "
        "nothing to convert"
    ]


@pytest.mark.slow
def test_lerobots_own_v21_converter_on_the_partial_dataset(tmp_path: Path) -> None:
    """Why the v2.x files are read here: lerobot 0.6.1's `convert_dataset_v21_to_v30` runs offline on
    a local folder, but refuses a dataset whose meta lists episodes without files (and numbers
    episodes by file order, so non-contiguous indices fail too), leaves a half-written
    `<name>_v30` beside the input, and on success moves the input itself to `<name>_old`."""
    from lerobot.scripts.convert_dataset_v21_to_v30 import convert_dataset

    work = tmp_path / "g1"
    shutil.copytree(fixture(G1), work)
    with pytest.raises(ValueError, match=r"Number of episodes is not the same \(\{3, 100, 5\}\)"):
        convert_dataset("local/g1", root=str(work), push_to_hub=False)
    assert (tmp_path / "g1_v30/meta/info.json").is_file()  # left behind
