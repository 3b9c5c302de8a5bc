"""`lerobot-nb convert` / `inspect` on RLDS: real Bridge data and generated TFDS folders, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixture_files import fixture
from rlds_support import NAME, decode_example, raw_records, state, toy

from lerobot_nb.cli.main import main

BRIDGE = "real/bridge_rlds_octo/bridge_dataset/1.0.0"


def test_convert_without_fps_asks_for_it_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = fixture(BRIDGE)
    assert main(["convert", str(root), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {root}: RLDS dataset bridge_dataset 1.0.0 does not say its steps per second (no fps in "
        "metadata.json): pass --fps <steps per second> (one step = one frame; API/notebooks: fps=...)\n"
    )
    assert not (tmp_path / "out").exists()


def test_convert_a_bad_record_skipped_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / NAME / "1.0.0"
    shards = toy(root, [[3, 4, 5]])
    shard = shards["train"][0]
    blob = bytearray(shard.read_bytes())
    blob[-10] ^= 0xFF  # inside the last record's data
    shard.write_bytes(bytes(blob))
    out = tmp_path / "out"
    args = ["convert", str(root), "--output", str(out), "--fps", "4", "--no-progress"]
    assert main(args) == 2
    assert "episode train_00002: record 2 (byte " in capsys.readouterr().err
    assert main([*args, "--skip-bad-episodes"]) == 0
    printed = capsys.readouterr().out
    assert "train_00002" in printed and "data CRC mismatch" in printed
    info = json.loads((out / "meta/info.json").read_text())
    assert (info["total_episodes"], info["total_frames"], info["fps"]) == (2, 7, 4)
    import pyarrow.parquet as pq

    table = pq.read_table(next((out / "data").rglob("*.parquet")))
    got = np.stack(table.column("observation.state").to_numpy(zero_copy_only=False))
    want = np.array([state(e, t) for e, n in ((0, 3), (1, 4)) for t in range(n)], np.float32)
    np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_convert_one_split_with_its_embedding_and_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lerobot.datasets import LeRobotDataset

    shard = fixture(BRIDGE) / "bridge_dataset-val.tfrecord-00000-of-00001"
    out = tmp_path / "bridge_val"
    argv = ["convert", str(shard), "--output", str(out), "--fps", "5", "--language-embedding", "npy"]
    assert main([*argv, "--no-progress"]) == 0
    assert "written 25 episodes" in capsys.readouterr().out
    ds = LeRobotDataset("local/bridge_val", root=out, video_backend="pyav")
    assert (ds.num_episodes, ds.num_frames, ds.fps) == (25, 250, 5)
    assert sorted(k for k in ds.features if k.startswith("observation.images.")) == [
        f"observation.images.image_{i}" for i in range(3)
    ]
    raw = [decode_example(r) for r in raw_records(shard)]
    for index in (0, 123, 249):
        ep, step = divmod(index, 10)
        item = ds[index]
        emb = np.array(raw[ep]["steps/language_embedding"][1], np.float32).reshape(10, 512)[step]
        np.testing.assert_array_equal(item["observation.language_embedding"].numpy(), emb)
        act = np.array(raw[ep]["steps/action"][1], np.float32).reshape(10, 7)[step]
        np.testing.assert_array_equal(item["action"].numpy(), act)
        assert item["task"] == raw[ep]["steps/language_instruction"][1][step].decode()
    sources = json.loads((out / "meta/lerobot_nb.json").read_text())
    assert "val_00000" in json.dumps(sources)


@pytest.mark.slow
def test_inspect_serves_the_episodes(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("LEROBOT_NB_CACHE", str(tmp_path / "cache"))
    root = fixture(BRIDGE)
    assert main(["inspect", str(root.parent)]) == 0
    out = capsys.readouterr().out
    assert "50 episode(s) from" in out
    for stream in (
        "/steps/observation/state:Scalars:scalars",
        "/steps/observation/image_0:EncodedImage:blob",
    ):
        assert stream in out
    assert "| val_00024 " in out and "| train_00000 " in out
