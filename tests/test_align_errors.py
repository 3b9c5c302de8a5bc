"""Every bad input gives one clear line naming file, episode and stream; `skip` records it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from align_recordings import T0, write_rrd

from lerobot_nb.align import AlignConfig, EpisodeSkipped, align_episode, iter_aligned
from lerobot_nb.config import config_from_mapping
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.server import RecordingServer, ServerConfig

pytestmark = pytest.mark.xdist_group("align_errors")


def _t(n: int, rate: float = 50.0) -> np.ndarray:
    return T0 + (np.arange(n) * (1e9 / rate)).astype(np.int64)


def _write_nonmonotonic(path: Path) -> None:
    """`/observation/state` whose timestamps jump back (logged in this order, log_time rising)."""
    import rerun as rr

    rec = rr.RecordingStream("lerobot_nb_align_test", recording_id="nonmonotonic")
    rec.save(path)
    seconds = [0.0, 0.02, 0.04, 0.06, 0.03, 0.08, 0.10, 0.12]
    for i, s in enumerate(seconds):
        rec.set_time("real_time", timestamp=np.datetime64(T0 + int(s * 1e9), "ns"))
        rec.log("/action", rr.Scalars([float(i)]))
        rec.log("/observation/state", rr.Scalars([float(i), 0.0]))
    rec.flush()
    rec.disconnect()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingServer]:
    folder = tmp_path_factory.mktemp("align_errors")
    good = {"/action": (_t(100), np.ones((100, 2))), "/observation/state": (_t(100), np.zeros((100, 3)))}
    write_rrd(folder / "good.rrd", "good", good, task="ok", frame_numbers=True)
    write_rrd(folder / "no_state.rrd", "no_state", {"/action": good["/action"]}, task="ok")
    nan = np.full((100, 3), np.nan)
    write_rrd(
        folder / "all_nan.rrd", "all_nan", {"/action": good["/action"], "/observation/state": (_t(100), nan)}
    )
    write_rrd(
        folder / "late.rrd",
        "late",
        {"/action": (_t(10), np.ones((10, 2))), "/observation/state": (_t(10) + 10**9, np.ones((10, 3)))},
    )
    _write_nonmonotonic(folder / "nonmonotonic.rrd")
    import rerun as rr

    rec = rr.RecordingStream("lerobot_nb_align_test", recording_id="ragged")
    rec.save(folder / "ragged.rrd")
    for i in range(20):
        rec.set_time("real_time", timestamp=np.datetime64(T0 + i * 20_000_000, "ns"))
        rec.log("/action", rr.Scalars([1.0, 2.0]))
        rec.log("/observation/state", rr.Scalars([1.0, 2.0, 3.0] if i != 12 else [1.0, 2.0]))
    rec.flush()
    rec.disconnect()
    # Legit: the state at 0.1 s is logged after the action at 0.2 s. Rows of both entities at
    # 0.1 s merge in a joint query, whose log time is then the state's, later than the action's
    # row at 0.2 s: the action looks non-monotonic there until checked on its own rows.
    rec = rr.RecordingStream("lerobot_nb_align_test", recording_id="interleaved")
    rec.save(folder / "interleaved.rrd")
    for entity, s, value in [
        ("/observation/state", 0.0, 0.0),
        ("/action", 0.0, 0.0),
        ("/action", 0.1, 1.0),
        ("/action", 0.2, 2.0),
        ("/observation/state", 0.1, 1.0),
        ("/observation/state", 0.3, 2.0),
        ("/action", 0.3, 3.0),
    ]:
        rec.set_time("real_time", timestamp=np.datetime64(T0 + int(s * 1e9), "ns"))
        rec.log(entity, rr.Scalars([value]))
    rec.flush()
    rec.disconnect()
    with RecordingServer(ServerConfig(recordings=(str(folder),))) as srv:
        yield srv


def _error(server: RecordingServer, episode: str, **cfg: object) -> str:
    with pytest.raises(LerobotNbError) as info:
        align_episode(
            server.dataset,
            episode,
            AlignConfig(**cfg),  # type: ignore[arg-type]
            source=server.source_of(episode),
        )
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(server.source_of(episode))
    assert f"episode {episode}" in message
    return message


def test_unknown_column_lists_closest_matches_and_how_to_list_all(server: RecordingServer) -> None:
    msg = _error(server, "good", state_path="/observation/stat")
    assert "stream /observation/stat" in msg
    assert "closest: /observation/state:Scalars:scalars" in msg
    assert "lerobot-nb inspect" in msg


def test_stream_with_no_samples_in_an_episode(server: RecordingServer) -> None:
    msg = _error(server, "no_state")
    assert "stream observation.state" in msg and "no samples" in msg and "real_time" in msg


def test_non_monotonic_timestamps(server: RecordingServer) -> None:
    msg = _error(server, "nonmonotonic")
    assert "not monotonic" in msg and "stream " in msg
    assert "0.030 s" in msg  # the sample that went back


def test_streams_logged_interleaved_are_not_mistaken_for_non_monotonic(server: RecordingServer) -> None:
    ep = align_episode(server.dataset, "interleaved", AlignConfig(task="t", max_staleness_s=1.0))
    assert ep.length == 4
    assert ep.numeric["action"][:, 0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert ep.numeric["observation.state"][:, 0].tolist() == [0.0, 1.0, 1.0, 2.0]


def test_all_nan_stream(server: RecordingServer) -> None:
    msg = _error(server, "all_nan")
    assert "stream observation.state" in msg and "NaN" in msg


def test_vector_length_changes_inside_a_stream(server: RecordingServer) -> None:
    msg = _error(server, "ragged")
    assert "stream observation.state" in msg
    assert "vector length changes from 3 to 2 at 0.240 s into the episode (sample 12)" in msg


def test_streams_that_do_not_overlap(server: RecordingServer) -> None:
    msg = _error(server, "late")
    assert "do not overlap" in msg


def test_sequence_timeline_needs_its_rate(server: RecordingServer) -> None:
    msg = _error(server, "good", index="frame")
    assert "sequence" in msg and "sequence_rate" in msg
    # With the rate (50 steps/s) a 10 fps grid steps 5 frames.
    ep = align_episode(server.dataset, "good", AlignConfig(index="frame", sequence_rate=50.0))
    assert ep.ticks.tolist() == list(range(0, 100, 5))
    assert ep.timestamps[-1] == pytest.approx(1.9)


def test_unknown_timeline(server: RecordingServer) -> None:
    msg = _error(server, "good", index="sim_time")
    assert "no timeline 'sim_time'" in msg and "real_time" in msg


@pytest.mark.parametrize("fps", [0, -5, 2.5])
def test_fps_must_be_a_positive_whole_number(fps: float) -> None:
    with pytest.raises(LerobotNbError, match="fps"):
        AlignConfig(fps=fps)  # type: ignore[arg-type]


def test_fps_from_notebook_parameters() -> None:
    assert config_from_mapping(AlignConfig, {"fps": 15.0}).fps == 15
    with pytest.raises(LerobotNbError, match="whole number"):
        config_from_mapping(AlignConfig, {"fps": "12.5"})


@pytest.mark.parametrize(
    ("cfg", "text"),
    [
        ({"image": ("front",)}, r"key:path\[:kind\]"),
        ({"image": ("front:/camera/front:mpeg",)}, "kind 'mpeg'"),
        ({"stream_policy": ("action=cubic",)}, "stream_policy"),
        ({"stream_policy": ("gripper=nearest",)}, "unknown stream"),
        ({"image": ("front:/c:raw",), "stream_policy": ("front=linear",)}, "numeric streams only"),
        ({"span_stream": "wrist"}, "span_stream"),
        ({"max_staleness_s": 0.0}, "max_staleness_s"),
        ({"video_format": "mpeg2"}, "unknown video codec"),
    ],
)
def test_bad_specs_fail_before_any_server_work(cfg: dict, text: str) -> None:
    with pytest.raises(LerobotNbError, match=text):
        AlignConfig(**cfg)


def test_skip_policy_records_the_reason(server: RecordingServer) -> None:
    out = list(iter_aligned(server, AlignConfig(on_error="skip")))
    by_id = {e.episode_id: e for e in out}
    assert [e.episode_id for e in out] == sorted(by_id)
    assert not isinstance(by_id["good"], EpisodeSkipped) and by_id["good"].length == 20
    skipped = {e.episode_id: e.reason for e in out if isinstance(e, EpisodeSkipped)}
    assert set(skipped) == {"all_nan", "interleaved", "late", "no_state", "nonmonotonic", "ragged"}
    assert "task text is empty" in skipped["interleaved"]
    assert "NaN" in skipped["all_nan"] and "episode all_nan" in skipped["all_nan"]
    assert "no samples" in skipped["no_state"]
    assert by_id["no_state"].source == server.source_of("no_state")  # type: ignore[union-attr]
    with pytest.raises(LerobotNbError, match="episode all_nan"):
        list(iter_aligned(server, AlignConfig(on_error="error")))


def test_unknown_episode(server: RecordingServer) -> None:
    with pytest.raises(LerobotNbError, match="unknown episode"):
        list(iter_aligned(server, AlignConfig(), episodes=["nope"]))
