"""`lerobot-nb validate` and `lerobot-nb stats`: exit codes, text and --json output, config flags."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_files import fixture

from lerobot_nb.cli.main import main

pytestmark = pytest.mark.xdist_group("validate")

#: Fixture datasets (relative paths, resolved with `fixture` in the tests).
DS061 = "lerobot/synthetic_v30_video_lerobot061"
IMAGE044 = "lerobot/synthetic_v30_image_lerobot044"
FAST = ["--no-training"]


def test_validate_passing_dataset_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(fixture(DS061)), *FAST]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{fixture(DS061)}: OK (24 pass, 0 fail, 1 warn, 2 skipped)"
    assert "[SKIP] training.load: loader round trip disabled (training=False)" in out


def test_validate_failing_dataset_exits_1_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(fixture(IMAGE044)), "--json", *FAST]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert [c for c, s in data["checks"].items() if s == "fail"] == ["stats.images"]
    failing = [f for f in data["findings"] if f["status"] == "fail"]
    assert {f["file"] for f in failing} == {"meta/episodes/chunk-000/file-000.parquet"}
    assert {f["episode"] for f in failing} == {0}


def test_config_flags_reach_the_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["validate", str(fixture(DS061)), "--json", "--short-episode-s", "0.5", "--no-video", *FAST])
        == 0
    )
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert checks["quality.short_episodes"] == "pass"
    assert checks["video.decode"] == "skip" and checks["stats.images"] == "skip"


def test_unusable_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"error: {tmp_path}: not a LeRobot dataset: meta/info.json is missing (give the dataset root folder)\n"
    )
    assert main(["stats", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_stats_recompute_repairs_then_validate_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ds"
    shutil.copytree(fixture(IMAGE044), root)
    assert main(["stats", str(root)]) == 0
    before = capsys.readouterr().out
    assert before.splitlines()[0].split() == ["feature", "count", "min", "max", "mean", "std"]
    assert main(["stats", "--recompute", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{root}: recomputed stats of 9 features from the data")
    assert main(["validate", str(root), *FAST]) == 0
    capsys.readouterr()
    (root / "meta/stats.json").unlink()
    assert main(["stats", str(root)]) == 2
    assert "run `lerobot-nb stats --recompute PATH`" in capsys.readouterr().err


def test_console_script_exit_codes(tmp_path: Path) -> None:
    """The installed entry point, as a user runs it: 0 / 1 / 2."""
    exe = Path(sys.executable).with_name("lerobot-nb")
    fast = ["--no-training", "--no-video"]
    ok = subprocess.run([exe, "validate", fixture(DS061), *fast], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [exe, "validate", fixture(IMAGE044), "--json", *fast], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1 and json.loads(bad.stdout)["ok"] is False
    none = subprocess.run([exe, "validate", tmp_path], capture_output=True, text=True, check=False)
    assert none.returncode == 2 and none.stderr.startswith("error: ") and "Traceback" not in none.stderr
