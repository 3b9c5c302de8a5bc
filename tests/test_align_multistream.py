"""Several streams per feature and staleness that fits real robots, on a real bimanual teleoperation MCAP.

`prismax_bimanual_mcap/*.mcap` (read its README in the fixtures): four 7-joint JointState topics at
~48.5 Hz with 50-94 ms hiccups. Expectations come from our own reading of the raw CDR messages
(mcap + mcap_ros2), not from the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixture_files import fixture

from lerobot_nb.align import AlignConfig, iter_aligned
from lerobot_nb.align.names import feature_names
from lerobot_nb.server import RecordingServer, ServerConfig

SIDES = ("left", "right")


def arms(role: str) -> tuple[str, ...]:
    return tuple(f"/robot/arm_{side}_{role}/joint_states/position" for side in SIDES)


def raw_joint_states(mcap: Path) -> dict[str, tuple[np.ndarray, np.ndarray, tuple[str, ...]]]:
    """Topic -> (header stamps ns, positions (N, 7), joint names), decoded straight from the file."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    out: dict[str, tuple[list[int], list[list[float]], tuple[str, ...]]] = {}
    with mcap.open("rb") as fh:
        for _, channel, _, msg in make_reader(
            fh, decoder_factories=[DecoderFactory()]
        ).iter_decoded_messages():
            if not channel.topic.endswith("joint_states"):
                continue
            times, values, _ = out.setdefault(channel.topic, ([], [], tuple(msg.name)))
            times.append(msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec)
            values.append(list(msg.position))
    result = {}
    for topic, (times, values, names) in out.items():
        order = np.argsort(times, kind="stable")
        result[topic] = (np.asarray(times, np.int64)[order], np.asarray(values, np.float64)[order], names)
    return result


def test_names_keep_their_own_unless_they_clash() -> None:
    assert feature_names([("/a/joints", 2, ("j1", "j2")), ("/a/gripper", 1, ("grip",))]) == (
        "j1",
        "j2",
        "grip",
    )
    clash = [("/robot/arm_left/js", 2, ("pan", "lift")), ("/robot/arm_right/js", 2, ("pan", "lift"))]
    assert feature_names(clash) == ("arm_left.pan", "arm_left.lift", "arm_right.pan", "arm_right.lift")
    unnamed = [("/x/left", 2, ("a", "b")), ("/x/right", 2, None)]
    assert feature_names(unnamed) == ("left.a", "left.b", "right.0", "right.1")
    assert feature_names([("/x", 3, None), ("/y", 1, None)]) is None
    assert feature_names([("/only", 2, None)]) is None


def test_stream_paths_accept_strings_commas_and_tuples() -> None:
    a = AlignConfig(state_path="/a,/b", action_path=None)
    b = AlignConfig(state_path=("/a", "/b"), action_path="")
    assert a.state_path == b.state_path == ("/a", "/b") and a.action_path == b.action_path == ()
    assert [(s.key, s.column.entity) for s in a.numeric_specs()] == [
        ("observation.state", "/a"),
        ("observation.state", "/b"),
    ]


@pytest.fixture(scope="module")
def prismax() -> object:
    files = [fixture("real/prismax_bimanual_mcap/0.mcap"), fixture("real/prismax_bimanual_mcap/50.mcap")]
    with RecordingServer(ServerConfig(recordings=tuple(str(f) for f in files))) as server:
        yield server, {f.stem: f for f in files}


def _config(**kw: object) -> AlignConfig:
    return AlignConfig(
        index="ros2_timestamp",
        fps=30,
        state_path=arms("follow"),
        action_path=arms("lead"),
        task_path=None,
        **kw,
    )


@pytest.mark.slow
def test_real_bimanual_recordings_stay_one_episode_with_every_arm(prismax: object) -> None:
    server, files = prismax  # type: ignore[misc]
    episodes = list(iter_aligned(server, _config()))
    assert [e.episode_id for e in episodes] == ["0", "50"]
    for ep in episodes:
        raw = raw_joint_states(files[ep.episode_id])
        state_topics = [p.rsplit("/", 1)[0] for p in arms("follow")]
        action_topics = [p.rsplit("/", 1)[0] for p in arms("lead")]
        start = max(raw[t][0][0] for t in raw)
        end = min(raw[t][0][-1] for t in raw)
        want_ticks = (
            start + (2 * np.arange(0, (end - start) * 30 // 1_000_000_000 + 1) * 1_000_000_000 + 30) // 60
        )
        np.testing.assert_array_equal(ep.ticks, want_ticks[want_ticks <= end])
        for key, topics in (("observation.state", state_topics), ("action", action_topics)):
            want = []
            for topic in topics:
                times, values, _ = raw[topic]
                want.append(values[np.searchsorted(times, ep.ticks, side="right") - 1])
            np.testing.assert_array_equal(ep.numeric[key], np.concatenate(want, axis=1))
        joint_names = raw[state_topics[0]][2]
        assert len(joint_names) == 7
        assert ep.names["observation.state"] == tuple(
            f"arm_{side}_follow.{n}" for side in SIDES for n in joint_names
        )
        assert ep.names["action"][:1] == ("arm_left_lead.shoulder_pan",)


@pytest.mark.slow
def test_hiccups_are_flagged_not_dropped_and_drop_still_splits(prismax: object) -> None:
    server, files = prismax  # type: ignore[misc]
    ep = next(iter_aligned(server, _config(), episodes=["0"]))
    raw = raw_joint_states(files["0"])
    for row in ep.report.iter_rows(named=True):
        topic = row["column"].split(":", 1)[0].rsplit("/", 1)[0]
        times = raw[topic][0]
        d = np.diff(times)
        tolerance = 2.0 * float(np.median(d[d > 0]))
        staleness = ep.ticks - times[np.searchsorted(times, ep.ticks, side="right") - 1]
        assert row["dropped"] == 0 and row["kept"] == ep.length
        assert row["flagged"] == int((staleness > tolerance).sum()) > 0
    pieces = list(iter_aligned(server, _config(on_stale="drop"), episodes=["0"]))
    assert len(pieces) > 1 and [p.episode_id for p in pieces][:2] == ["0#0", "0#1"]
    assert sum(p.length for p in pieces) < ep.length
