"""RLDS reader on TFDS folders written by the tests' own codec: shards, flags, encodings, bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from rlds_support import (
    NAME,
    action,
    depth,
    episode_values,
    example_bytes,
    fdict,
    features,
    image,
    pixels,
    record,
    sequence_example_bytes,
    state,
    steps,
    tensor,
    text,
    toy,
    write_builder,
)

from lerobot_nb.align import AlignConfig, iter_recorded
from lerobot_nb.episode import EpisodeSkipped
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.discover import discover_recordings
from lerobot_nb.sources.formats import format_of
from lerobot_nb.sources.rlds import builder_dir, open_reader


@pytest.fixture
def two_shards(tmp_path: Path) -> Path:
    root = tmp_path / NAME / "1.0.0"
    toy(root, [[3, 4, 5], [2, 6]])
    return root


def test_multi_shard_split_episodes_values_and_ids(two_shards: Path) -> None:
    reader = open_reader(two_shards)
    assert reader.episode_ids() == [f"train_{i:05d}" for i in range(5)]
    for e, n in enumerate([3, 4, 5, 2, 6]):
        rec = reader.read(f"train_{e:05d}")
        assert rec.index == "step" and rec.index_kind == "sequence"
        np.testing.assert_array_equal(rec.numeric["/steps/observation/state"].times, np.arange(n))
        want = np.array([state(e, t) for t in range(n)], np.float32).astype(np.float64)
        np.testing.assert_array_equal(rec.numeric["/steps/observation/state"].values, want)
        np.testing.assert_array_equal(
            rec.numeric["/steps/action"].values, np.array([action(e, t) for t in range(n)], np.float32)
        )
        np.testing.assert_array_equal(
            rec.numeric["/steps/observation/depth"].values, np.stack([depth(e, t).ravel() for t in range(n)])
        )
        np.testing.assert_array_equal(rec.numeric["/episode_metadata/has_image_0"].values, np.ones((n, 1)))
        frames = list(rec.images["/steps/observation/image_0"].frames(np.arange(n)))
        np.testing.assert_array_equal(np.stack(frames), np.stack([pixels(e, t) for t in range(n)]))
        assert rec.task == f"task {e}"
        assert rec.notes == ()
        assert rec.source.endswith("-of-00002") and (f"{e // 3:05d}-of" in rec.source)


def test_names_from_descriptions_and_scalar_keys(two_shards: Path) -> None:
    rec = open_reader(two_shards).read("train_00000")
    assert rec.numeric["/steps/action"].names == ("x", "y")
    assert rec.numeric["/steps/observation/state"].names == ("joint_0", "joint_1", "gripper")
    assert rec.numeric["/steps/reward"].names == ("reward",)
    assert rec.numeric["/steps/observation/depth"].names is None


def test_defaults_on_generated(two_shards: Path) -> None:
    assert dict(open_reader(two_shards).defaults()) == {
        "index": "step",
        "state_path": ("/steps/observation/state",),
        "action_path": ("/steps/action",),
        "image": ("image_0:/steps/observation/image_0",),
        "task_path": "/steps/language_instruction",
        "fps": None,  # not in the metadata: the pipeline asks for --fps
    }


def test_one_shard_file_reads_that_shard_with_split_wide_ids(two_shards: Path) -> None:
    shard = two_shards / f"{NAME}-train.tfrecord-00001-of-00002"
    assert format_of(shard) is not None and format_of(shard).name == "rlds"
    reader = open_reader(shard)
    assert reader.episode_ids() == ["train_00003", "train_00004"]
    assert reader.read("train_00004").numeric["/steps/action"].values[0, 1] == 4 - 0.5


def test_version_parent_folder_and_builder_dir(two_shards: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = two_shards.parent
    assert format_of(parent) is not None and format_of(parent).name == "rlds"
    assert open_reader(parent).episode_ids() == open_reader(two_shards).episode_ids()
    monkeypatch.setenv("TFDS_DATA_DIR", str(parent.parent))
    assert builder_dir(NAME, "1.0.0") == two_shards
    shutil.copytree(two_shards, parent / "1.1.0")
    with pytest.raises(LerobotNbError, match=r"has versions 1\.0\.0, 1\.1\.0: point at one version folder"):
        open_reader(parent)


def test_missing_is_last_is_a_note_and_the_record_is_the_episode(tmp_path: Path) -> None:
    root = tmp_path / NAME / "1.0.0"
    toy(root, [[4]], is_last=False)
    rec = open_reader(root).read("train_00000")
    assert len(rec.numeric["/steps/action"].times) == 4
    assert rec.notes == ("no is_last flag: the record's 4 steps are the episode",)
    assert "/steps/is_last" not in rec.numeric


def test_is_last_before_the_end_is_a_note(tmp_path: Path) -> None:
    root = tmp_path / NAME / "1.0.0"
    toy(root, [[5]], last_at=2)
    rec = open_reader(root).read("train_00000")
    assert rec.notes == ("is_last is true at steps [2], not only at 4: the record's 5 steps are the episode",)
    assert len(rec.numeric["/steps/action"].times) == 5


def test_sequence_example_records_give_the_same_values(tmp_path: Path) -> None:
    root = tmp_path / NAME / "1.0.0"
    n, flat = 3, episode_values(7, 3)
    per_step = {"steps/observation/state": 3, "steps/action": 2, "steps/is_first": 1, "steps/is_last": 1}
    lists = {
        k.removeprefix("steps/"): [(flat[k][0], flat[k][1][t * w : (t + 1) * w]) for t in range(n)]
        for k, w in per_step.items()
    }
    lists["language_instruction"] = [("bytes", [b"task 7"])] * n
    feats = fdict(
        steps=steps(
            fdict(
                action=tensor([2]),
                observation=fdict(state=tensor([3])),
                language_instruction=text(),
                is_first=tensor([], "bool"),
                is_last=tensor([], "bool"),
            )
        )
    )
    write_builder(root, NAME, feats, {"train": [[sequence_example_bytes({}, lists)]]})
    rec = open_reader(root).read("train_00000")
    want = np.array([state(7, t) for t in range(n)], np.float32)
    np.testing.assert_array_equal(rec.numeric["/steps/observation/state"].values, want)
    assert rec.task == "task 7" and rec.notes == ()


def test_steps_disagreeing_in_length_name_the_stream(tmp_path: Path) -> None:
    root = tmp_path / NAME / "1.0.0"
    values = episode_values(0, 3)
    values["steps/reward"] = ("float", [0.0, 1.0])
    write_builder(root, NAME, features(), {"train": [[example_bytes(values)]]})
    with pytest.raises(LerobotNbError) as err:
        open_reader(root).read("train_00000")
    assert str(err.value) == (
        f"{root}/{NAME}-train.tfrecord-00000-of-00001, episode train_00000, stream /steps/reward: "
        "2 steps, while the other step features have 3"
    )


# -- bad files -------------------------------------------------------------------------------------
def _offsets(path: Path) -> list[int]:
    import struct

    buf, pos, out = path.read_bytes(), 0, []
    while pos < len(buf):
        out.append(pos)
        pos += 12 + struct.unpack_from("<Q", buf, pos)[0] + 4
    return out


def test_data_crc_corruption_names_file_and_record(two_shards: Path) -> None:
    shard = two_shards / f"{NAME}-train.tfrecord-00000-of-00002"
    at = _offsets(shard)[1]
    blob = bytearray(shard.read_bytes())
    blob[at + 12 + 40] ^= 0xFF
    shard.write_bytes(bytes(blob))
    reader = open_reader(two_shards)
    assert reader.read("train_00000").episode_id == "train_00000"
    with pytest.raises(LerobotNbError) as err:
        reader.read("train_00001")
    msg = str(err.value)
    assert msg.startswith(f"{shard}, episode train_00001: record 1 (byte {at}): data CRC mismatch (stored 0x")
    assert msg.endswith("the file is corrupt") and "\n" not in msg
    got = list(
        iter_recorded(reader, AlignConfig(**{**reader.defaults(), "fps": 5, "skip_bad_episodes": True}))
    )
    assert [g.episode_id for g in got] == [
        "train_00000",
        "train_00001",
        "train_00002",
        "train_00003",
        "train_00004",
    ]
    assert isinstance(got[1], EpisodeSkipped) and "data CRC mismatch" in got[1].reason
    assert [type(g).__name__ for g in got].count("AlignedEpisode") == 4


def test_length_crc_corruption_loses_the_rest_of_the_shard_by_name(two_shards: Path) -> None:
    shard = two_shards / f"{NAME}-train.tfrecord-00000-of-00002"
    at = _offsets(shard)[1]
    blob = bytearray(shard.read_bytes())
    blob[at] ^= 0x01
    shard.write_bytes(bytes(blob))
    reader = open_reader(two_shards)
    assert len(reader.episode_ids()) == 5  # dataset_info.json's count
    with pytest.raises(
        LerobotNbError, match=rf"episode train_00001: record 1 \(byte {at}\): length CRC mismatch"
    ):
        reader.read("train_00001")
    with pytest.raises(LerobotNbError, match="record 2 missing: the file ends after 2 record"):
        reader.read("train_00002")
    assert len(reader.read("train_00003").numeric["/steps/action"].times) == 2


def test_truncated_file(two_shards: Path) -> None:
    shard = two_shards / f"{NAME}-train.tfrecord-00001-of-00002"
    last = _offsets(shard)[1]
    data = shard.read_bytes()
    shard.write_bytes(data[: last + 30])
    reader = open_reader(two_shards)
    assert reader.episode_ids()[-1] == "train_00004"
    assert len(reader.read("train_00003").numeric["/steps/action"].times) == 2
    with pytest.raises(LerobotNbError) as err:
        reader.read("train_00004")
    need = len(data) - last
    assert str(err.value) == (
        f"{shard}, episode train_00004: record 1 (byte {last}): file truncated, the record needs {need} "
        "bytes but 30 are left"
    )


def test_folder_without_features_json(two_shards: Path) -> None:
    (two_shards / "features.json").unlink()
    assert format_of(two_shards) is not None
    with pytest.raises(LerobotNbError) as err:
        open_reader(two_shards)
    assert (
        str(err.value)
        == f"{two_shards}: not a TFDS builder folder: no features.json (TFDS's feature description)"
    )
    with pytest.raises(LerobotNbError, match=r"no features\.json"):
        discover_recordings(two_shards, cache_dir=two_shards.parent / "cache")


def test_features_json_without_steps(tmp_path: Path) -> None:
    root = tmp_path / NAME / "1.0.0"
    write_builder(root, NAME, fdict(image=image([4, 4, 3])), {"train": [[example_bytes({})]]})
    with pytest.raises(LerobotNbError) as err:
        open_reader(root)
    assert str(err.value).endswith(
        "not an RLDS dataset: features.json needs one sequence of steps, it has none"
    )


def test_unknown_split_and_split_choice(two_shards: Path) -> None:
    with pytest.raises(LerobotNbError, match="no split test; splits: train"):
        open_reader(two_shards, split="test")
    assert len(open_reader(two_shards, split="train").episode_ids()) == 5


# -- frame rate --------------------------------------------------------------------------------------
def test_no_rate_in_metadata_asks_for_fps(two_shards: Path) -> None:
    reader = open_reader(two_shards)
    assert reader.defaults()["fps"] is None and "sequence_rate" not in reader.defaults()
    assert reader.read("train_00000").rate_hz is None
    assert reader.fps_request() == (
        f"{two_shards}: RLDS dataset {NAME} 1.0.0 does not say its steps per second (no fps in "
        "metadata.json): pass --fps <steps per second> (one step = one frame; API/notebooks: fps=...)"
    )


def test_rate_from_metadata_json_and_from_the_caller(two_shards: Path) -> None:
    (two_shards / "metadata.json").write_text(json.dumps({"control_frequency": 15}))
    reader = open_reader(two_shards)
    assert reader.fps_request() is None
    assert (reader.defaults()["fps"], reader.defaults()["sequence_rate"]) == (15, 15.0)
    given = open_reader(two_shards, fps=4)
    assert (given.defaults()["fps"], given.read("train_00000").rate_hz) == (4, 4.0)


def test_one_step_is_one_frame_at_the_given_fps(two_shards: Path) -> None:
    reader = open_reader(two_shards, fps=4)
    got = list(iter_recorded(reader, AlignConfig(**reader.defaults())))
    assert [g.length for g in got] == [3, 4, 5, 2, 6]  # type: ignore[union-attr]
    ep = got[2]
    np.testing.assert_array_equal(ep.timestamps, np.arange(5) / 4)  # type: ignore[union-attr]
    np.testing.assert_array_equal(
        ep.numeric["observation.state"],  # type: ignore[union-attr]
        np.array([state(2, t) for t in range(5)], np.float32),
    )


def test_a_corrupt_image_names_stream_and_step(tmp_path: Path) -> None:
    root = tmp_path / NAME / "1.0.0"
    values = episode_values(0, 3)
    blobs = list(values["steps/observation/image_0"][1])
    blobs[0] = blobs[2] = b"\x89PNG\r\n\x1a\n broken"  # first: the black-camera check must not fail
    values["steps/observation/image_0"] = ("bytes", blobs)
    write_builder(root, NAME, features(), {"train": [[example_bytes(values)]]})
    rec = open_reader(root).read("train_00000")
    frames = rec.images["/steps/observation/image_0"].frames(np.arange(1, 3))
    with pytest.raises(LerobotNbError) as err:
        list(frames)
    assert str(err.value) == "stream /steps/observation/image_0: step 2: cannot decode image (15 bytes)"


def test_unsupported_features_are_noted_and_the_rest_is_read(tmp_path: Path) -> None:
    root = tmp_path / NAME / "1.0.0"
    feats = features()
    step = feats["featuresDict"]["features"]["steps"]["sequence"]["feature"]["featuresDict"]["features"]
    step["points"] = tensor([-1, 3])  # ragged per step
    step["clip"] = {"pythonClassName": "tensorflow_datasets.core.features.video_feature.Video", "video": {}}
    write_builder(root, NAME, feats, {"train": [[record(0, 3)]]})
    rec = open_reader(root).read("train_00000")
    assert rec.notes == (
        "feature steps/points not read: Tensor of shape [None, 3] (ragged per step) is not supported",
        "feature steps/clip not read: feature type Video is not supported",
    )
    assert rec.numeric["/steps/action"].values.shape == (3, 2)
