"""Existing LeRobot datasets as input: hand-written v2.0/v2.1, lerobot-written v3.0, re-gridding,
remux or re-encode, feature renaming. Expectations come from the files (pyarrow, PyAV), not the reader."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from export_support import assert_valid, psnr
from fixture_files import fixture
from lerobot_input_support import (
    FPS,
    HandEpisode,
    closest,
    column,
    data,
    decoded,
    encode_mp4,
    episode_frames,
    info,
    packets,
    vcl_units,
    write_legacy_dataset,
)

from lerobot_nb.align import AlignConfig
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.summary import ExportSummary
from lerobot_nb.pipeline import Inputs, run_pipeline
from lerobot_nb.server import ServerConfig
from lerobot_nb.sources.formats import format_of
from lerobot_nb.sources.lerobot import open_reader

NS = 1_000_000_000


def convert(src: Path, out: Path, *, align: dict[str, Any] | None = None, **export: Any) -> ExportSummary:
    """What `lerobot-nb convert SRC --output OUT` does, through the pipeline API."""
    inputs = Inputs.discover(ServerConfig(recordings=(str(src),)))
    config = inputs.align_config(align or {})
    return run_pipeline(
        inputs.open(config), ExportConfig(output=str(out), progress=False, **export), inputs=inputs.paths
    )


def episodes_meta(root: Path) -> list[dict[str, Any]]:
    files = sorted((root / "meta/episodes").rglob("*.parquet"))
    return pa.concat_tables(pq.read_table(f) for f in files).to_pylist()


def out_rows(root: Path, episode: int) -> pa.Table:
    table = data(root)
    return table.filter(pa.array(table["episode_index"].to_numpy() == episode))


def out_tasks(root: Path, rows: pa.Table) -> list[str]:
    tasks = pq.read_table(root / "meta/tasks.parquet").to_pandas()
    by_index = dict(zip(tasks["task_index"], tasks.index, strict=True))
    return [by_index[i] for i in rows["task_index"].to_pylist()]


def loads(root: Path) -> Any:
    from lerobot.datasets import LeRobotDataset

    return LeRobotDataset("local/converted", root=root, video_backend="pyav")


def latest_at(times: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """Brute force: for each tick the last sample at or before it."""
    return np.array([max(i for i, t in enumerate(times) if t <= tick) for tick in ticks])


# -- hand-written v2.x ------------------------------------------------------------------------------
def test_v21_on_grid_converts_one_frame_per_record_and_remuxes(tmp_path: Path) -> None:
    """k/fps timestamps: frame_index timeline, every value, task, name and packet carried over."""
    eps = [HandEpisode(0, 14, tasks=("pick", "place")), HandEpisode(1, 9, seed=3)]
    src = write_legacy_dataset(tmp_path / "src", eps, codec="h264")
    reader = open_reader(src)
    assert reader.defaults()["index"] == "frame_index" and next(iter(reader.timelines())) == "frame_index"
    summary = convert(src, tmp_path / "out", codec="h264")
    out = tmp_path / "out"
    assert summary.table["remuxed_videos"].to_list() == [1, 1]
    features = info(out)["features"]
    assert features["observation.state"]["names"] == ["x", "y", "z"]  # v2.x `[[...]]`
    assert features["action"]["names"] == ["left", "right"]  # `{"motors": [...]}`
    assert features["gripper"]["dtype"] == "int64" and features["next.reward"]["dtype"] == "float32"
    assert "note" not in features  # a string feature is not carried over
    for j, ep in enumerate(eps):
        rows = out_rows(out, j)
        src_rows = pq.read_table(src / f"data/chunk-000/episode_{ep.index:06d}.parquet")
        for key in ("observation.state", "action", "next.reward", "gripper"):
            np.testing.assert_array_equal(column(rows, key), column(src_rows, key))
            assert column(rows, key).dtype == column(src_rows, key).dtype
        assert out_tasks(out, rows) == [ep.task_of(k) for k in range(ep.length)]
        src_video = src / f"videos/chunk-000/observation.images.front/episode_{ep.index:06d}.mp4"
        got = episode_frames(out, j, "observation.images.front")
        assert all(np.array_equal(a, b) for a, (_, b) in zip(got, decoded(src_video), strict=True))
    # remuxed: the same compressed pictures (Annex B in the exporter, length-prefixed in both mp4s)
    out_video = next((out / "videos/observation.images.front").rglob("*.mp4"))
    src_units = [
        vcl_units(p)
        for ep in eps
        for _, p in packets(src / f"videos/chunk-000/observation.images.front/episode_{ep.index:06d}.mp4")
    ]
    assert [vcl_units(p) for _, p in packets(out_video)] == src_units
    assert len(src_units) == 23 and all(src_units)
    assert_valid(out)
    assert loads(out).num_frames == 23


@pytest.mark.slow
def test_v21_default_codec_reencodes_h264_to_av1(tmp_path: Path) -> None:
    """The default codec (libsvtav1) differs from the source's H.264: re-encoded, PSNR-bounded."""
    eps = [HandEpisode(0, 12)]
    src = write_legacy_dataset(tmp_path / "src", eps, codec="h264")
    summary = convert(src, tmp_path / "out")
    assert summary.table["remuxed_videos"].to_list() == [0]
    out = tmp_path / "out"
    assert info(out)["features"]["observation.images.front"]["info"]["video.codec"] == "av1"
    source = [f for _, f in decoded(src / "videos/chunk-000/observation.images.front/episode_000000.mp4")]
    for got, want in zip(episode_frames(out, 0, "observation.images.front"), source, strict=True):
        assert psnr(got, want) > 30
    assert_valid(out)


