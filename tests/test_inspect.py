"""Inspection against a real server: episodes, columns, per-stream timing, suggestion, plots, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from fixture_files import fixture, fixture_glob

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.inspect import (
    Suggestion,
    list_columns,
    list_episodes,
    plot_stream_rates,
    plot_stream_timeline,
    stream_stats,
    stream_summary,
    suggest,
)
from lerobot_nb.query import read_streams
from lerobot_nb.server import RecordingServer, open_recordings
from lerobot_nb.sources.formats import FORMATS

KNOWN_FORMATS = "expected " + ", ".join(f.description for f in FORMATS)

FIXTURE_STREAMS = {  # column -> (rate the fixture was written with, samples per episode)
    "/action:Scalars:scalars": (30, 120),
    "/camera/jpeg:EncodedImage:blob": (15, 60),
    "/camera/raw:Image:buffer": (15, 60),
    "/camera/video:VideoStream:sample": (15, 60),
    "/observation/joint_positions:Scalars:scalars": (50, 200),
}
FIXTURE_COLUMNS = [
    "/action:Scalars:scalars",
    "/camera/jpeg:EncodedImage:blob",
    "/camera/jpeg:EncodedImage:media_type",
    "/camera/raw:Image:buffer",
    "/camera/raw:Image:format",
    "/camera/video:VideoStream:codec",
    "/camera/video:VideoStream:is_keyframe",
    "/camera/video:VideoStream:sample",
    "/language_instruction:TextDocument:text",
    "/observation/joint_positions:Scalars:scalars",
]


@pytest.fixture(scope="module")
def mcap_server() -> Iterator[RecordingServer]:
    with open_recordings([fixture("mcap/ros2_robot.mcap"), fixture("mcap/foxglove_robot.mcap")]) as server:
        yield server


# -- episodes ----------------------------------------------------------------------------------
def test_list_episodes(fixture_server: RecordingServer) -> None:
    eps = list_episodes(fixture_server)
    assert eps["episode"].to_list() == ["episode_0", "episode_1"]
    assert eps["source"].to_list() == [str(p.resolve()) for p in fixture_glob("rrd", "*.rrd")]
    assert eps["size_bytes"].to_list() == [p.stat().st_size for p in fixture_glob("rrd", "*.rrd")]
    assert {
        "frame_start",
        "frame_end",
        "frame_steps",
        "real_time_start",
        "real_time_end",
        "real_time_duration_s",
        "log_time_start",
    } <= set(eps.columns)
    assert eps["frame_steps"].to_list() == [200, 200]
    # [start, end] on real_time = the earliest / latest sample of any stream (read independently).
    starts = eps["real_time_start"].dt.epoch("ns").to_list()
    ends = eps["real_time_end"].dt.epoch("ns").to_list()
    for episode, start, end, duration in zip(
        eps["episode"], starts, ends, eps["real_time_duration_s"], strict=True
    ):
        rows = read_streams(fixture_server.dataset, episode, list(FIXTURE_STREAMS), "real_time")
        assert start == min(int(r.times[0]) for r in rows.values())
        assert end == max(int(r.times[-1]) for r in rows.values())
        assert duration == pytest.approx((end - start) / 1e9, abs=1e-9)


def test_list_episodes_names_the_mcap_source(mcap_server: RecordingServer) -> None:
    eps = list_episodes(mcap_server)
    assert eps["episode"].to_list() == ["foxglove_robot", "ros2_robot"]
    assert [Path(s).name for s in eps["source"]] == ["foxglove_robot.mcap", "ros2_robot.mcap"]
    assert eps["size_bytes"].to_list() == [
        fixture(f"mcap/{f}").stat().st_size for f in ("foxglove_robot.mcap", "ros2_robot.mcap")
    ]


# -- columns -----------------------------------------------------------------------------------
def test_list_columns(fixture_server: RecordingServer) -> None:
    cols = list_columns(fixture_server)
    assert cols["column"].to_list() == FIXTURE_COLUMNS
    by = {r["column"]: r for r in cols.iter_rows(named=True)}
    assert by["/action:Scalars:scalars"] | {} == {
        "column": "/action:Scalars:scalars",
        "entity": "/action",
        "archetype": "Scalars",
        "component": "Scalars:scalars",
        "kind": "numeric",
        "dtype": "double",
        "static": False,
        "length": 6,
        "height": None,
        "width": None,
    }
    assert by["/observation/joint_positions:Scalars:scalars"]["length"] == 7
    for cam, kind in (
        ("/camera/raw:Image:buffer", "image:raw"),
        ("/camera/jpeg:EncodedImage:blob", "image:compressed"),
        ("/camera/video:VideoStream:sample", "image:video"),
    ):
        assert (by[cam]["kind"], by[cam]["height"], by[cam]["width"]) == (kind, 48, 64), cam
    assert by["/language_instruction:TextDocument:text"]["static"] is True
    assert by["/language_instruction:TextDocument:text"]["kind"] == "text"
    assert by["/camera/video:VideoStream:is_keyframe"]["kind"] == "other"
    assert list_columns(fixture_server, shapes=False)["length"].null_count() == len(FIXTURE_COLUMNS)


def test_columns_of_converted_mcap(mcap_server: RecordingServer) -> None:
    cols = list_columns(mcap_server)
    by = {r["column"]: r for r in cols.iter_rows(named=True)}
    assert by["/joint_states/position:Scalars:scalars"]["length"] == 6
    assert (
        by["/camera/front:VideoStream:sample"]["height"],
        by["/camera/front:VideoStream:sample"]["width"],
    ) == (48, 64)
    assert by["/camera/image_raw:Image:buffer"]["kind"] == "image:raw"
    assert by["/task:TextDocument:text"]["static"] is False


# -- per-stream timing -------------------------------------------------------------------------
def test_stream_stats_counts_and_rates(fixture_server: RecordingServer) -> None:
    stats = stream_stats(fixture_server)
    assert stats.height == 2 * len(FIXTURE_STREAMS)
    assert sorted(set(stats["stream"])) == sorted(FIXTURE_STREAMS)
    for row in stats.iter_rows(named=True):
        rate, count = FIXTURE_STREAMS[row["stream"]]
        assert row["count"] == count
        assert row["nominal_hz"] == pytest.approx(rate, rel=0.01)
        assert row["rate_hz"] == pytest.approx(rate, rel=0.01)
        assert row["gaps"] == 0
        assert row["largest_gap_s"] < 1.5 / rate


def test_stream_stats_match_an_independent_computation(fixture_server: RecordingServer) -> None:
    stats = stream_stats(fixture_server, index="real_time", columns=["/action"])
    assert stats["stream"].unique().to_list() == ["/action:Scalars:scalars"]
    stats = stats.with_columns(pl.col("first", "last").dt.epoch("ns"))
    for row in stats.iter_rows(named=True):
        t = read_streams(fixture_server.dataset, row["episode"], ["/action:Scalars:scalars"], "real_time")[
            "/action:Scalars:scalars"
        ].times
        d = np.diff(t) / 1e9
        assert (row["first"], row["last"]) == (t[0], t[-1])
        assert row["span_s"] == pytest.approx((t[-1] - t[0]) / 1e9)
        assert row["largest_gap_s"] == pytest.approx(d.max())
        assert row["jitter_ms"] == pytest.approx(np.std(d) * 1e3)
        assert row["nominal_hz"] == pytest.approx(1 / np.median(d))


def test_stream_summary_folds_episodes(fixture_server: RecordingServer) -> None:
    stats = stream_stats(fixture_server)
    summary = stream_summary(stats)
    assert summary["stream"].to_list() == sorted(FIXTURE_STREAMS)
    for row in summary.iter_rows(named=True):
        rate, count = FIXTURE_STREAMS[row["stream"]]
        assert row["nominal_hz"] == pytest.approx(rate, rel=0.01)
        per = stats.filter(pl.col("stream") == row["stream"])
        assert (row["episodes"], row["samples"]) == (2, 2 * count)
        assert row["nominal_hz_min"] <= row["nominal_hz"] <= row["nominal_hz_max"]
        assert row["nominal_hz"] == pytest.approx(per["nominal_hz"].median())
        assert row["largest_gap_s"] == per["largest_gap_s"].max()


def test_cli_folds_many_episodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lerobot_nb.cli.main import main

    rrds = [str(p) for p in fixture_glob("rrd", "*.rrd")]
    limit = ["--per-episode-limit", "1"]  # InspectConfig.per_episode_limit (default 10)
    assert main(["inspect", *rrds, *limit]) == 0
    out = capsys.readouterr().out
    assert "streams over 2 episodes (on real_time; --per-episode for every row)" in out
    assert "| episode_0 | /action" not in out
    assert main(["inspect", *rrds, *limit, "--per-episode"]) == 0
    assert "| episode_0 | /action:Scalars:scalars" in capsys.readouterr().out


def test_stream_stats_on_a_sequence_timeline(fixture_server: RecordingServer) -> None:
    stats = stream_stats(fixture_server, index="frame")
    assert {"rate_per_step", "span_steps", "largest_gap_steps", "jitter_steps"} <= set(stats.columns)
    assert "rate_hz" not in stats.columns
    row = stats.filter(pl.col("stream") == "/observation/joint_positions:Scalars:scalars").row(0, named=True)
    assert (row["count"], row["first"], row["last"], row["rate_per_step"]) == (200, 0, 199, 1.0)


def test_stream_stats_of_mcap_recordings(mcap_server: RecordingServer) -> None:
    stats = stream_stats(mcap_server, index="message_log_time").filter(pl.col("count") > 0)
    got = {(r["episode"], r["stream"]): r for r in stats.iter_rows(named=True)}
    expect = {
        ("ros2_robot", "/joint_states/position:Scalars:scalars"): 50,
        ("ros2_robot", "/action:Scalars:scalars"): 30,
        ("ros2_robot", "/camera/image_raw:Image:buffer"): 15,
        ("ros2_robot", "/camera/image/compressed:EncodedImage:blob"): 15,
        ("foxglove_robot", "/camera/front:VideoStream:sample"): 15,
        ("foxglove_robot", "/camera/raw:Image:buffer"): 15,
        ("foxglove_robot", "/camera/jpeg:EncodedImage:blob"): 15,
    }
    for key, rate in expect.items():
        assert got[key]["nominal_hz"] == pytest.approx(rate, rel=0.01), key
        assert got[key]["rate_hz"] == pytest.approx(rate, rel=0.01), key


def test_unknown_index_and_stream(fixture_server: RecordingServer) -> None:
    with pytest.raises(LerobotNbError, match=r"no timeline 'nope'; available: frame, log_time, real_time"):
        stream_stats(fixture_server, index="nope")
    with pytest.raises(LerobotNbError, match="no temporal stream named /nothing"):
        stream_stats(fixture_server, columns=["/nothing"])


# -- suggestion --------------------------------------------------------------------------------
def test_suggestion_for_the_fixtures(fixture_server: RecordingServer) -> None:
    assert suggest(fixture_server) == Suggestion(
        index="real_time",
        fps=15,  # the cameras' rate: every chosen stream is fresh at each tick
        action_path=("/action",),
        state_path=("/observation/joint_positions",),
        task_path="/language_instruction",
        image=("jpeg:/camera/jpeg:compressed", "raw:/camera/raw:raw", "video:/camera/video:video"),
    )


def test_suggestion_for_ros2_mcap() -> None:
    with open_recordings(fixture("mcap/ros2_robot.mcap")) as server:
        s = suggest(server)
    # The Float64MultiArray action and the String task carry no header stamp: only the log time
    # has every stream.
    assert s == Suggestion(
        index="message_log_time",
        fps=15,
        action_path=("/action",),
        state_path=("/joint_states/position",),
        task_path="/task",
        image=(
            "camera_image_compressed:/camera/image/compressed:compressed",
            "camera_image_raw:/camera/image_raw:raw",
        ),
    )


def test_suggestion_builds_an_align_config(fixture_server: RecordingServer) -> None:
    from lerobot_nb.align import AlignConfig

    s = suggest(fixture_server)
    config = AlignConfig(**asdict(s))
    assert (config.fps, config.index, config.image) == (15, "real_time", s.image)
    assert s.as_flags().startswith("--index real_time --fps 15 --action-path /action ")


def test_suggestion_for_the_samples_is_the_align_default() -> None:
    from lerobot_nb.align import AlignConfig
    from lerobot_nb.sources.sample import sample_recordings

    with open_recordings(sample_recordings()) as server:
        s = suggest(server)
    default = AlignConfig()
    assert (s.index, s.fps, s.action_path, s.state_path, s.task_path) == (
        default.index,
        default.fps,
        default.action_path,
        default.state_path,
        default.task_path,
    )
    assert s.image == ("top:/camera/top:video", "wrist:/camera/wrist:compressed")


# -- plots -------------------------------------------------------------------------------------
def test_plots(fixture_server: RecordingServer) -> None:
    stats = stream_stats(fixture_server)
    fig = plot_stream_rates(stats)
    bars = fig.axes[0].patches
    assert len(bars) == len(FIXTURE_STREAMS)
    assert sorted(round(b.get_width()) for b in bars) == [15, 15, 15, 30, 50]
    fig = plot_stream_timeline(fixture_server, "episode_0")
    collections = fig.axes[0].collections
    assert sorted(len(c.get_positions()) for c in collections) == [60, 60, 60, 120, 200]
    with pytest.raises(LerobotNbError, match="episode nope: no such episode"):
        plot_stream_timeline(fixture_server, "nope")


# -- corrupt data found at query time -------------------------------------------------------------
def test_corrupt_chunk_names_file_and_episode(tmp_path: Path) -> None:
    good = tmp_path / "episode_1.rrd"
    good.write_bytes(fixture("rrd/episode_1.rrd").read_bytes())
    data = bytearray(fixture("rrd/episode_0.rrd").read_bytes())
    # Registration only reads the footer; a damaged chunk fails when a query fetches it.
    data[3320:3328] = b"\xff" * 8
    bad = tmp_path / "episode_0.rrd"
    bad.write_bytes(bytes(data))
    with open_recordings(tmp_path) as server, pytest.raises(LerobotNbError) as err:
        stream_stats(server, index="real_time")
    msg = str(err.value)
    assert msg.startswith(f"{bad.resolve()}, episode episode_0: the server cannot read this recording's data")
    assert "\n" not in msg


# -- CLI ---------------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lerobot_nb.cli.main", "inspect", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_prints_tables_and_suggestion() -> None:
    proc = _cli(*map(str, fixture_glob("rrd", "*.rrd")), "--columns")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("2 episode(s) from ")
    assert "timelines: frame (sequence), log_time (timestamp), real_time (timestamp)" in out
    for name in FIXTURE_COLUMNS:
        assert f"| {name} " in out
    assert "| episode_0 | /action:Scalars:scalars" in out
    assert "--index real_time --fps 15 --action-path /action --state-path /observation/joint_positions" in out


def test_cli_json() -> None:
    proc = _cli(str(fixture("mcap/ros2_robot.mcap")), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [e["episode"] for e in data["episodes"]] == ["ros2_robot"]
    assert data["suggestion"]["index"] == "message_log_time"
    streams = {s["stream"]: s for s in data["streams"]}
    assert streams["/joint_states/position:Scalars:scalars"]["count"] == 150
    assert any(c["column"] == "/joint_states/position:Scalars:scalars" for c in data["columns"])


def test_cli_attaches_to_a_server(fixture_server: RecordingServer) -> None:
    proc = _cli("--server-url", fixture_server.url, "--dataset-name", "recordings")
    assert proc.returncode == 0, proc.stderr
    assert f"2 episode(s) from {fixture_server.url}" in proc.stdout
    assert (
        f"lerobot-nb align --server-url {fixture_server.url} --dataset-name recordings --index" in proc.stdout
    )


def _bad_inputs(tmp: Path) -> list[tuple[list[str], str]]:
    empty = tmp / "empty"
    empty.mkdir()
    cut = tmp / "cut.rrd"
    cut.write_bytes(fixture("rrd/episode_0.rrd").read_bytes()[:30_000])
    # (lichtblick_custom-camera-model.mcap was here: its JSON camera decodes now.)
    talker = fixture("mcap/rosbag2_talker.mcap")
    return [
        ([str(tmp / "missing")], f"error: {tmp / 'missing'}: no such file or folder"),
        ([str(empty)], f"error: {empty}: folder holds no recordings ({KNOWN_FORMATS})"),
        ([str(cut)], f"error: {cut}: not a readable Rerun recording, truncated or corrupt ("),
        ([str(talker)], f"error: {talker}: MCAP has no decodable robot streams"),
        (
            ["--server-url", "rerun+http://127.0.0.1:9", "--dataset-name", "x"],
            "error: rerun+http://127.0.0.1:9: the server does not answer",
        ),
        ([], "error: give recording files or folders, or --server-url URL --dataset-name NAME"),
    ]


def test_cli_bad_inputs_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lerobot_nb.cli.main import main

    for args, start in _bad_inputs(tmp_path):
        assert main(["inspect", *args]) == 2, args
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith(start) and captured.err.count("\n") == 1, (captured.err, start)


def test_cli_bad_inputs_in_a_real_process_are_exactly_one_line(tmp_path: Path) -> None:
    cut = tmp_path / "cut.rrd"
    cut.write_bytes(fixture("rrd/episode_0.rrd").read_bytes()[:30_000])
    topics = fixture("mcap/rosbag2_only_topics.mcap")  # the importer also warns about its metadata
    for path, start in (
        (cut, "not a readable Rerun recording, truncated or corrupt ("),
        (topics, "MCAP has no decodable robot streams"),
    ):
        proc = _cli(str(path))
        assert proc.returncode == 2
        assert proc.stderr.startswith(f"error: {path}: {start}"), proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_cli_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from lerobot_nb.cli.main import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["inspect", str(fixture("rrd/episode_0.rrd")), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: 127.0.0.1:{port}: port {port} is already in use (pass port=0 for a free one)\n"


# -- InspectConfig: one name in the API, the CLI and notebook 01 -----------------------------------------
def test_inspect_recordings_follows_the_config(fixture_server: RecordingServer) -> None:
    from lerobot_nb.inspect import InspectConfig, inspect_recordings

    report = inspect_recordings(fixture_server)
    assert (report.folded, report.columns, report.suggestion) == (False, None, suggest(fixture_server))
    assert report.streams.equals(report.stats) and report.stats.equals(stream_stats(fixture_server))
    assert report.timelines == {"frame": "sequence", "log_time": "timestamp", "real_time": "timestamp"}
    folded = inspect_recordings(
        fixture_server, InspectConfig(columns=True, shapes=False, per_episode_limit=1)
    )
    assert folded.folded and folded.streams.equals(stream_summary(folded.stats))
    assert folded.columns is not None and folded.columns["column"].to_list() == FIXTURE_COLUMNS
    assert folded.columns["length"].null_count() == len(FIXTURE_COLUMNS)  # shapes=False reads no data
    kept = inspect_recordings(fixture_server, InspectConfig(per_episode=True, per_episode_limit=1))
    assert not kept.folded
    on_frame = inspect_recordings(fixture_server, InspectConfig(index="frame"))
    assert on_frame.suggestion.index == "frame" and "rate_per_step" in on_frame.stats.columns


def test_inspect_flags_and_notebook_parameters_are_the_config_fields() -> None:
    import dataclasses

    from lerobot_nb.cli.main import build_parser
    from lerobot_nb.config import config_from_args
    from lerobot_nb.inspect import InspectConfig
    from lerobot_nb.notebooks import notebook_dir, notebook_parameters

    args = build_parser().parse_args(
        ["inspect", "x.rrd", "--index", "frame", "--no-shapes", "--per-episode-limit", "3", "--columns"]
    )
    assert config_from_args(InspectConfig, args) == InspectConfig(
        index="frame", shapes=False, per_episode_limit=3, columns=True
    )
    assert config_from_args(InspectConfig, build_parser().parse_args(["inspect"])) == InspectConfig()
    fields = {f.name for f in dataclasses.fields(InspectConfig)}
    notebook_only = {"recordings", "server_url", "dataset_name", "episode", "interactive"}
    declared = set(notebook_parameters(notebook_dir() / "01_inspect.ipynb")) - notebook_only
    assert declared == fields - {"columns"}  # notebook 01 always lists the columns
    with pytest.raises(LerobotNbError, match="per_episode_limit=-1 must be >= 0"):
        InspectConfig(per_episode_limit=-1)


def test_cli_no_shapes_reads_no_data() -> None:
    proc = _cli(*map(str, fixture_glob("rrd", "*.rrd")), "--json", "--no-shapes")
    assert proc.returncode == 0, proc.stderr
    columns = json.loads(proc.stdout)["columns"]
    assert [c["column"] for c in columns] == FIXTURE_COLUMNS
    assert all(c["length"] is None and c["height"] is None for c in columns)
