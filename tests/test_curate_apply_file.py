"""curation.yaml on its own: parsed, checked, written and read back (no dataset needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lerobot_nb.curate import (
    Curation,
    EpisodeDecision,
    curation_to_yaml,
    parse_curation,
    read_curation,
    write_curation,
)
from lerobot_nb.errors import LerobotNbError

EXAMPLE = """
episodes:
  3: {drop: idle the whole time}
  pusht_002: {trim: [1.5, null]}
  5:
    trim: [0, 7.2]
    split: [4]
  '7': {task: push the T to the target}
"""


def test_example_parses_to_decisions() -> None:
    curation = parse_curation(EXAMPLE)
    assert dict(curation.episodes) == {
        3: EpisodeDecision(drop="idle the whole time"),
        "pusht_002": EpisodeDecision(trim=(1.5, None)),
        5: EpisodeDecision(trim=(0.0, 7.2), split=(4.0,)),
        "7": EpisodeDecision(task="push the T to the target"),  # a quoted key is a recording id
    }
    assert list(curation.episodes) == [3, "pusht_002", 5, "7"]  # file order kept
    assert curation.episodes[3].dropped and not curation.episodes[5].dropped


def test_write_then_read_gives_the_same_curation(tmp_path: Path) -> None:
    curation = parse_curation(EXAMPLE).with_decision(0, EpisodeDecision(trim=(0.1 + 0.2, 2.0)))
    path = write_curation(tmp_path / "sub" / "curation.yaml", curation)
    again = read_curation(path)
    assert again.episodes == curation.episodes and again.path == path
    assert again.episodes[0].trim == (0.30000000000000004, 2.0)  # floats round-trip exactly
    text = path.read_text()
    assert text.startswith("# lerobot-nb curation file")
    assert "3: {drop: idle the whole time}" in text and "'7': {task: push the T to the target}" in text
    assert sorted(p.name for p in path.parent.iterdir()) == ["curation.yaml"]  # no temporary file left
    assert curation.with_decision(3, None).episodes.keys() == {"pusht_002", 5, "7", 0}


def test_empty_file_keeps_everything() -> None:
    assert parse_curation("").episodes == {}
    assert parse_curation("episodes: {}\n").episodes == {}
    assert curation_to_yaml(Curation()).endswith("episodes: {}\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("episodes:\n  3:\n    trim: [0, 1]\n    trim: [2, 3]\n", "line 4: several trims for one episode"),
        ("episodes:\n  3: {trim: [[0, 1], [2, 3]]}\n", "episode 3: several trims for one episode"),
        (
            "episodes:\n  3: {drop: a}\n  3: {drop: b}\n",
            "line 3: episode 3 is listed twice (first on line 2)",
        ),
        ("episodes:\n  3: {trim: [5, 3]}\n", "episode 3: trim [5.0, 3.0] does not end after it starts"),
        ("episodes:\n  3: {trim: [-1, 3]}\n", "episode 3: trim start -1.0 is not a number of seconds >= 0"),
        ("episodes:\n  3: {trim: [1]}\n", "episode 3: trim [1] is not [START_S, END_S]"),
        ("episodes:\n  3: {trim: [a, 2]}\n", "episode 3: trim ['a', 2]: START_S and END_S must be seconds"),
        ("episodes:\n  3: {drop: ''}\n", "episode 3: drop needs a reason"),
        ("episodes:\n  3: {drop: x, trim: [0, 1]}\n", "episode 3: a dropped episode cannot also be trimmed"),
        (
            "episodes:\n  3: {cut: [0, 1]}\n",
            "episode 3: unknown field(s) cut; known: drop, trim, split, task",
        ),
        ("episodes:\n  3: {split: [2, 1]}\n", "episode 3: split times [2.0, 1.0] must be increasing"),
        ("episodes:\n  3: drop\n", "episode 3: expected {drop: REASON} or {trim: [START_S, END_S]}"),
        ("episodes:\n  -1: {drop: x}\n", "-1 is not an episode_index"),
        ("episodes:\n  yes: {drop: x}\n", "True is not an episode_index"),
        ("drop: [1, 2]\n", "a curation file is a mapping with one key, `episodes:`"),
        ("episodes: [1, 2]\n", "`episodes:` must map episodes"),
        ("episodes:\n  3: {drop: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_file_is_one_line_naming_file_and_episode(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "curation.yaml"
    path.write_text(text)
    with pytest.raises(LerobotNbError) as info:
        read_curation(path)
    line = str(info.value)
    assert "\n" not in line
    assert line.startswith(f"{path}: ") or line.startswith(f"{path}, episode ")
    assert message in line


def test_decisions_are_checked_when_built_in_python() -> None:
    with pytest.raises(LerobotNbError, match="trim \\[2, 1\\] does not end after it starts"):
        EpisodeDecision(trim=(2, 1))
    with pytest.raises(LerobotNbError, match="drop needs a reason"):
        EpisodeDecision(drop=" ")


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(LerobotNbError, match="cannot read the curation file"):
        read_curation(tmp_path / "nope.yaml")
