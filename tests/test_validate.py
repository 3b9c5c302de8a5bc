"""`validate` on datasets lerobot wrote, on broken copies (one defect each) and on the real partial record-test."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import assert_stat_equal
from fixture_files import fixture

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.stats import STAT_NAMES, stats_from_json
from lerobot_nb.validate import ValidateConfig, ValidationReport, check_names, recompute_stats, validate

pytestmark = pytest.mark.xdist_group("validate")

#: Fixture datasets (relative paths, resolved with `fixture` in the tests).
DS061 = "lerobot/synthetic_v30_video_lerobot061"
VIDEO044 = "lerobot/synthetic_v30_video_lerobot044"
IMAGE044 = "lerobot/synthetic_v30_image_lerobot044"
RECORD_TEST = "lerobot/record-test"
DATA = "data/chunk-000/file-000.parquet"
EPISODES = "meta/episodes/chunk-000/file-000.parquet"
FRONT = "videos/observation.images.front/chunk-000/file-000.mp4"
#: The one warning the fixtures deserve: episode 1 has 9 frames (< 1 s at 10 fps).
FIXTURE_WARNINGS = {"quality.short_episodes"}


def copy(src: Path, tmp_path: Path) -> Path:
    out = tmp_path / src.name
    shutil.copytree(src, out)
    return out


@pytest.fixture(scope="module")
def report061() -> ValidationReport:
    """The full validation (LeRobotDataset + DataLoader included) of lerobot 0.6.1's own output."""
    return validate(fixture(DS061))


def test_lerobot061_output_passes_every_check(report061: ValidationReport) -> None:
    assert report061.ok, report061.summary()
    assert report061.failed == set()
    assert report061.with_status("warn") == FIXTURE_WARNINGS
    assert report061.with_status("skip") == set()
    assert [r.check for r in report061.results] == check_names()
    table = report061.table
    assert table.columns == ["check", "family", "status", "file", "episode", "frame", "reason"]
    warn = table.filter(pl.col("status") == "warn").row(0, named=True)
    assert (warn["episode"], warn["reason"].split(" (")[0]) == (1, "only 9 frames")
    assert "3 episodes, 36 frames" in table.filter(pl.col("check") == "training.load")["reason"][0]
    assert "read 24 samples" in table.filter(pl.col("check") == "training.batches")["reason"][0]


def test_report_summary_and_json(report061: ValidationReport) -> None:
    summary = report061.summary()
    assert summary.splitlines()[0].endswith("OK (26 pass, 0 fail, 1 warn, 0 skipped)")
    assert "[WARN] quality.short_episodes: episode 1: only 9 frames" in summary
    data = json.loads(report061.to_json())
    assert data["ok"] is True
    assert data["checks"]["structure.index"] == "pass"
    assert len(data["findings"]) == len(report061.table)
    assert set(report061.checks["status"]) == {"pass", "warn"}
    assert "<table" in report061._repr_html_()


@pytest.mark.parametrize("name", [VIDEO044, IMAGE044], ids=["video044", "image044"])
def test_lerobot044_fails_exactly_the_image_stats_check(name: str) -> None:
    report = validate(fixture(name))
    assert report.failed == {"stats.images"}, report.summary()
    assert report.with_status("warn") == FIXTURE_WARNINGS
    reasons = report.table.filter(pl.col("check") == "stats.images")["reason"].to_list()
    assert len(reasons) == 2  # front and wrist cameras
    assert all("uint8 overflow" in r and "lerobot-nb stats --recompute" in r for r in reasons)


