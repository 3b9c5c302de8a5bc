"""The native writer on synthetic aligned episodes: lerobot loads it, values round-trip, layout matches."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import assert_stat_equal
from export_support import assert_valid, check_loads_in_lerobot, frame, synthetic_episode
from fixture_files import fixture

from lerobot_nb.episode import EncodedVideo, EpisodeSkipped
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.writer import export_dataset, read_sources
from lerobot_nb.stats import aggregate_stats, numeric_stats

#: What lerobot 0.6.1 itself writes for the same episodes (a fixture, relative path).
REFERENCE = "lerobot/synthetic_v30_video_lerobot061"


def _export(out: Path, episodes: list, **kw: object):  # type: ignore[no-untyped-def]
    return export_dataset(episodes, ExportConfig(output=str(out), progress=False, **kw))  # type: ignore[arg-type]


def _fixture_like() -> list:  # type: ignore[type-arg]
    """Same features as the lerobot-written fixture: state/action float32[6], cameras front+wrist."""
    return [synthetic_episode(f"rec-{i}", n, i, state_dim=6) for i, n in enumerate([12, 9, 15])]


def test_roundtrip_loads_in_lerobot_with_action_chunks(tmp_path: Path) -> None:
    episodes = _fixture_like()
    summary = _export(tmp_path / "ds", episodes)
    assert summary.episodes_written == 3 and summary.frames == 36
    assert summary.table["status"].to_list() == ["written"] * 3
    check_loads_in_lerobot(tmp_path / "ds", episodes)

    from lerobot.datasets import LeRobotDataset

    # An action chunk of 4 ticks (0.1 s apart) as a policy trains on it, padded past the end.
    ds = LeRobotDataset(
        "local/test",
        root=tmp_path / "ds",
        video_backend="pyav",
        delta_timestamps={"action": [0.0, 0.1, 0.2, 0.3]},
    )
    item = ds[10]  # episode 0, frame 10 of 12: frames 10, 11 then two padded
    action = episodes[0].numeric["action"]
    np.testing.assert_array_equal(item["action"][:2].numpy(), action[10:12])
    assert item["action_is_pad"].tolist() == [False, False, True, True]
    assert read_sources(tmp_path / "ds") == {"rec-0": 0, "rec-1": 1, "rec-2": 2}
    # no leftovers beside the output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_layout_matches_what_lerobot_writes(tmp_path: Path) -> None:
    _export(tmp_path / "ds", _fixture_like())
    ours, ref = tmp_path / "ds", fixture(REFERENCE)
    info, ref_info = (json.loads((p / "meta/info.json").read_text()) for p in (ours, ref))
    assert list(info) == list(ref_info)
    assert list(info["features"]) == [
        "action",
        "observation.state",
        "observation.images.front",
        "observation.images.wrist",
        "timestamp",
        "frame_index",
        "episode_index",
        "index",
        "task_index",
    ]
    assert set(info["features"]) == set(ref_info["features"])
    for key in ("observation.images.front", "observation.images.wrist"):
        assert info["features"][key]["info"] == ref_info["features"][key]["info"]  # same codec settings
    for key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        assert info["features"][key] == ref_info["features"][key]
    assert info["features"]["action"]["names"] == [f"a{i}" for i in range(6)]
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, 36, 2)
    assert info["splits"] == {"train": "0:3"}

    def schema(root: Path, rel: str) -> dict[str, str]:
        return {f.name: str(f.type) for f in pq.read_schema(root / rel)}

    for rel in (
        "data/chunk-000/file-000.parquet",
        "meta/episodes/chunk-000/file-000.parquet",
        "meta/tasks.parquet",
    ):
        assert schema(ours, rel) == schema(ref, rel), rel
    # column order of the episodes table is lerobot's up to the feature order (ours: action first)
    ep_cols = pq.read_schema(ours / "meta/episodes/chunk-000/file-000.parquet").names
    assert ep_cols[:7] == pq.read_schema(ref / "meta/episodes/chunk-000/file-000.parquet").names[:7]
    data_meta = pq.read_schema(ours / "data/chunk-000/file-000.parquet").metadata[b"huggingface"]
    ref_meta = pq.read_schema(ref / "data/chunk-000/file-000.parquet").metadata[b"huggingface"]
    assert json.loads(data_meta)["info"]["features"] == json.loads(ref_meta)["info"]["features"]
    assert pq.read_schema(ours / "meta/tasks.parquet").pandas_metadata["index_columns"] == ["task"]
    # one row group per episode
    assert pq.ParquetFile(ours / "data/chunk-000/file-000.parquet").metadata.num_row_groups == 3


def test_stats_match_an_independent_computation(tmp_path: Path) -> None:
    episodes = _fixture_like()
    _export(tmp_path / "ds", episodes)
    stats = json.loads((tmp_path / "ds/meta/stats.json").read_text())
    expected = aggregate_stats([{"action": numeric_stats(e.numeric["action"])} for e in episodes])["action"]
    for name, value in expected.items():
        np.testing.assert_allclose(stats["action"][name], value, rtol=1e-6)
    assert stats["action"]["count"] == [36]
    assert stats["index"]["max"] == [35] and stats["episode_index"]["max"] == [2]
    front = np.asarray(stats["observation.images.front"]["mean"])
    assert front.shape == (3, 1, 1) and front.min() >= 0 and front.max() <= 1
    # independent mean of channel 0 over every frame (36 frames, all sampled: < 100 per episode)
    all_r = np.concatenate([[frame(k, i)[..., 0] for k in range(e.length)] for i, e in enumerate(episodes)])
    assert front[0, 0, 0] == pytest.approx(all_r.mean() / 255, abs=0.02)  # video is lossy, stats aren't
    episodes_table = pq.read_table(tmp_path / "ds/meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert episodes_table[1]["stats/action/max"] == pytest.approx(
        episodes[1].numeric["action"].max(0).tolist()
    )
    assert episodes_table[1]["tasks"] == ["pick the cube", "place the cube"]
    assert [r["dataset_from_index"] for r in episodes_table] == [0, 12, 21]
    assert [r["videos/observation.images.front/from_timestamp"] for r in episodes_table] == [0.0, 1.2, 2.1]
    assert [r["videos/observation.images.front/to_timestamp"] for r in episodes_table] == [1.2, 2.1, 3.6]


def test_files_roll_at_the_size_limits(tmp_path: Path) -> None:
    episodes = [synthetic_episode(f"r{i}", 20, i, cameras=("front",)) for i in range(4)]
    _export(tmp_path / "ds", episodes, data_files_size_in_mb=0.004, video_files_size_in_mb=0.01)
    data = sorted((tmp_path / "ds/data").rglob("*.parquet"))
    videos = sorted((tmp_path / "ds/videos").rglob("*.mp4"))
    assert len(data) > 1 and len(videos) > 1
    for f in data:  # still one row group per episode in every file
        assert pq.ParquetFile(f).metadata.num_row_groups == len(pq.read_table(f)["episode_index"].unique())
    check_loads_in_lerobot(tmp_path / "ds", episodes)
    assert_valid(tmp_path / "ds")


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_other_codecs_are_recorded_and_load(tmp_path: Path, codec: str) -> None:
    episodes = [synthetic_episode(f"r{i}", n, i, cameras=("front",)) for i, n in enumerate([7, 11])]
    _export(tmp_path / "ds", episodes, codec=codec, crf=23, g=5, preset="ultrafast")
    info = json.loads((tmp_path / "ds/meta/info.json").read_text())["features"]["observation.images.front"][
        "info"
    ]
    assert (info["video.codec"], info["video.g"], info["video.crf"], info["video.preset"]) == (
        codec,
        5,
        23,
        "ultrafast",
    )
    with av.open(str(tmp_path / "ds/videos/observation.images.front/chunk-000/file-000.mp4")) as c:
        assert c.streams.video[0].codec_context.name == codec
    check_loads_in_lerobot(tmp_path / "ds", episodes)


def _h264_packets(length: int, seed: int, pix_fmt: str = "yuv420p") -> EncodedVideo:
    """What a VideoStream source on the grid gives: Annex-B H.264 access units, one per tick."""
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = 64, 48, pix_fmt
    ctx.time_base = Fraction(1, 10)
    ctx.options = {"bf": "0", "g": "4", "crf": "18"}
    packets = []
    for t in range(length):
        f = av.VideoFrame.from_ndarray(frame(t, seed), format="rgb24").reformat(format=pix_fmt)
        f.pts = t
        packets += ctx.encode(f)
    packets += ctx.encode(None)
    return EncodedVideo(
        "h264", tuple(bytes(p) for p in packets), 64, 48, tuple(p.is_keyframe for p in packets)
    )


def test_remux_copies_packets_without_reencoding(tmp_path: Path) -> None:
    episodes = [
        synthetic_episode(f"r{i}", n, i, cameras=("front",), encoded=_h264_packets(n, i))
        for i, n in enumerate([8, 6])
    ]
    summary = _export(tmp_path / "ds", episodes, codec="h264")
    assert summary.table["remuxed_videos"].to_list() == [1, 1]
    path = tmp_path / "ds/videos/observation.images.front/chunk-000/file-000.mp4"
    with av.open(str(path)) as c:
        stored = [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]
    # mp4 stores length-prefixed NAL units: the payload after each 4-byte prefix is the source's
    src = b"".join(episodes[0].images["front"].encoded("h264").packets)  # type: ignore[union-attr]
    assert stored[1][4:] in src
    assert len(stored) == 14
    # the copied packets' encoder settings are the source's: info.json does not claim this export's
    video = json.loads((tmp_path / "ds/meta/info.json").read_text())["features"]["observation.images.front"]
    assert {k: video["info"][k] for k in ("video.codec", "video.pix_fmt", "video.crf", "video.g")} == {
        "video.codec": "h264",
        "video.pix_fmt": "yuv420p",
        "video.crf": None,
        "video.g": None,
    }
    check_loads_in_lerobot(tmp_path / "ds", episodes, min_psnr=30)


def test_packets_of_another_pixel_format_are_reencoded(tmp_path: Path) -> None:
    """yuv444p H.264 into a yuv420p export: copying would make info.json's pix_fmt false."""
    episodes = [synthetic_episode("r0", 6, 0, cameras=("front",), encoded=_h264_packets(6, 0, "yuv444p"))]
    summary = _export(tmp_path / "ds", episodes, codec="h264")
    assert summary.table["remuxed_videos"].to_list() == [0]
    with av.open(str(tmp_path / "ds/videos/observation.images.front/chunk-000/file-000.mp4")) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert sum(1 for f in c.decode(video=0)) == 6
    info = json.loads((tmp_path / "ds/meta/info.json").read_text())
    assert info["features"]["observation.images.front"]["info"]["video.crf"] is not None


