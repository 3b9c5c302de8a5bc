"""Finding recordings and converting MCAP: ids, order, content-keyed cache, bad files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePath

import pytest
from fixture_files import fixture, fixture_names

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources import discover_recordings, mcap_to_rrd
from lerobot_nb.sources.discover import read_recording_id
from lerobot_nb.sources.formats import FORMATS
from lerobot_nb.sources.mcap import robot_streams

#: How errors list the formats the package reads.
KNOWN_FORMATS = "expected " + ", ".join(f.description for f in FORMATS)

NO_ROBOT_STREAMS = [
    *fixture_names("mcap", "rosbag2_*.mcap")
]  # lichtblick_custom-camera-model decodes now (tests/test_sources_mcap_json.py)


def test_discover_a_folder_in_path_order(rrd_dir: Path) -> None:
    recs = discover_recordings(rrd_dir)
    assert [r.episode_id for r in recs] == ["episode_0", "episode_1"]
    assert [r.source.name for r in recs] == ["episode_0.rrd", "episode_1.rrd"]
    assert all(r.rrd == r.source and r.kind == "rrd" for r in recs)


def test_recording_id_is_read_from_the_file(tmp_path: Path) -> None:
    renamed = tmp_path / "something_else.rrd"
    shutil.copy(fixture("rrd/episode_1.rrd"), renamed)
    assert read_recording_id(renamed) == "episode_1"


def test_mcap_converts_once_and_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rerun.chunk as rrc

    cache = tmp_path / "cache"
    rrd, episode = mcap_to_rrd(fixture("mcap/ros2_robot.mcap"), cache_dir=cache)
    assert episode == "ros2_robot" and rrd.parent == cache and rrd.suffix == ".rrd"
    assert read_recording_id(rrd) == "ros2_robot"
    stamp = rrd.stat().st_mtime_ns

    def no_conversion(*args: object, **kwargs: object) -> None:
        raise AssertionError("converted again although the cache has it")

    monkeypatch.setattr(rrc, "McapReader", no_conversion)
    again, _ = mcap_to_rrd(fixture("mcap/ros2_robot.mcap"), cache_dir=cache)
    assert again == rrd and rrd.stat().st_mtime_ns == stamp
    # Discovery goes through the same cache.
    recs = discover_recordings([fixture("mcap/ros2_robot.mcap")], cache_dir=cache)
    assert recs[0].rrd == rrd and recs[0].source == (fixture("mcap/ros2_robot.mcap")).resolve()
    assert sorted(p.name for p in cache.iterdir()) == [rrd.name]


def test_edited_mcap_is_converted_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    src = tmp_path / "robot.mcap"
    shutil.copy(fixture("mcap/ros2_robot.mcap"), src)
    first, _ = mcap_to_rrd(src, cache_dir=cache)
    shutil.copy(fixture("mcap/foxglove_robot.mcap"), src)  # same name, other content
    second, _ = mcap_to_rrd(src, cache_dir=cache)
    assert first != second and first.exists() and second.exists()


def test_default_cache_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEROBOT_NB_CACHE", str(tmp_path / "c"))
    rrd, _ = mcap_to_rrd(fixture("mcap/foxglove_robot.mcap"))
    assert rrd.parent == tmp_path / "c" / "mcap"


def test_robot_streams_of_converted_mcaps(tmp_path: Path) -> None:
    ros2, _ = mcap_to_rrd(fixture("mcap/ros2_robot.mcap"), cache_dir=tmp_path)
    fox, _ = mcap_to_rrd(fixture("mcap/foxglove_robot.mcap"), cache_dir=tmp_path)
    assert robot_streams(ros2) == [
        "/action",
        "/camera/image/compressed",
        "/camera/image_raw",
        "/joint_states/effort",
        "/joint_states/position",
        "/joint_states/velocity",
    ]
    assert robot_streams(fox) == ["/camera/front", "/camera/jpeg", "/camera/raw"]


@pytest.mark.parametrize("name", NO_ROBOT_STREAMS, ids=lambda n: PurePath(n).name)
def test_mcap_without_robot_streams_is_one_clear_error(name: str, tmp_path: Path) -> None:
    mcap = fixture(name)
    cache = tmp_path / "cache"
    with pytest.raises(LerobotNbError) as err:
        discover_recordings([mcap], cache_dir=cache)
    msg = str(err.value)
    assert msg.startswith(f"{mcap}: MCAP has no decodable robot streams")
    assert "\n" not in msg
    assert list(cache.iterdir()) == []  # no half-written or useless cache entry


def test_missing_path() -> None:
    with pytest.raises(LerobotNbError, match=r"^/no/such/place: no such file or folder$"):
        discover_recordings(["/no/such/place"])


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a recording")
    with pytest.raises(LerobotNbError) as err:
        discover_recordings([tmp_path])
    assert str(err.value) == f"{tmp_path}: folder holds no recordings ({KNOWN_FORMATS})"


def test_not_a_recording(tmp_path: Path) -> None:
    other = tmp_path / "data.csv"
    other.write_text("a,b\n")
    with pytest.raises(LerobotNbError, match=re.escape(f"not a recording ({KNOWN_FORMATS})")):
        discover_recordings([other])


def test_no_paths() -> None:
    with pytest.raises(LerobotNbError, match="no input recordings given"):
        discover_recordings([])


@pytest.mark.parametrize("keep", [0, 100, 5_000, 30_000])
def test_truncated_rrd_is_one_clear_error(tmp_path: Path, keep: int) -> None:
    cut = tmp_path / "cut.rrd"
    cut.write_bytes(fixture("rrd/episode_0.rrd").read_bytes()[:keep])
    with pytest.raises(LerobotNbError) as err:
        discover_recordings([cut])
    msg = str(err.value)
    assert msg.startswith(f"{cut}: not a readable Rerun recording, truncated or corrupt (")
    assert "\n" not in msg


def test_garbage_rrd(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rrd"
    bad.write_bytes(b"this is not rerun data" * 10)
    with pytest.raises(LerobotNbError, match=r"bad.rrd: not a readable Rerun recording"):
        discover_recordings([bad])