def test_jittered_timestamps_are_regridded(tmp_path: Path) -> None:
    """Stored timestamps off frame_index / fps: timeline `timestamp`, values = latest-at on them."""
    rng = np.random.default_rng(7)
    jitter = np.r_[0.0, rng.uniform(-0.035, 0.035, 29)]
    eps = [HandEpisode(0, 30, jitter=jitter), HandEpisode(1, 11)]
    src = write_legacy_dataset(tmp_path / "src", eps, codec="h264")
    reader = open_reader(src)
    assert reader.defaults()["index"] == "timestamp"
    summary = convert(src, tmp_path / "out", codec="h264")
    out = tmp_path / "out"
    # the jittered episode: ticks k / fps from its first stored timestamp to its last
    stored = np.round(eps[0].timestamps.astype(np.float64) * NS).astype(np.int64)
    ticks = stored[0] + (2 * np.arange(40) * NS + FPS) // (2 * FPS)
    ticks = ticks[ticks <= stored[-1]]
    picks = latest_at(stored, ticks)
    rows = out_rows(out, 0)
    assert rows.num_rows == len(ticks) == summary.table["frames"][0]
    np.testing.assert_array_equal(column(rows, "observation.state"), eps[0].state[picks])
    np.testing.assert_array_equal(column(rows, "gripper"), eps[0].gripper[picks])
    assert out_tasks(out, rows) == [eps[0].task_of(int(i)) for i in picks]
    source = [f for _, f in decoded(src / "videos/chunk-000/observation.images.front/episode_000000.mp4")]
    got = episode_frames(out, 0, "observation.images.front")
    assert [closest(g, source) for g in got] == picks.tolist()  # picks repeat: re-encoded
    assert summary.table["remuxed_videos"].to_list() == [0, 1]
    # the on-grid episode of the same dataset stays one record = one frame
    np.testing.assert_array_equal(column(out_rows(out, 1), "action"), eps[1].action)
    assert_valid(out)


def test_episode_notes_say_what_happened(tmp_path: Path) -> None:
    eps = [HandEpisode(0, 20, jitter=np.r_[0.0, np.full(19, 0.02)]), HandEpisode(1, 8)]
    src = write_legacy_dataset(tmp_path / "src", eps, version="v2.0", codec=None)
    inputs = Inputs.discover(ServerConfig(recordings=(str(src),)))
    config = inputs.align_config({})
    with inputs.open(config) as source:
        first, second = list(source.aligned(source.episodes))
    assert first.notes[0] == "LeRobot v2.0: 20 rows of data/chunk-000/episode_000000.parquet"
    assert first.notes[1] == (
        "stored timestamps are not frame_index / fps (up to 20.0 ms off; intervals 100.0 to 120.0 ms): "
        "re-gridded on the stored timestamps (timeline timestamp) by the alignment"
    )
    assert second.notes[1].startswith("stored timestamps are frame_index / fps (within 0.0001 s)")
    assert first.notes[2] == "features not carried over (not numeric or camera): note"
    assert first.report.height == 4  # the alignment report: one row per stream
    forced = inputs.align_config({"index": "frame_index"})
    with inputs.open(forced) as source:
        piece = next(iter(source.aligned(["episode_0"])))
    assert piece.length == 20 and "but timeline frame_index keeps one record = one frame" in piece.notes[1]