def test_resume_appends_new_recordings_and_keeps_existing_files(tmp_path: Path) -> None:
    first = [synthetic_episode(f"r{i}", 10 + i, i) for i in range(2)]
    _export(tmp_path / "ds", first)
    before = {
        p.relative_to(tmp_path / "ds").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (tmp_path / "ds").rglob("*")
        if p.is_file() and p.parts[-2] != "meta"
    }
    again = [*first, synthetic_episode("r2", 7, 2, tasks=["stack"] * 7)]
    summary = _export(tmp_path / "ds", again, resume=True)
    assert summary.table.select("episode", "status").rows() == [
        ("r0", "existing"),
        ("r1", "existing"),
        ("r2", "written"),
    ]
    after = {
        p.relative_to(tmp_path / "ds").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (tmp_path / "ds").rglob("*")
        if p.is_file()
    }
    for rel, digest in before.items():
        assert after[rel] == digest, rel
    assert "data/chunk-000/file-001.parquet" in after  # new episodes in new files
    check_loads_in_lerobot(tmp_path / "ds", again)
    assert_valid(tmp_path / "ds")
    assert read_sources(tmp_path / "ds") == {"r0": 0, "r1": 1, "r2": 2}
    stats = json.loads((tmp_path / "ds/meta/stats.json").read_text())
    assert stats["index"]["count"] == [28]
    with pytest.raises(
        LerobotNbError,
        match=r"stream observation.images.front: the dataset's videos were "
        r"encoded with codec 'av1' \(now 'h264'\), crf 30 \(now 23\)",
    ):
        _export(
            tmp_path / "ds", [synthetic_episode("r9", 5, 9)], resume=True, codec="h264", crf=23, preset=None
        )
    assert read_sources(tmp_path / "ds") == {"r0": 0, "r1": 1, "r2": 2}


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    _export(tmp_path / "ds", [synthetic_episode("a", 5, 0)])
    with pytest.raises(LerobotNbError, match="--overwrite"):
        _export(tmp_path / "ds", [synthetic_episode("b", 6, 1)])
    new = [synthetic_episode("b", 6, 1)]
    _export(tmp_path / "ds", new, overwrite=True)
    check_loads_in_lerobot(tmp_path / "ds", new)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    (tmp_path / "other").mkdir()
    (tmp_path / "other/notes.txt").write_text("mine")
    with pytest.raises(LerobotNbError, match="holds something else"):
        _export(tmp_path / "other", new, overwrite=True)


