"""Suggestions that understand real rigs: leader/follower, command/state, left/right, every arm."""

from __future__ import annotations

import shlex
import struct
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from fixture_files import fixture

from lerobot_nb.inspect import Suggestion, suggest
from lerobot_nb.inspect.roles import pick_arms, role, side
from lerobot_nb.server import RecordingServer, open_recordings

T0 = 1_700_000_000_000_000_000
PRISMAX = "real/prismax_bimanual_mcap/0.mcap"


# -- the naming rules, path by path ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("entity", "has_leader", "expected"),
    [
        ("/robot/arm_left_lead/joint_states/position", True, "action"),  # leader beats joint_states
        ("/robot/arm_left_follow/joint_states/position", True, "state"),
        ("/master_left/joint_states", False, "action"),
        ("/puppet_right/joint_states", False, "state"),
        ("/teleop/ArmLeft/q", True, "action"),
        ("/robot/ArmLeft/q", True, "state"),  # `robot` opposite a leader is the follower
        ("/robot/ArmLeft/q", False, None),  # ... and without one just a namespace
        ("/robot/joint_commands", False, "action"),  # a command, not the follower's state
        ("/arm/cmd", False, "action"),
        ("/arm/target_position", False, "action"),
        ("/arm/goal", False, "action"),
        ("/arm/joint_states/position", False, "state"),
        ("/arm/joint_states/velocity", False, None),
        ("/arm_left_follow/joint_states/effort", True, None),
        ("/reward", False, None),
        ("/battery", False, None),
    ],
)
def test_role_of_a_path(entity: str, has_leader: bool, expected: str | None) -> None:
    assert role(entity, has_leader=has_leader) == expected


@pytest.mark.parametrize(
    ("entity", "expected"),
    [
        ("/robot/arm_left_lead", "left"),
        ("/RightArm/joints", "right"),
        ("/left/right_cam", None),  # both: no side
        ("/bright_light", None),  # a word, not a substring
        ("/observation/state", None),
    ],
)
def test_side_of_a_path(entity: str, expected: str | None) -> None:
    assert side(entity) == expected


def test_pick_arms_takes_each_side_left_first_and_prefers_the_mirror() -> None:
    paths = ["/right/arm/state", "/right/arm/state_estimate", "/left/arm/state", "/observation/x"]
    rank = {"/left/arm/state": 3, "/right/arm/state_estimate": 2, "/right/arm/state": 1, "/observation/x": 0}
    assert pick_arms(paths, str, lambda p: (rank[p],)) == ["/left/arm/state", "/right/arm/state"]
    # An unsided best stream stays the only one.
    assert pick_arms(paths, str, lambda p: (p == "/observation/x",)) == ["/observation/x"]
    assert pick_arms([], str, lambda p: (0,)) == []


def assert_flags_round_trip(s: Suggestion) -> None:
    """`lerobot-nb align PATH <s.as_flags()>` aligns the same streams as `AlignConfig(**asdict(s))`
    (no stream is `''` on the command line, None in the API: the same alignment)."""
    from lerobot_nb.align import AlignConfig
    from lerobot_nb.cli.main import build_parser
    from lerobot_nb.config import config_from_args

    def alignment(c: AlignConfig) -> tuple[object, ...]:
        return (c.index, c.fps, c.numeric_specs(), c.image_specs(), c.task_spec())

    args = build_parser().parse_args(["align", "x.rrd", *shlex.split(s.as_flags())])
    assert alignment(config_from_args(AlignConfig, args)) == alignment(AlignConfig(**asdict(s)))


# -- the real bimanual teleoperation MCAP -------------------------------------------------------------
def _header_rates(path: Path, topics: list[str]) -> dict[str, float]:
    """Per topic, 1 / median interval of the JointState header stamps, read from the raw CDR."""
    from mcap.reader import make_reader

    stamps: dict[str, list[int]] = defaultdict(list)
    with path.open("rb") as f:
        for _schema, channel, message in make_reader(f).iter_messages(topics=topics):
            assert message.data[1] == 1  # CDR little endian
            sec, nsec = struct.unpack_from("<iI", message.data, 4)  # std_msgs/Header.stamp first
            stamps[channel.topic].append(sec * 1_000_000_000 + nsec)
    rates = {}
    for topic, t in stamps.items():
        d = np.diff(np.sort(np.array(t)))
        rates[topic] = 1e9 / float(np.median(d[d > 0]))
    return rates