def test_feature_map_renames_a_labs_feature_names(tmp_path: Path) -> None:
    """`state`, `actions`, `image` -> observation.state, action, observation.images.front."""
    eps = [HandEpisode(0, 10)]
    names = {"observation.state": "state", "action": "actions", "observation.images.front": "image"}
    src = write_legacy_dataset(tmp_path / "src", eps, version="v2.0", codec="h264", names=names)
    assert open_reader(src).defaults()["extra"] == (
        "state=/state",
        "actions=/actions",
        "next.reward=/next.reward",
        "gripper=/gripper",
    )
    fmap = ("state=observation.state,actions=action,image=observation.images.front", "gripper=")
    convert(src, tmp_path / "out", align={"feature_map": fmap}, codec="h264")
    out = tmp_path / "out"
    assert list(info(out)["features"])[:4] == [
        "action",
        "observation.state",
        "next.reward",
        "observation.images.front",
    ]
    rows = out_rows(out, 0)
    np.testing.assert_array_equal(column(rows, "observation.state"), eps[0].state)
    np.testing.assert_array_equal(column(rows, "action"), eps[0].action)
    assert_valid(out)
    with pytest.raises(
        LerobotNbError, match=r"feature_map: the input has no feature 'stat'; it has actions, gripper"
    ):
        convert(src, tmp_path / "bad", align={"feature_map": ("stat=observation.state",)})
    with pytest.raises(
        LerobotNbError,
        match=r"feature_map: image is a camera: map it to observation\.images\.<key>, not action",
    ):
        convert(src, tmp_path / "bad", align={"feature_map": ("image=action",)})


def test_feature_map_clash_and_idempotence() -> None:
    import dataclasses

    with pytest.raises(
        LerobotNbError, match=r"clashes with observation\.state, which already is observation\.state"
    ):
        AlignConfig(
            action_path=(),
            state_path=("/observation.state",),
            extra=("state=/state",),
            feature_map=("state=observation.state",),
        )
    both = AlignConfig(
        action_path=(),
        state_path=("/observation.state",),
        extra=("state=/state",),
        feature_map=("observation.state=observation.state_old,state=observation.state",),
    )
    assert (both.state_path, both.extra) == (("/state",), ("observation.state_old=/observation.state",))
    arms = AlignConfig(
        action_path=(),
        state_path=(),
        extra=("l=/l", "r=/r"),
        feature_map=("l=observation.state", "r=observation.state"),
    )
    assert arms.state_path == ("/l", "/r") and arms.extra == ()
    assert dataclasses.replace(arms, fps=5).state_path == ("/l", "/r")  # applying again changes nothing


def test_missing_files_are_named_per_episode(tmp_path: Path) -> None:
    """meta lists 4 episodes; episode 2 has no parquet, episode 3 no mp4."""
    eps = [HandEpisode(i, 6 + i) for i in range(4)]
    src = write_legacy_dataset(tmp_path / "src", eps, codec="h264")
    (src / "data/chunk-000/episode_000002.parquet").unlink()
    (src / "videos/chunk-000/observation.images.front/episode_000003.mp4").unlink()
    short = src / "videos/chunk-000/observation.images.front/episode_000001.mp4"
    encode_mp4(short, [eps[1].image(k) for k in range(eps[1].length - 2)], codec="h264")
    with pytest.raises(LerobotNbError) as err:
        convert(src, tmp_path / "out", episodes=("episode_2",))
    assert str(err.value) == (
        f"{src}, episode episode_2: data/chunk-000/episode_000002.parquet is missing (the episode is listed in "
        "meta/episodes.jsonl); --skip-bad-episodes converts the episodes whose files are there"
    )
    summary = convert(src, tmp_path / "out", align={"skip_bad_episodes": True}, codec="h264")
    assert summary.table["status"].to_list() == ["written", "skipped", "skipped", "skipped"]
    reasons = summary.table["reason"].to_list()
    assert reasons[1] == (
        f"{short}, episode episode_1, stream front: the video holds 5 frames on the grid in [0.0000, 0.7000) s, the episode needs 7: "
        "from/to_timestamp do not match the file"
    )
    assert "data/chunk-000/episode_000002.parquet is missing" in reasons[2]
    assert (
        "stream front: videos/chunk-000/observation.images.front/episode_000003.mp4 is missing" in reasons[3]
    )
    assert_valid(tmp_path / "out")