BAD = {
    "shape change": lambda: synthetic_episode("bad", 6, 9, state_dim=5),
    "image size": lambda: synthetic_episode("bad", 6, 9, h=32),
    "empty": lambda: synthetic_episode("bad", 0, 9, tasks=[]),
    "no task": lambda: synthetic_episode("bad", 6, 9, tasks=[]),
}
REASON = {
    "shape change": "shape changed between episodes",
    "image size": "image size changed",
    "empty": "shorter than one frame",
    "no task": "no task",
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_episode_is_an_error_or_a_skip(tmp_path: Path, case: str) -> None:
    good = [synthetic_episode("g0", 8, 0), synthetic_episode("g1", 5, 1)]
    with pytest.raises(LerobotNbError, match=REASON[case]) as err:
        _export(tmp_path / "ds", [good[0], BAD[case](), good[1]])
    assert "episode bad" in str(err.value) and "/recordings/bad.rrd" in str(err.value)
    assert not (tmp_path / "ds").exists() and not list(tmp_path.iterdir())  # nothing half-written
    summary = _export(
        tmp_path / "ds", [good[0], BAD[case](), EpisodeSkipped("s", "gap"), good[1]], skip_bad_episodes=True
    )
    rows = summary.table.select("episode", "status").rows()
    assert rows == [("g0", "written"), ("bad", "skipped"), ("s", "skipped"), ("g1", "written")]
    assert REASON[case] in summary.table["reason"][1]
    assert "skipped" in summary.render()
    check_loads_in_lerobot(tmp_path / "ds", good)


def test_frame_size_change_inside_an_episode_stops_cleanly(tmp_path: Path) -> None:
    bad = synthetic_episode("bad", 6, 3, cameras=("front",), bad_at=4)
    with pytest.raises(LerobotNbError, match=r"episode bad, stream observation.images.front: frame 4"):
        _export(tmp_path / "ds", [synthetic_episode("g", 5, 0, cameras=("front",)), bad])
    assert not list(tmp_path.iterdir())


def test_camera_with_fewer_frames_than_ticks_stops_cleanly(tmp_path: Path) -> None:
    bad = synthetic_episode("short", 6, 3, cameras=("front",), short_by=2)
    with pytest.raises(
        LerobotNbError,
        match=r"episode short, stream observation.images.front: the camera gave "
        r"fewer frames than its 6 ticks",
    ):
        _export(tmp_path / "ds", [bad])
    assert not list(tmp_path.iterdir())


def test_output_inside_the_input_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "recs").mkdir()
    with pytest.raises(LerobotNbError, match="inside the input folder"):
        export_dataset(
            [synthetic_episode("a", 3, 0)],
            ExportConfig(output=str(tmp_path / "recs/out"), progress=False),
            inputs=[tmp_path / "recs"],
        )
    assert list((tmp_path / "recs").iterdir()) == []


