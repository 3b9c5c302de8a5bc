"""The xgym memmap reader on generated recordings: layout, length, trimming, NaN, units, frames, streaming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixture_files import fixture
from xgym_support import (
    ACTION_NAMES,
    DUCKS,
    STATE_NAMES,
    expected_action,
    expected_state,
    expected_time_ns,
    kept_records,
    make_folder,
)

from lerobot_nb.align import AlignConfig
from lerobot_nb.align.aligner import iter_recorded
from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.sources.formats import format_of
from lerobot_nb.sources.xgym import XgymReader, open_reader
from lerobot_nb.sources.xgym_records import WINDOW_BYTES, RecordFile
from lerobot_nb.sources.xgym_sample import (
    SAMPLE_EPISODES,
    XgymEpisodeSpec,
    frame_bgr,
    marker_rgb,
    numeric_truth,
    read_frame_id,
    record_times,
)

CLEAN, CRASHED, LATE = SAMPLE_EPISODES  # padding to maxlen 75 / len 0 + padding / late camera + NaN gripper


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("xgym"))


@pytest.fixture(scope="module")
def reader(folder: Path) -> XgymReader:
    return open_reader(folder)


def _aligned(reader: XgymReader, **overrides: object) -> list[AlignedEpisode]:
    config = AlignConfig(**{**reader.defaults(), **overrides})  # type: ignore[arg-type]
    out = list(iter_recorded(reader, config))
    assert all(isinstance(e, AlignedEpisode) for e in out)
    return out  # type: ignore[return-value]


def test_generator_follows_the_recorders_layout(folder: Path) -> None:
    dats = sorted(folder.glob("xgym_data_*.dat"))
    assert [p.name for p in dats] == [f"xgym_data_20250301-09000{i}.dat" for i in range(3)]
    assert sorted(p.name for p in folder.glob("task-*.npy")) == ["task-pick_up_the_red_block.npy"]
    side = json.loads(dats[1].with_suffix(".json").read_text())
    assert list(side["schema"]) == [
        "xarm_joints", "xarm_pose", "xarm_gripper", "gello_joints",
        "/xgym/camera/worm", "/xgym/camera/side", "/xgym/camera/wrist",
    ]  # fmt: skip
    assert side["info"] == {"hz": 50, "len": 0, "maxlen": 75, "path": str(dats[1])}  # crashed: len stays 0
    # Read back exactly as xgym's own reader does: the whole memmap with the writer's dtype.
    dtype = np.dtype(
        [("time", np.float32)]
        + [(k, np.float32 if isinstance(v, int) else np.uint8, v) for k, v in side["schema"].items()]
    )
    assert dats[1].stat().st_size == 75 * dtype.itemsize == 75 * (4 * 23 + 3 * 224 * 224 * 3)
    mm = np.memmap(dats[1], dtype=dtype, mode="r")
    np.testing.assert_array_equal(mm["time"][:50], record_times(CRASHED))
    np.testing.assert_array_equal(mm["xarm_pose"][:50], numeric_truth(CRASHED)["xarm_pose"])
    np.testing.assert_array_equal(mm["/xgym/camera/side"][7], frame_bgr(7, 1))
    assert not np.asarray(mm[50:]).view(np.uint8).any()  # padding is zeros
    late = np.memmap(dats[2], dtype=dtype, mode="r")
    assert not late["/xgym/camera/side"][:4].any() and late["/xgym/camera/side"][4].any()
    assert np.isnan(late["xarm_gripper"][[10, 11, 12, 40], 0]).all()


def test_frame_ids_read_back_in_both_channel_orders() -> None:
    for record, camera in [(0, 0), (1, 2), (749, 1), (4095, 3)]:
        bgr = frame_bgr(record, camera)
        assert read_frame_id(bgr) == read_frame_id(bgr[:, :, ::-1]) == (record, camera)
    np.testing.assert_array_equal(marker_rgb(frame_bgr(3, 0)[:, :, ::-1]), [0, 0, 255])


def test_the_folder_is_one_ticked_input(folder: Path, reader: XgymReader) -> None:
    fmt = format_of(folder)
    assert fmt is not None and fmt.name == "xgym" and fmt.family == "ticked"
    assert format_of(folder / "xgym_data_20250301-090000.dat") is None  # the folder is the input
    assert reader.episode_ids() == [f"xgym_data_20250301-09000{i}" for i in range(3)]
    assert dict(reader.timelines()) == {"record": "sequence", "time": "timestamp"}
    assert reader.defaults() == {
        "fps": 50,
        "index": "record",
        "sequence_rate": 50.0,
        "state_path": ("/xarm_joints", "/xarm_gripper", "/xarm_pose"),
        "action_path": ("/gello_joints",),
        "image": ("worm:/xgym/camera/worm", "side:/xgym/camera/side", "wrist:/xgym/camera/wrist"),
        "task_path": "/language_instruction",
    }


def test_length_comes_from_the_data_and_notes_say_what_was_cut(reader: XgymReader) -> None:
    clean, crashed, late = (reader.read(e, "record") for e in reader.episode_ids())
    assert [len(r.numeric["/xarm_joints"].times) for r in (clean, crashed, late)] == [60, 50, 66]
    assert clean.notes == ("15 trailing all-zero records (padding up to maxlen 75) removed",)
    assert crashed.notes == (
        "sidecar len 0 (the recorder did not stop cleanly): the 50 written records are used",
        "25 trailing all-zero records (padding up to maxlen 75) removed",
    )
    assert late.notes == (
        "4 leading records trimmed: not every camera had delivered a frame (/xgym/camera/side from record 4)",
        "xarm_gripper: NaN in 4 records (4 values) held from the last valid value",
    )
    np.testing.assert_array_equal(late.numeric["/xarm_pose"].times, np.arange(4, 70))


def test_values_units_names_and_times_per_record(reader: XgymReader) -> None:
    late = reader.read("xgym_data_20250301-090002", "time")
    n = late.numeric
    state = np.hstack([n["/xarm_joints"].values, n["/xarm_gripper"].values, n["/xarm_pose"].values])
    np.testing.assert_array_equal(state, expected_state(LATE))
    np.testing.assert_array_equal(n["/gello_joints"].values, expected_action(LATE))
    # NaN at records 10-12 and 40 hold records 9 and 39: 850 - 2 * record.
    gripper = dict(zip(kept_records(LATE), n["/xarm_gripper"].values[:, 0], strict=True))
    assert [gripper[r] for r in (9, 10, 11, 12, 13, 39, 40, 41)] == [832, 832, 832, 832, 824, 772, 772, 768]
    # Pose: x, y, z from mm to m, roll, pitch, yaw untouched radians (record 4: 402 mm, -49.2 mm, 249.6 mm).
    np.testing.assert_allclose(
        n["/xarm_pose"].values[0], [0.402, -0.0492, 0.2496, 3.136, 0.008, -1.566], rtol=1e-6
    )
    assert n["/xarm_pose"].values[0, 3] == float(np.float32(3.14 - 0.004))
    assert n["/xarm_joints"].names == tuple(STATE_NAMES[:7])
    assert n["/xarm_gripper"].names == ("gripper",) and n["/xarm_pose"].names == tuple(STATE_NAMES[8:])
    assert n["/gello_joints"].names == tuple(ACTION_NAMES)
    np.testing.assert_array_equal(n["/xarm_joints"].times, expected_time_ns(LATE))
    nominal = 3_000_000_000 + kept_records(LATE) * 20_000_000  # 3 s uptime + record / 50 Hz, +-2 ms jitter
    assert (n["/xarm_joints"].times % 100_000 == 0).all() and (
        abs(n["/xarm_joints"].times - nominal) <= 2_050_000
    ).all()
    assert late.task == "pick up the red block" and late.rate_hz == 50.0 and late.index_kind == "timestamp"


def test_frames_are_rgb_and_the_right_records(reader: XgymReader) -> None:
    late = reader.read("xgym_data_20250301-090002", "record")
    for c, topic in enumerate(("/xgym/camera/worm", "/xgym/camera/side", "/xgym/camera/wrist")):
        stream = late.images[topic]
        np.testing.assert_array_equal(stream.times, np.arange(4, 70))
        picks = np.array([0, 0, 5, 65])  # repeats and jumps, as a coarser grid picks them
        frames = list(stream.frames(picks))
        assert [read_frame_id(f) for f in frames] == [(4, c), (4, c), (9, c), (69, c)]
        for pick, f in zip(picks, frames, strict=True):
            np.testing.assert_array_equal(f, frame_bgr(4 + int(pick), c)[:, :, ::-1])
        np.testing.assert_array_equal(marker_rgb(frames[0]), [0, 0, 255])  # blue stays blue: RGB


def test_embedding_stream_is_the_task_files_vector(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, [XgymEpisodeSpec(records=5, height=32, width=32)], task=DUCKS)
    rec = open_reader(folder).read(open_reader(folder).episode_ids()[0], "record")
    vector = np.load(fixture(DUCKS))
    assert vector.shape == (512,) and rec.task == "put the ducks in the bowl"
    emb = rec.numeric["/language_embedding"]
    assert emb.values.shape == (5, 512)
    np.testing.assert_array_equal(emb.values, np.tile(vector.astype(np.float64), (5, 1)))


def test_identity_grid_by_default(reader: XgymReader) -> None:
    clean, crashed, late = _aligned(reader)
    assert [e.length for e in (clean, crashed, late)] == [60, 50, 66]
    assert late.fps == 50 and late.index == "record"
    np.testing.assert_array_equal(late.ticks, np.arange(4, 70))
    np.testing.assert_array_equal(late.numeric["observation.state"], expected_state(LATE))
    np.testing.assert_array_equal(late.numeric["action"], expected_action(LATE))
    assert late.names["observation.state"] == tuple(STATE_NAMES)
    assert late.names["action"] == tuple(ACTION_NAMES)
    assert late.tasks == ("pick up the red block",) * 66
    assert [read_frame_id(f) for f in late.images["side"]] == [(r, 1) for r in range(4, 70)]
    assert late.notes == reader.read(late.episode_id, "record").notes
    assert (late.report["staleness_max_ms"] == 0).all()


def test_an_other_fps_regrids_on_time(reader: XgymReader) -> None:
    late = _aligned(reader, fps=10, index="time")[2]
    times = expected_time_ns(LATE)
    ticks = times[0] + np.arange(0, (times[-1] - times[0]) // 100_000_000 + 1) * 100_000_000
    np.testing.assert_array_equal(late.ticks, ticks)
    rows = np.searchsorted(times, ticks, side="right") - 1  # latest record at or before each tick
    np.testing.assert_array_equal(late.numeric["observation.state"], expected_state(LATE)[rows])
    assert [read_frame_id(f) for f in late.images["wrist"]] == [(4 + int(r), 2) for r in rows]
    assert late.fps == 10 and late.length == len(ticks) >= 13


def test_reads_never_map_more_than_a_window(reader: XgymReader, monkeypatch: pytest.MonkeyPatch) -> None:
    mapped: list[int] = []
    real = RecordFile.map

    def spy(self: RecordFile, lo: int, hi: int) -> np.memmap:
        mapped.append((hi - lo) * self.dtype.itemsize)
        return real(self, lo, hi)

    record = 4 * 23 + 3 * 224 * 224 * 3
    monkeypatch.setattr(RecordFile, "map", spy)
    monkeypatch.setattr("lerobot_nb.sources.xgym_records.WINDOW_BYTES", 2 * record)
    clean = _aligned(open_reader(reader.path))[0]
    for frames in clean.images.values():
        assert [read_frame_id(f)[0] for f in frames] == list(range(60))
    assert len(mapped) > 3 * 30 and max(mapped) == 2 * record < WINDOW_BYTES