def test_prismax_bimanual_rig_proposes_both_leaders_as_action_and_both_followers_as_state() -> None:
    path = fixture(PRISMAX)
    with open_recordings(path) as server:
        s = suggest(server)
    lead = [f"/robot/arm_{side}_lead/joint_states" for side in ("left", "right")]
    rates = _header_rates(path, lead)
    assert s == Suggestion(
        index="ros2_timestamp",
        fps=round(min(rates[t] for t in lead)),  # the slower leader arm: ~49.5 Hz -> 50
        action_path=(
            "/robot/arm_left_lead/joint_states/position",
            "/robot/arm_right_lead/joint_states/position",
        ),
        state_path=(
            "/robot/arm_left_follow/joint_states/position",
            "/robot/arm_right_follow/joint_states/position",
        ),
        task_path=None,  # the task sentence is an MCAP metadata record, not a stream
        image=(),  # the cameras were saved as separate mp4 files
    )
    assert s.fps == 50
    assert_flags_round_trip(s)
    assert s.as_flags() == (
        "--index ros2_timestamp --fps 50 "
        "--action-path /robot/arm_left_lead/joint_states/position,/robot/arm_right_lead/joint_states/position "
        "--state-path /robot/arm_left_follow/joint_states/position,/robot/arm_right_follow/joint_states/position "
        "--task-path ''"
    )


# -- generated rigs --------------------------------------------------------------------------------
def _write(path: Path, streams: dict[str, float]) -> None:
    """One recording: each entity a 3-D `Scalars` stream at its rate (Hz) for 2 s on `real_time`."""
    import rerun as rr

    rec = rr.RecordingStream("lerobot_nb_inspect_test", recording_id=path.stem)
    rec.save(path)
    for entity, rate in streams.items():
        t = T0 + np.round(np.arange(int(2 * rate)) * 1e9 / rate).astype(np.int64)
        rec.send_columns(
            entity,
            indexes=[rr.TimeColumn("real_time", timestamp=t.astype("datetime64[ns]"))],
            columns=rr.Scalars.columns(scalars=np.zeros((len(t), 3))),
        )
    rec.flush()
    rec.disconnect()


@pytest.fixture(scope="module")
def command_state_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingServer]:
    path = tmp_path_factory.mktemp("command_state") / "two_arms.rrd"
    _write(
        path,
        {
            "/robot/right_arm/joint_commands": 30,
            "/robot/left_arm/joint_commands": 25,
            "/robot/left_arm/joint_states/position": 50,
            "/robot/left_arm/joint_states/velocity": 50,
            "/robot/right_arm/joint_states/position": 50,
            "/robot/right_arm/joint_states/velocity": 50,
            "/robot/battery": 5,
        },
    )
    with open_recordings(path) as server:
        yield server


def test_command_state_rig_with_left_and_right_arms(command_state_rig: RecordingServer) -> None:
    s = suggest(command_state_rig)
    assert s == Suggestion(
        index="real_time",
        fps=25,  # the slower command stream
        action_path=("/robot/left_arm/joint_commands", "/robot/right_arm/joint_commands"),
        state_path=("/robot/left_arm/joint_states/position", "/robot/right_arm/joint_states/position"),
        task_path=None,
        image=(),
    )
    assert_flags_round_trip(s)


def test_teleop_rig_whose_follower_is_called_robot(tmp_path: Path) -> None:
    path = tmp_path / "teleop.rrd"
    _write(
        path,
        {"/teleop/ArmRight/q": 40, "/teleop/ArmLeft/q": 40, "/robot/ArmLeft/q": 40, "/robot/ArmRight/q": 40},
    )
    with open_recordings(path) as server:
        s = suggest(server)
    assert (s.action_path, s.state_path, s.fps) == (
        ("/teleop/ArmLeft/q", "/teleop/ArmRight/q"),
        ("/robot/ArmLeft/q", "/robot/ArmRight/q"),
        40,
    )


def test_a_robot_description_is_never_the_task() -> None:
    """labelbox's recorder logs the URDF as text (`/robot_description`): not a task sentence."""
    from fixture_files import fixture_glob

    from lerobot_nb import open_recordings

    with open_recordings(fixture_glob("real/labelbox_franka_mcap", "*.mcap")[:1]) as server:
        s = suggest(server)
    assert (
        s.task_path is None and s.action_path == ("/action",) and s.state_path == ("/joint_states/position",)
    )