def test_language_embedding_feature_from_the_offline_model(tmp_path: Path) -> None:
    from lerobot_nb.enrich.language import FEATURE_KEY, embed_texts

    episodes = [synthetic_episode("a", 6, 0, cameras=())]
    _export(tmp_path / "ds", episodes, language_embedding=True)
    info = json.loads((tmp_path / "ds/meta/info.json").read_text())
    assert info["features"][FEATURE_KEY] == {"dtype": "float32", "shape": [384], "names": None}
    rows = pq.read_table(tmp_path / "ds/data/chunk-000/file-000.parquet")[FEATURE_KEY].to_numpy(
        zero_copy_only=False
    )
    pick, place = embed_texts(["pick the cube", "place the cube"])
    np.testing.assert_array_equal(np.stack(rows), np.stack([pick] * 3 + [place] * 3))
    assert float(pick @ place) > 0.5 and abs(float(np.linalg.norm(pick)) - 1) < 1e-5


def test_lerobot_writer_gives_the_same_dataset(tmp_path: Path) -> None:
    episodes = _fixture_like()
    bad = synthetic_episode("bad", 4, 7, state_dim=3)
    summary = _export(
        tmp_path / "lr", [episodes[0], bad, *episodes[1:]], writer="lerobot", skip_bad_episodes=True
    )
    assert summary.writer == "lerobot" and summary.episodes_written == 3
    assert summary.table["status"].to_list() == ["written", "skipped", "written", "written"]
    check_loads_in_lerobot(tmp_path / "lr", episodes)
    _export(tmp_path / "nb", episodes)
    ours, theirs = (json.loads((tmp_path / d / "meta/info.json").read_text()) for d in ("nb", "lr"))
    assert ours["features"] == theirs["features"]
    assert {k: v for k, v in ours.items() if k != "features"} == {
        k: v for k, v in theirs.items() if k != "features"
    }
    a, b = (pq.read_table(tmp_path / d / "data/chunk-000/file-000.parquet") for d in ("nb", "lr"))
    # task_index differs only by numbering: lerobot numbers an episode's new tasks in set() order
    assert (
        a.drop_columns("task_index")
        .cast(b.drop_columns("task_index").schema)
        .equals(b.drop_columns("task_index"))
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr", "nb"]
    # statistics: bit for bit what lerobot computed (from its PNG frames: the same pixels), but image
    # mean/std, which lerobot_nb sums exactly where lerobot's float32 drifts (see test_stats.py)
    ours_stats, their_stats = (
        json.loads((tmp_path / d / "meta/stats.json").read_text()) for d in ("nb", "lr")
    )
    assert set(ours_stats) == set(their_stats)
    for feature in set(ours_stats) - {"task_index"}:
        for name, value in their_stats[feature].items():
            assert_stat_equal(feature, name, ours_stats[feature][name], value)
    with pytest.raises(LerobotNbError, match="native writer only"):
        _export(tmp_path / "lr", episodes, writer="lerobot", resume=True)


def test_per_episode_task_mapping_fills_and_overrides_tasks(tmp_path: Path) -> None:
    episodes = [synthetic_episode("a", 5, 0, cameras=()), synthetic_episode("b", 4, 1, cameras=(), tasks=[])]
    _export(tmp_path / "ds", episodes, episode_task=("b=open the drawer", "a=close it"))
    import pandas as pd

    tasks = pd.read_parquet(tmp_path / "ds/meta/tasks.parquet")
    assert tasks["task_index"].to_dict() == {"close it": 0, "open the drawer": 1}
    data = pq.read_table(tmp_path / "ds/data/chunk-000/file-000.parquet")
    assert data["task_index"].to_pylist() == [0] * 5 + [1] * 4
    with pytest.raises(LerobotNbError, match="not RECORDING_ID=task"):
        ExportConfig(output="x", episode_task=("no equals sign",))


def test_user_given_feature_names(tmp_path: Path) -> None:
    names = ",".join(f"joint{i}" for i in range(7))
    _export(
        tmp_path / "ds",
        [synthetic_episode("a", 3, 0, cameras=())],
        feature_names=(f"observation.state={names}",),
    )
    info = json.loads((tmp_path / "ds/meta/info.json").read_text())
    assert info["features"]["observation.state"]["names"] == names.split(",")
    assert info["features"]["action"]["names"] == [f"a{i}" for i in range(6)]  # from the recording
    with pytest.raises(LerobotNbError, match="2 names for 6 dimensions"):
        _export(tmp_path / "ds2", [synthetic_episode("a", 3, 0, cameras=())], feature_names=("action=x,y",))


def test_scalar_and_integer_features_round_trip(tmp_path: Path) -> None:
    import dataclasses

    episodes = []
    for i, n in enumerate([6, 4]):
        ep = synthetic_episode(f"s{i}", n, i, cameras=("front",))
        extra = {
            "observation.gripper": np.linspace(0, 1, n, dtype=np.float32),
            "observation.contact": np.arange(n, dtype=np.int64).reshape(n, 1) % 2,
        }
        episodes.append(dataclasses.replace(ep, numeric={**ep.numeric, **extra}))
    _export(tmp_path / "ds", episodes)
    info = json.loads((tmp_path / "ds/meta/info.json").read_text())["features"]
    assert info["observation.gripper"] == {"dtype": "float32", "shape": [1], "names": None}
    assert info["observation.contact"] == {"dtype": "int64", "shape": [1], "names": None}
    check_loads_in_lerobot(tmp_path / "ds", episodes)
    assert_valid(tmp_path / "ds")
