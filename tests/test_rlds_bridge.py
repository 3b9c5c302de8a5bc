"""RLDS reader on real BridgeData (octo's debug dataset), checked against the tests' own record decoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixture_files import fixture
from rlds_support import decode_example, pil_decode, raw_records

from lerobot_nb.sources.formats import format_of
from lerobot_nb.sources.rlds import open_reader

BRIDGE = "real/bridge_rlds_octo/bridge_dataset/1.0.0"
SPLITS = ("train", "val")


@pytest.fixture(scope="module")
def root() -> Path:
    return fixture(BRIDGE)


@pytest.fixture(scope="module")
def raw(root: Path) -> dict[str, list[dict]]:
    """Every record of both splits, decoded by the tests' own wire decoder."""
    return {
        split: [
            decode_example(r) for r in raw_records(root / f"bridge_dataset-{split}.tfrecord-00000-of-00001")
        ]
        for split in SPLITS
    }


def test_25_episodes_of_10_steps_per_split(root: Path, raw: dict[str, list[dict]]) -> None:
    reader = open_reader(root)
    assert [len(raw[s]) for s in SPLITS] == [25, 25]
    assert reader.episode_ids() == [f"{s}_{i:05d}" for s in SPLITS for i in range(25)]
    assert reader.timelines() == {"step": "sequence"}
    for episode_id in reader.episode_ids():
        rec = reader.read(episode_id)
        assert rec.episode_id == episode_id and rec.index == "step"
        for stream in [*rec.numeric.values(), *rec.images.values()]:
            np.testing.assert_array_equal(stream.times, np.arange(10))
    assert open_reader(root, split="val").episode_ids() == [f"val_{i:05d}" for i in range(25)]


def test_numeric_values_equal_the_raw_floats(root: Path, raw: dict[str, list[dict]]) -> None:
    reader = open_reader(root)
    widths = {"steps/observation/state": 7, "steps/action": 7, "steps/language_embedding": 512}
    for split in SPLITS:
        for i, ex in enumerate(raw[split]):
            rec = reader.read(f"{split}_{i:05d}")
            for path, width in widths.items():
                kind, values = ex[path]
                assert kind == "float"
                want = np.array(values, np.float64).reshape(10, width)
                np.testing.assert_array_equal(rec.numeric["/" + path].values, want)
            for path in ("steps/reward", "steps/discount", "steps/is_first", "steps/is_last"):
                np.testing.assert_array_equal(
                    rec.numeric["/" + path].values[:, 0], np.array(ex[path][1], float)
                )
            assert (
                rec.numeric["/episode_metadata/episode_id"].values[0, 0]
                == ex["episode_metadata/episode_id"][1][0]
            )


def test_image_pixels_equal_a_direct_jpeg_decode(root: Path, raw: dict[str, list[dict]]) -> None:
    reader = open_reader(root)
    for i, ex in enumerate(raw["train"]):
        rec = reader.read(f"train_{i:05d}")
        for cam in range(4):
            path = f"steps/observation/image_{cam}"
            blobs = ex[path][1]
            frames = rec.images["/" + path].frames(np.arange(10))
            assert (frames.height, frames.width, len(frames)) == (64, 64, 10)
            for got, blob in zip(frames, blobs, strict=True):
                np.testing.assert_array_equal(got, pil_decode(blob))
    # repeated and skipped picks decode the picked steps
    picks = np.array([0, 0, 3, 9, 9])
    got = list(reader.read("train_00004").images["/steps/observation/image_1"].frames(picks))
    blobs = raw["train"][4]["steps/observation/image_1"][1]
    for frame, pick in zip(got, picks, strict=True):
        np.testing.assert_array_equal(frame, pil_decode(blobs[pick]))