@pytest.mark.parametrize("name", [VIDEO044, IMAGE044], ids=["video044", "image044"])
def test_recompute_repairs_lerobot044_in_place(name: str, tmp_path: Path) -> None:
    dataset = fixture(name)
    root = copy(dataset, tmp_path)
    before = pl.read_parquet(root / EPISODES)
    schema_before = pq.read_schema(root / EPISODES)
    recompute_stats(root)
    # swapped in by rename: nothing left beside meta/
    assert sorted(p.name for p in root.iterdir()) == sorted(p.name for p in dataset.iterdir())
    after = pl.read_parquet(root / EPISODES)
    assert pq.read_schema(root / EPISODES).equals(schema_before, check_metadata=True)
    keep = [c for c in before.columns if not c.startswith("stats/")]
    assert after.select(keep).equals(before.select(keep))
    report = validate(root, config=ValidateConfig(training=False))
    assert report.failed == set(), report.summary()

    stats = stats_from_json(json.loads((root / "meta/stats.json").read_text()))
    original = stats_from_json(json.loads((dataset / "meta/stats.json").read_text()))
    for key in ("observation.state", "action", "frame_index", "index", "timestamp", "task_index"):
        for name in STAT_NAMES:  # numeric stats were right: recomputing keeps them
            np.testing.assert_allclose(
                stats[key][name], original[key][name], rtol=1e-7, err_msg=f"{key} {name}"
            )
    # the cameras show the same frames as in 0.6.1's fixture (the generator draws no random pixels)
    reference = stats_from_json(json.loads((fixture(DS061) / "meta/stats.json").read_text()))
    for key in ("observation.images.front", "observation.images.wrist"):
        if name == IMAGE044:  # lossless PNG: exactly what lerobot 0.6.1 computed from the same frames
            for name in STAT_NAMES:
                assert_stat_equal(key, name, stats[key][name], reference[key][name])
        else:  # decoded AV1: close to what lerobot 0.6.1 computed before encoding
            np.testing.assert_allclose(stats[key]["std"], reference[key]["std"], atol=0.01)
            assert float(stats[key]["std"].min()) > 0.1  # the overflow wrote 0.03..0.06


def test_recompute_refuses_a_broken_dataset_and_leaves_it_untouched(tmp_path: Path) -> None:
    root = copy(fixture(DS061), tmp_path)
    (root / FRONT).unlink()
    stats_before = (root / "meta/stats.json").read_bytes()
    with pytest.raises(LerobotNbError, match=r"cannot recompute stats: structure\.files"):
        recompute_stats(root)
    assert (root / "meta/stats.json").read_bytes() == stats_before
    assert sorted(p.name for p in root.iterdir()) == ["data", "meta", "videos"]


# -- one defect per copy --------------------------------------------------------------------


def delete_video(root: Path) -> None:
    (root / FRONT).unlink()


def drop_row(root: Path) -> None:
    table = pq.read_table(root / DATA)
    keep = np.ones(len(table), bool)
    keep[5] = False  # episode 0, frame 5
    pq.write_table(table.filter(pa.array(keep)), root / DATA)


def shift_timestamp(root: Path) -> None:
    table = pq.read_table(root / DATA)
    ts = table.column("timestamp").to_numpy().copy()
    ts[14] += 0.05  # episode 1, frame 2
    i = table.column_names.index("timestamp")
    pq.write_table(table.set_column(i, "timestamp", pa.array(ts, pa.float32())), root / DATA)


def corrupt_stats(root: Path) -> None:
    path = root / "meta/stats.json"
    stats = json.loads(path.read_text())
    stats["action"]["mean"][2] += 0.5
    path.write_text(json.dumps(stats, indent=4))


def swap_episode_rows(root: Path) -> None:
    table = pq.read_table(root / EPISODES)
    pq.write_table(table.take(pa.array([1, 0, 2])), root / EPISODES)


def truncate_mp4(root: Path) -> None:
    path = root / FRONT
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def shift_video_segment(root: Path) -> None:
    """Episode 1's front segment moved by half a frame: every frame count still fits, lookups miss."""
    table = pq.read_table(root / EPISODES)
    for end in ("from_timestamp", "to_timestamp"):
        name = f"videos/observation.images.front/{end}"
        values = table.column(name).to_numpy().copy()
        values[1] += 0.05
        table = table.set_column(table.column_names.index(name), name, pa.array(values))
    pq.write_table(table, root / EPISODES)