def test_unsupported_and_empty_are_one_line(tmp_path: Path) -> None:
    root = tmp_path / "v16"
    (root / "meta").mkdir(parents=True)
    (root / "meta/info.json").write_text(json.dumps({"codebase_version": "v1.6", "fps": 10, "features": {}}))
    assert format_of(root) is not None
    with pytest.raises(LerobotNbError, match=r"version 'v1.6': only v2.0, v2.1, v3.0 are read"):
        open_reader(root)
    empty = fixture("real/so100_lerobot_v30_empty_unfinalized")
    with pytest.raises(LerobotNbError) as err:
        open_reader(empty)
    assert str(err.value) == (
        f"{empty}: an empty or unfinished LeRobot recording (total_episodes 0, no meta/episodes): nothing to convert"
    )


# -- datasets lerobot wrote (v3.0) ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["synthetic_v30_video_lerobot061", "synthetic_v30_video_lerobot044"])
def test_lerobot_v30_round_trip(tmp_path: Path, name: str) -> None:
    """3 episodes of 12/9/15 frames, AV1: same rows, tasks, names and packets (remuxed)."""
    src = fixture(f"lerobot/{name}")
    summary = convert(src, tmp_path / "out")
    out = tmp_path / "out"
    assert summary.table["frames"].to_list() == [12, 9, 15]
    assert summary.table["remuxed_videos"].to_list() == [2, 2, 2]
    src_info, out_info = info(src), info(out)
    assert out_info["total_episodes"] == src_info["total_episodes"] and out_info["total_frames"] == 36
    for key in ("observation.state", "action"):
        assert out_info["features"][key]["names"] == src_info["features"][key]["names"]
        np.testing.assert_array_equal(column(data(out), key), column(data(src), key))
        assert column(data(out), key).dtype == np.float32
    assert out_tasks(out, data(out)) == out_tasks(src, data(src))
    for ep in range(3):
        for key in ("observation.images.front", "observation.images.wrist"):
            got, want = episode_frames(out, ep, key), episode_frames(src, ep, key)
            assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    for key in ("observation.images.front", "observation.images.wrist"):
        src_file = next((src / "videos" / key).rglob("*.mp4"))
        out_file = next((out / "videos" / key).rglob("*.mp4"))
        assert [p for _, p in packets(out_file)] == [p for _, p in packets(src_file)]
    assert_valid(out)


def test_lerobot_v30_png_images_become_video(tmp_path: Path) -> None:
    src = fixture("lerobot/synthetic_v30_image_lerobot044")
    summary = convert(src, tmp_path / "out", codec="h264", crf=18)
    out = tmp_path / "out"
    assert summary.table["remuxed_videos"].to_list() == [0, 0, 0]
    import io

    from PIL import Image

    src_data = data(src)
    starts = np.r_[0, np.cumsum([12, 9, 15])]
    for ep in range(3):
        cells = (
            src_data["observation.images.front"]
            .slice(int(starts[ep]), int(starts[ep + 1] - starts[ep]))
            .to_pylist()
        )
        want = [np.asarray(Image.open(io.BytesIO(c["bytes"])).convert("RGB")) for c in cells]
        got = episode_frames(out, ep, "observation.images.front")
        assert len(got) == len(want) and min(psnr(a, b) for a, b in zip(got, want, strict=True)) > 30
    assert info(out)["features"]["observation.images.front"]["dtype"] == "video"
    assert_valid(out)


