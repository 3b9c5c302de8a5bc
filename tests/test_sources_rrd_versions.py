"""`.rrd` files from other Rerun versions and recordings that hold static data only."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_files import fixture

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources import discover_recordings
from lerobot_nb.sources.rrd import read_header

THIRD_PARTY = "real/rrd_third_party"

MIGRATE = (
    "rerun 0.41 reads .rrd files written by rerun 0.23 or later, and its `rerun rrd migrate` refuses older "
    "ones; migrate with rerun 0.23 first: `pip install 'rerun-sdk==0.23.*'` in a separate environment, run "
    "`rerun rrd migrate FILE` there (it keeps FILE.backup.rrd), then use the new FILE"
)


def _header_bytes(path: Path) -> bytes:
    return path.read_bytes()[:12]


@pytest.mark.parametrize(
    ("name", "version"), [("rnl_sim_v0.22.1.rrd", "0.22.1"), ("baahubali_rover_arm_v0.21.0.rrd", "0.21.0")]
)
def test_pre_023_rrd_names_its_version_and_the_migration(name: str, version: str) -> None:
    path = fixture(f"{THIRD_PARTY}/{name}")
    head = _header_bytes(path)  # read here: magic, version bytes, serializer 1 = MessagePack
    assert head[:4] == b"RRF2" and ".".join(str(b) for b in head[4:7]) == version and head[9] == 1
    with pytest.raises(LerobotNbError) as err:
        discover_recordings([path])
    assert str(err.value) == f"{path}: written by rerun {version}; {MIGRATE}"


def test_header_of_current_and_cut_files(tmp_path: Path) -> None:
    header = read_header(fixture("rrd/episode_0.rrd"))
    assert header is not None and header.version[:2] == (0, 41) and header.serializer == 2
    cut = tmp_path / "cut.rrd"
    cut.write_bytes(fixture("rrd/episode_0.rrd").read_bytes()[:7])
    assert read_header(cut) is None


def test_023_rrd_without_footer_loads_with_a_note(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = fixture(f"{THIRD_PARTY}/foxglove_so100_urdf_v0.23.1.rrd")
    with caplog.at_level(logging.WARNING, logger="lerobot_nb.sources"):
        (rec,) = discover_recordings([path])
    assert rec.episode_id == "4d315791387342099587776c474034e9"
    note = (
        "written by rerun 0.23.1 without a footer (legacy layout): it loads by reading the whole file; "
        "`rerun rrd migrate FILE` (rerun 0.41) rewrites it in the current layout"
    )
    assert rec.notes == (note,)
    assert [r.getMessage() for r in caplog.records] == [f"warning: {path.resolve()}: {note}"]


def _static_only(path: Path) -> Path:
    import rerun as rr

    rec = rr.RecordingStream("test", recording_id="urdf_only")
    rec.save(path)
    rec.log("/robot/base", rr.Transform3D(translation=[0.0, 0.0, 0.1]), static=True)
    rec.log("/task", rr.TextDocument("pick"), static=True)
    rec.flush()
    rec.disconnect()
    return path


def test_static_only_recording_is_one_clear_error_in_inspect(tmp_path: Path) -> None:
    path = _static_only(tmp_path / "urdf.rrd")
    out = subprocess.run(
        [sys.executable, "-m", "lerobot_nb.cli.main", "inspect", str(path)], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"error: {path}: holds static data only (no timeline; entities: /robot/base, /task): nothing to align"
    )


def test_static_only_recording_beside_episodes_is_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copy(fixture("rrd/episode_0.rrd"), tmp_path / fixture("rrd/episode_0.rrd").name)
    static = _static_only(tmp_path / "urdf.rrd")
    with caplog.at_level(logging.WARNING, logger="lerobot_nb.sources"):
        recs = discover_recordings([tmp_path])
    assert [r.episode_id for r in recs] == ["episode_0"]
    assert [r.getMessage() for r in caplog.records] == [
        f"warning: {static.resolve()}: left out: holds static data only (no timeline; entities: /robot/base, "
        "/task): nothing to align"
    ]