def remove_task(root: Path) -> None:
    path = root / "meta/tasks.parquet"
    table = pq.read_table(path)
    pq.write_table(table.filter(pa.compute.not_equal(table.column("task"), "push the cube")), path)


def stray_file(root: Path) -> None:
    (root / "data/chunk-000/file-001.parquet").write_bytes((root / DATA).read_bytes())


def corrupt_image_stats(root: Path) -> None:
    path = root / "meta/stats.json"
    stats = json.loads(path.read_text())
    stats["observation.images.wrist"]["mean"][1] = [[0.2]]
    path.write_text(json.dumps(stats, indent=4))


def unordered_image_quantiles(root: Path) -> None:
    """Episode 2's q90 of one video channel above its max: impossible whatever the codec did."""
    table = pq.read_table(root / EPISODES)
    column = "stats/observation.images.front/q90"
    rows = table.column(column).to_pylist()
    rows[2][0] = [[1.5]]
    i = table.column_names.index(column)
    pq.write_table(
        table.set_column(i, column, pa.array(rows, table.schema.field(column).type)), root / EPISODES
    )


def nan_action(root: Path) -> None:
    table = pq.read_table(root / DATA)
    action = np.stack(table.column("action").to_numpy(zero_copy_only=False)).astype(np.float32)
    action[20, 3] = np.nan
    i = table.column_names.index("action")
    column = pa.FixedSizeListArray.from_arrays(pa.array(action.ravel()), 6)
    pq.write_table(table.set_column(i, "action", column), root / DATA)


BREAKAGES: dict[str, tuple[Callable[[Path], None], str, tuple[str | None, int | None, int | None]]] = {
    # defect: (how, the one failing check, (file, episode, frame) of its first finding)
    "delete a video file": (delete_video, "structure.files", (FRONT, None, None)),
    "drop a parquet row": (drop_row, "structure.episode_ranges", (DATA, 0, None)),
    "shift a timestamp": (shift_timestamp, "time.timestamps", (DATA, 1, 2)),
    "corrupt a stats entry": (corrupt_stats, "stats.numeric", ("meta/stats.json", None, None)),
    "swap two episode rows": (swap_episode_rows, "structure.episodes", (EPISODES, 1, None)),
    "truncate an mp4": (truncate_mp4, "video.decode", (FRONT, None, 4)),
    "shift a video segment": (shift_video_segment, "video.sync", (FRONT, 1, 0)),
    "remove a task": (remove_task, "structure.tasks", ("meta/tasks.parquet", None, None)),
    "stray data file": (stray_file, "structure.files", ("data/chunk-000/file-001.parquet", None, None)),
    "corrupt an image stat": (corrupt_image_stats, "stats.images", ("meta/stats.json", None, None)),
    "unordered image quantiles": (unordered_image_quantiles, "stats.images", (EPISODES, 2, None)),
}


@pytest.mark.parametrize("defect", list(BREAKAGES))
def test_each_breakage_fails_exactly_the_check_that_names_it(defect: str, tmp_path: Path) -> None:
    how, check, (file, episode, frame) = BREAKAGES[defect]
    root = copy(fixture(DS061), tmp_path)
    how(root)
    report = validate(root)
    assert report.failed == {check}, report.summary()
    first = report.table.filter((pl.col("check") == check) & (pl.col("status") == "fail")).row(0, named=True)
    assert (first["file"], first["episode"], first["frame"]) == (file, episode, frame), first
    assert "\n" not in first["reason"] and len(first["reason"]) > 20