def test_record_test_without_videos(tmp_path: Path) -> None:
    """Real lerobot-record output whose mp4s were not kept: named; numeric data converts without cameras."""
    src = fixture("lerobot/record-test")
    with pytest.raises(
        LerobotNbError,
        match=r"episode episode_0, stream front: videos/observation.images.front/chunk-000/file-000.mp4 is missing",
    ):
        convert(src, tmp_path / "out")
    fmap = ("observation.images.front=,observation.images.top=",)
    summary = convert(src, tmp_path / "out", align={"feature_map": fmap})
    assert summary.table["frames"].to_list() == [int(r["length"]) for r in episodes_meta(src)]
    out = tmp_path / "out"
    for key in ("observation.state", "action"):
        np.testing.assert_array_equal(column(data(out), key), column(data(src), key))
    assert out_tasks(out, data(out)) == out_tasks(src, data(src))
    assert_valid(out)


@pytest.mark.slow
def test_h264_with_b_frames_is_reencoded(tmp_path: Path) -> None:
    """lerobot's own h264 (B-frames): packets cannot be copied one per tick, so frames are re-encoded."""
    from export_support import synthetic_episode

    from lerobot_nb.export.writer import export_dataset

    aligned = [synthetic_episode(f"r{i}", n, i, cameras=("front",)) for i, n in enumerate([14, 11])]
    src = tmp_path / "src"
    export_dataset(
        aligned, ExportConfig(output=str(src), codec="h264", g=8, writer="lerobot", progress=False)
    )
    assert any(pts != i * 512 for i, (pts, _) in enumerate(packets(next(src.rglob("*.mp4")))))  # reordered
    summary = convert(src, tmp_path / "out", codec="h264")
    assert summary.table["remuxed_videos"].to_list() == [0, 0]
    for ep in range(2):
        got, want = (
            episode_frames(tmp_path / "out", ep, "observation.images.front"),
            episode_frames(src, ep, "observation.images.front"),
        )
        assert min(psnr(a, b) for a, b in zip(got, want, strict=True)) > 30
    assert_valid(tmp_path / "out")


def test_lower_fps_takes_records_by_time(tmp_path: Path) -> None:
    """--fps 5 on a 10 fps dataset: every other record (the records keep their own rate)."""
    src = fixture("lerobot/synthetic_v30_video_lerobot061")
    summary = convert(src, tmp_path / "out", align={"fps": 5})
    assert summary.table["frames"].to_list() == [6, 5, 8] and info(tmp_path / "out")["fps"] == 5
    src_data, starts = data(src), [0, 12, 21, 36]
    want = np.concatenate([column(src_data, "action")[a:b][::2] for a, b in itertools.pairwise(starts)])
    np.testing.assert_array_equal(column(data(tmp_path / "out"), "action"), want)


def test_two_datasets_in_one_run_keep_their_episodes_apart(tmp_path: Path) -> None:
    """Both inputs have `episode_0`: ids become `<dataset>/<id>`, every row comes from its own source."""
    left = write_legacy_dataset(tmp_path / "left", [HandEpisode(0, 7, seed=1)], codec="h264")
    right = write_legacy_dataset(tmp_path / "right", [HandEpisode(0, 5, seed=2)], codec="h264")
    inputs = Inputs.discover(ServerConfig(recordings=(str(left), str(right))))
    config = inputs.align_config({})
    out = tmp_path / "out"
    summary = run_pipeline(
        inputs.open(config), ExportConfig(output=str(out), progress=False, codec="h264"), inputs=inputs.paths
    )
    assert summary.table["episode"].to_list() == ["left/episode_0", "right/episode_0"]
    assert summary.table["frames"].to_list() == [7, 5]
    sources = json.loads((out / "meta/lerobot_nb.json").read_text())["episodes"]
    assert sources == {"left/episode_0": 0, "right/episode_0": 1}
    for j, src in enumerate((left, right)):
        want = pq.read_table(src / "data/chunk-000/episode_000000.parquet")
        np.testing.assert_array_equal(
            column(out_rows(out, j), "observation.state"), column(want, "observation.state")
        )
    assert_valid(out)
