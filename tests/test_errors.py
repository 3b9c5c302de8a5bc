"""Errors are one line naming file, episode and stream."""

from __future__ import annotations

import pytest

from lerobot_nb.cli.main import run_cli
from lerobot_nb.errors import LerobotNbError


def test_message_joins_context_and_folds_lines() -> None:
    err = LerobotNbError("vector length\nchanged", file="a.rrd", episode="ep_1", stream="/action")
    assert str(err) == "a.rrd, episode ep_1, stream /action: vector length changed"


def test_with_context_keeps_existing_and_fills_missing() -> None:
    err = LerobotNbError("no samples", stream="/action").with_context(file="x.rrd", stream="/other")
    assert str(err) == "x.rrd, stream /action: no samples"


def test_without_context() -> None:
    assert str(LerobotNbError("fps must be positive")) == "fps must be positive"


def test_cli_prints_one_error_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> int:
        raise LerobotNbError("no such file or folder", file="/nope")

    assert run_cli(body) == 2
    assert capsys.readouterr().err == "error: /nope: no such file or folder\n"