def test_task_strings(root: Path, raw: dict[str, list[dict]]) -> None:
    reader = open_reader(root)
    for split in SPLITS:
        for i, ex in enumerate(raw[split]):
            texts = {b.decode() for b in ex["steps/language_instruction"][1]}
            assert len(texts) == 1  # one instruction per Bridge episode
            assert reader.read(f"{split}_{i:05d}").task == texts.pop()
    assert reader.read("train_00000").task == "put cup from counter or drying rack into sink"


def test_val_is_train_reordered_and_ids_stay_distinct(raw: dict[str, list[dict]]) -> None:
    def key(ex: dict) -> bytes:
        return bytes(np.array(ex["steps/action"][1], np.float32).tobytes())

    train = [key(ex) for ex in raw["train"]]
    val = [key(ex) for ex in raw["val"]]
    assert sorted(train) == sorted(val) and train != val


def test_notes_black_camera_flags_and_cut_episodes(root: Path) -> None:
    rec = open_reader(root).read("train_00007")
    assert rec.notes == (
        "is_last is never true (the episode was cut short?): the record's 10 steps are the episode",
        "camera /steps/observation/image_3 is constant black in all 10 steps",
        "/episode_metadata/has_image_0 is 0 but camera /steps/observation/image_0 has real frames (the flag is not used)",
        "/episode_metadata/has_image_1 is 0 but camera /steps/observation/image_1 has real frames (the flag is not used)",
        "/episode_metadata/has_image_2 is 0 but camera /steps/observation/image_2 has real frames (the flag is not used)",
    )
    frames = np.stack(list(rec.images["/steps/observation/image_3"].frames(np.arange(10))))
    assert frames.max() == 0


def test_defaults(root: Path) -> None:
    reader = open_reader(root)
    assert dict(reader.defaults()) == {
        "index": "step",
        "state_path": ("/steps/observation/state",),
        "action_path": ("/steps/action",),
        "image": (
            "image_0:/steps/observation/image_0",
            "image_1:/steps/observation/image_1",
            "image_2:/steps/observation/image_2",
        ),
        "task_path": "/steps/language_instruction",
        "fps": None,  # not in the metadata: the pipeline asks for --fps
    }
    assert reader.language_embedding_path() == "/steps/language_embedding"
    # Bridge's descriptions list 10 names for 7 values: no names are made up
    rec = reader.read("train_00000")
    assert rec.numeric["/steps/observation/state"].names is None
    assert rec.numeric["/steps/action"].names is None


def test_no_fps_in_the_metadata(root: Path) -> None:
    reader = open_reader(root)
    assert reader.rate_hz is None and reader.read("train_00000").rate_hz is None
    assert reader.defaults()["fps"] is None and "sequence_rate" not in reader.defaults()
    assert reader.fps_request() == (
        f"{root}: RLDS dataset bridge_dataset 1.0.0 does not say its steps per second (no fps in "
        "metadata.json): pass --fps <steps per second> (one step = one frame; API/notebooks: fps=...)"
    )


def test_claimed_paths(root: Path) -> None:
    assert format_of(root).name == "rlds"  # type: ignore[union-attr]
    assert format_of(root.parent).name == "rlds"  # type: ignore[union-attr]  # holds one version
    assert format_of(root.parent.parent) is None  # searched by discovery instead
    shard = root / "bridge_dataset-val.tfrecord-00000-of-00001"
    assert format_of(shard).name == "rlds"  # type: ignore[union-attr]
    assert format_of(root / "features.json") is None
    assert open_reader(shard).episode_ids() == [f"val_{i:05d}" for i in range(25)]


def test_the_embedding_is_offered_where_language_embedding_npy_looks(root: Path) -> None:
    from lerobot_nb.enrich.language import LANGUAGE_STREAM

    rec = open_reader(root).read("train_00002")
    assert LANGUAGE_STREAM == "/language_embedding"
    np.testing.assert_array_equal(
        rec.numeric[LANGUAGE_STREAM].values, rec.numeric["/steps/language_embedding"].values
    )
