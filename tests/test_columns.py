"""Column specs as the reference CLI accepts them, and helpful unknown-column errors."""

from __future__ import annotations

import pytest

from lerobot_nb.columns import ColumnSpec, closest_columns, resolve_column
from lerobot_nb.errors import LerobotNbError

AVAILABLE = [
    "/action:Scalars:scalars",
    "/observation/joint_positions:Scalars:scalars",
    "/language_instruction:TextDocument:text",
    "/robot_right/joint_states:schemas.proto.JointState:joint_positions",
]


@pytest.mark.parametrize(
    ("text", "role", "name"),
    [
        ("/action", "numeric", "/action:Scalars:scalars"),
        ("action", "numeric", "/action:Scalars:scalars"),
        ("/language_instruction", "task", "/language_instruction:TextDocument:text"),
        (
            "/robot_right/joint_states:schemas.proto.JointState:joint_positions",
            "numeric",
            "/robot_right/joint_states:schemas.proto.JointState:joint_positions",
        ),
    ],
)
def test_parse(text: str, role: str, name: str) -> None:
    assert ColumnSpec.parse(text, role=role).name == name


def test_parts() -> None:
    spec = ColumnSpec.parse("/r/js:schemas.proto.JointState:joint_positions")
    assert (spec.entity, spec.archetype, spec.field) == (
        "/r/js",
        "schemas.proto.JointState",
        "joint_positions",
    )


@pytest.mark.parametrize("text", ["", "/a:Scalars", "/a:Scalars:", "/a:b:c:d"])
def test_malformed(text: str) -> None:
    with pytest.raises(LerobotNbError):
        ColumnSpec.parse(text)


def test_resolve_known() -> None:
    assert resolve_column(ColumnSpec.parse("/action"), AVAILABLE) == "/action:Scalars:scalars"


def test_unknown_column_lists_closest_and_how_to_list_all() -> None:
    with pytest.raises(LerobotNbError) as err:
        resolve_column(
            ColumnSpec.parse("/observation/joint_position"), AVAILABLE, source="d.rrd", episode="ep0"
        )
    msg = str(err.value)
    assert msg.startswith("d.rrd, episode ep0, stream /observation/joint_position: unknown column")
    assert "closest: /observation/joint_positions:Scalars:scalars" in msg
    assert "lerobot-nb inspect PATH --columns" in msg


def test_closest_prefers_same_entity() -> None:
    assert closest_columns("/robot_right/joint_states:Scalars:scalars", AVAILABLE, n=1) == [
        "/robot_right/joint_states:schemas.proto.JointState:joint_positions"
    ]
