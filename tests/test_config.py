"""Dataclass configs become CLI flags and notebook parameters with one name each."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from lerobot_nb.config import add_config_arguments, config_from_args, config_from_mapping, help_field
from lerobot_nb.errors import LerobotNbError


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    fps: int = help_field(10, "frames per second")
    max_staleness_s: float | None = help_field(None, "tolerance")
    index: str = help_field("real_time", "timeline")
    image: tuple[str, ...] = help_field((), "key:path:kind", metavar="SPEC")
    policy: Literal["latest", "nearest", "linear"] = help_field("latest", "resampling")
    overwrite: bool = help_field(False, "replace")
    output: Path | None = help_field(None, "where")


def parse(*argv: str) -> DemoConfig:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, DemoConfig)
    return config_from_args(DemoConfig, parser.parse_args(list(argv)))


def test_defaults_come_from_the_dataclass() -> None:
    assert parse() == DemoConfig()


def test_flags_use_field_names_with_dashes() -> None:
    cfg = parse(
        "--fps",
        "15",
        "--max-staleness-s",
        "0.25",
        "--image",
        "front:/cam:video",
        "--image",
        "wrist:/w:raw",
        "--policy",
        "nearest",
        "--overwrite",
        "--output",
        "/tmp/x",
    )
    assert cfg == DemoConfig(
        fps=15,
        max_staleness_s=0.25,
        image=("front:/cam:video", "wrist:/w:raw"),
        policy="nearest",
        overwrite=True,
        output=Path("/tmp/x"),
    )


def test_bad_choice_is_rejected_by_argparse() -> None:
    with pytest.raises(SystemExit):
        parse("--policy", "cubic")


def test_mapping_coerces_papermill_values() -> None:
    cfg = config_from_mapping(
        DemoConfig, {"fps": 30.0, "image": "top:/camera/top:video", "overwrite": "true", "output": "out"}
    )
    assert cfg.fps == 30 and isinstance(cfg.fps, int)
    assert cfg.image == ("top:/camera/top:video",)
    assert cfg.overwrite is True
    assert cfg.output == Path("out")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"fps": 7.5}, "parameter fps=7.5 must be a whole number"),
        ({"fps": "ten"}, "parameter fps='ten' must be a whole number"),
        ({"policy": "cubic"}, "parameter policy='cubic' is not one of latest, nearest, linear"),
        ({"fsp": 10}, "unknown parameter(s) fsp for DemoConfig"),
    ],
)
def test_mapping_errors_are_one_line(values: dict[str, object], message: str) -> None:
    with pytest.raises(LerobotNbError) as err:
        config_from_mapping(DemoConfig, values)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_unknown_keys_can_be_ignored_for_shared_notebook_parameters() -> None:
    assert config_from_mapping(DemoConfig, {"fps": 5, "episodes": 3}, ignore_unknown=True).fps == 5
