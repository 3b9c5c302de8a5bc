"""Bad xgym input: one line naming the file (and stream), raised before anything is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from xgym_support import DUCKS, RED_BLOCK, make_folder

from lerobot_nb.align import AlignConfig
from lerobot_nb.align.aligner import iter_recorded
from lerobot_nb.episode import EpisodeSkipped
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export import ExportConfig, export_dataset
from lerobot_nb.sources import discover_recordings
from lerobot_nb.sources.xgym import open_reader
from lerobot_nb.sources.xgym_sample import XgymEpisodeSpec, write_episode

SMALL = XgymEpisodeSpec(records=10, maxlen=12, height=32, width=32)
RECORD = 4 * 23 + 3 * 32 * 32 * 3
FIRST, SECOND = "xgym_data_20250301-090000", "xgym_data_20250301-090001"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path, [SMALL, SMALL])


def _edit_sidecar(path: Path, edit: Callable[[dict], None]) -> None:
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


def _error_of(folder: Path, episode: str = SECOND) -> str:
    with pytest.raises(LerobotNbError) as info:
        open_reader(folder).read(episode, "record")
    message = str(info.value)
    assert "\n" not in message
    return message


def _no_camera(doc: dict) -> None:
    doc["schema"] = {k: v for k, v in doc["schema"].items() if not isinstance(v, list)}


def _four_channels(doc: dict) -> None:
    doc["schema"]["/xgym/camera/side"] = [32, 32, 4]


def _eight_joints(doc: dict) -> None:
    doc["schema"]["xarm_joints"] = 8


@pytest.mark.parametrize(
    ("edit", "stream", "what"),
    [
        (_no_camera, None, "schema has no camera (no [height, width, 3] entry)"),
        (
            _four_channels,
            "/xgym/camera/side",
            "camera shape [32, 32, 4] is not [height, width, 3] (BGR uint8)",
        ),
        (
            _eight_joints,
            None,
            f"the sidecar's schema disagrees with the data: it describes {RECORD + 4}-byte records, the file "
            f"holds maxlen 12 records of {RECORD} bytes",
        ),
    ],
)
def test_bad_sidecars(folder: Path, edit: Callable[[dict], None], stream: str | None, what: str) -> None:
    sidecar = folder / f"{SECOND}.json"
    _edit_sidecar(sidecar, edit)
    where = str(folder / f"{SECOND}.dat") if edit is _eight_joints else str(sidecar)
    assert _error_of(folder) == f"{where}, episode {SECOND}{f', stream {stream}' if stream else ''}: {what}"


def test_dat_without_sidecar_and_the_reverse(folder: Path, tmp_path: Path) -> None:
    (folder / f"{SECOND}.json").unlink()
    missing = f"{folder / SECOND}.dat, episode {SECOND}: has no .json beside it ({SECOND}.json is missing)"
    assert _error_of(folder) == missing
    with pytest.raises(LerobotNbError) as info:  # the server path: converting to .rrd
        discover_recordings(folder, cache_dir=tmp_path / "cache")
    assert str(info.value) == missing
    (folder / f"{FIRST}.dat").unlink()
    assert (
        _error_of(folder, FIRST)
        == f"{folder / FIRST}.json, episode {FIRST}: has no .dat beside it ({FIRST}.dat is missing)"
    )


def test_truncated_dat_names_the_stream_it_ends_in(folder: Path) -> None:
    dat = folder / f"{SECOND}.dat"
    with dat.open("r+b") as fh:
        fh.truncate(12 * RECORD - 1000)  # cut inside the last camera of record 11
    assert _error_of(folder) == (
        f"{dat}, episode {SECOND}, stream /xgym/camera/wrist: truncated: {12 * RECORD - 1000} bytes, but maxlen 12 records of "
        f"{RECORD} bytes need {12 * RECORD}; it ends in record 11"
    )


def test_size_that_is_no_whole_number_of_records(folder: Path) -> None:
    dat = folder / f"{SECOND}.dat"
    with dat.open("ab") as fh:
        fh.write(b"\0" * 7)
    assert _error_of(folder) == (
        f"{dat}, episode {SECOND}: the sidecar's schema disagrees with the data: {12 * RECORD + 7} bytes is not a whole number "
        f"of {RECORD}-byte records (maxlen 12)"
    )


def test_all_zero_file(folder: Path) -> None:
    dat = folder / f"{SECOND}.dat"
    dat.write_bytes(b"\0" * (12 * RECORD))
    assert _error_of(folder) == f"{dat}, episode {SECOND}: all 12 records are zero: nothing was recorded"


def test_camera_that_never_delivers(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, [XgymEpisodeSpec(records=10, height=32, width=32, late=((2, 50),))])
    assert _error_of(folder, FIRST) == (
        f"{folder / FIRST}.dat, episode {FIRST}, stream /xgym/camera/wrist: the camera never delivered a frame: its image is all "
        "zero in all 10 written records"
    )


def test_camera_shape_other_than_the_folders(folder: Path) -> None:
    write_episode(folder / f"{SECOND}.dat", XgymEpisodeSpec(records=10, height=48, width=32))
    assert _error_of(folder) == (
        f"{folder / SECOND}.json, episode {SECOND}, stream /xgym/camera/worm: camera shape [48, 32, 3], other than the folder's "
        "schema [32, 32, 3] (one dataset feature has one shape)"
    )


@pytest.mark.parametrize("tasks", [(), (RED_BLOCK, DUCKS)])
def test_task_file_missing_or_two(folder: Path, tasks: tuple[str, ...]) -> None:
    for old in folder.glob("task-*.npy"):
        old.unlink()
    for rel in tasks:
        np.save(folder / Path(rel).name, np.ones(512, np.float32))
    with pytest.raises(LerobotNbError) as info:
        open_reader(folder)
    what = "no task-*.npy file" if not tasks else (
        "2 task files (task-pick_up_the_red_block.npy, task-put_the_ducks_in_the_bowl.npy)"
    )  # fmt: skip
    assert (
        str(info.value)
        == f"{folder}: {what}; an xgym folder holds exactly one (task-<words_with_underscores>.npy)"
    )


def test_a_bad_episode_stops_the_export_with_nothing_written(folder: Path, tmp_path: Path) -> None:
    with (folder / f"{SECOND}.dat").open("r+b") as fh:
        fh.truncate(100)
    reader = open_reader(folder)
    config = AlignConfig(**reader.defaults())
    out = tmp_path / "out" / "ds"
    out.parent.mkdir()
    with pytest.raises(LerobotNbError, match=f"^{folder / SECOND}.dat, episode {SECOND}, stream "):
        export_dataset(iter_recorded(reader, config), ExportConfig(output=str(out), progress=False))
    assert list(out.parent.iterdir()) == []
    skipping = list(iter_recorded(reader, AlignConfig(**{**reader.defaults(), "skip_bad_episodes": True})))
    assert [type(e).__name__ for e in skipping] == ["AlignedEpisode", "EpisodeSkipped"]
    assert isinstance(skipping[1], EpisodeSkipped) and "truncated: 100 bytes" in skipping[1].reason


def test_a_bad_episode_leaves_no_cache_entry(folder: Path, tmp_path: Path) -> None:
    (folder / f"{SECOND}.dat").write_bytes(b"\0" * (12 * RECORD))
    cache = tmp_path / "cache"
    with pytest.raises(LerobotNbError, match="all 12 records are zero"):
        discover_recordings(folder, cache_dir=cache)
    left = [p.name for p in cache.glob("*.rrd")]  # the good episode, converted before the bad one failed
    assert not list(cache.glob("*.part")) and not list(cache.glob(f"{SECOND}*"))
    assert len(left) == 1 and left[0].startswith(f"{FIRST}-") and left[0].endswith(".rrd")