def test_nan_in_the_data_fails_finite_and_the_stats_that_hide_it(tmp_path: Path) -> None:
    root = copy(fixture(DS061), tmp_path)
    nan_action(root)
    report = validate(root, config=ValidateConfig(training=False))
    assert report.failed == {"training.finite", "stats.numeric"}
    first = report.table.filter(pl.col("check") == "training.finite").row(0, named=True)
    assert (first["episode"], first["frame"]) == (1, 8)  # row 20 = episode 1 (starts at 12), frame 8


def test_breakage_reasons_say_what_to_do(tmp_path: Path) -> None:
    root = copy(fixture(DS061), tmp_path)
    shift_timestamp(root)
    corrupt_stats(root)
    report = validate(root, config=ValidateConfig(training=False))
    reasons = dict(report.table.filter(pl.col("status") == "fail").select("check", "reason").iter_rows())
    assert reasons["time.timestamps"].startswith("timestamp is 0.250000 s but frame_index/fps is 0.200000 s")
    assert reasons["stats.numeric"] == (
        "`action` mean[2] is stored as 0.247544 but the data give -0.252456; run `lerobot-nb stats --recompute PATH`"
    )


def test_record_test_gets_precise_failures_not_a_crash() -> None:
    report = validate(fixture(RECORD_TEST))
    assert report.failed == {"structure.files", "stats.images"}
    files = report.table.filter(pl.col("check") == "structure.files")
    assert files["file"].to_list() == [
        "videos/observation.images.front/chunk-000/file-000.mp4",
        "videos/observation.images.top/chunk-000/file-000.mp4",
    ]
    assert all("missing (referenced by episodes 0-3)" in r for r in files["reason"])
    overflow = report.table.filter(pl.col("check") == "stats.images")["reason"].to_list()
    assert len(overflow) == 2 and all("of 4 episode(s)" in r and "uint8 overflow" in r for r in overflow)
    # everything that needs the videos is skipped, the data checks ran and passed
    assert {"video.decode", "video.frames", "video.sync", "training.load"} <= report.with_status("skip")
    for name in ("structure.index", "structure.tasks", "time.timestamps", "stats.numeric", "training.finite"):
        assert report.status(name) == "pass", name


def test_not_a_dataset_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LerobotNbError, match="no such dataset folder"):
        validate(tmp_path / "nope")
    with pytest.raises(LerobotNbError, match=r"meta/info.json is missing"):
        validate(tmp_path)


def test_unparseable_info_json_is_a_finding(tmp_path: Path) -> None:
    root = copy(fixture(DS061), tmp_path)
    (root / "meta/info.json").write_text("{ not json")
    report = validate(root)
    assert report.failed == {"structure.info"}
    assert report.table.filter(pl.col("check") == "structure.info")["reason"][0].startswith(
        "info.json does not parse"
    )
    assert report.with_status("pass") == set()  # nothing else can be trusted


def test_recompute_restores_missing_stats(tmp_path: Path) -> None:
    """Stats of a feature removed from stats.json and from the episodes parquet: present fails, recompute restores."""
    root = copy(fixture(DS061), tmp_path)
    table = pq.read_table(root / EPISODES)
    pq.write_table(
        table.drop_columns([c for c in table.column_names if c.startswith("stats/action/")]), root / EPISODES
    )
    stats = json.loads((root / "meta/stats.json").read_text())
    del stats["action"]
    (root / "meta/stats.json").write_text(json.dumps(stats))
    fast = ValidateConfig(training=False)
    report = validate(root, config=fast)
    assert report.failed == {"stats.present"}
    assert report.table.filter(pl.col("check") == "stats.present")["reason"][0].startswith(
        "no stats for feature `action`"
    )
    recompute_stats(root)
    assert validate(root, config=fast).failed == set()
    restored = stats_from_json(json.loads((root / "meta/stats.json").read_text()))["action"]
    reference = stats_from_json(json.loads((fixture(DS061) / "meta/stats.json").read_text()))["action"]
    for name in STAT_NAMES:  # bit for bit what lerobot 0.6.1 wrote
        np.testing.assert_array_equal(restored[name], reference[name], err_msg=name)
