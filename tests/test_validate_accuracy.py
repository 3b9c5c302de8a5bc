"""Validator accuracy, judged by the real lerobot 0.6.1 loader: what it loads and trains on (list
columns, foreign episodes columns, stray files it never reads) only warns, naming the column or file;
what breaks loading (undeclared data columns, lists of the wrong length) fails exactly one check."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fixture_files import fixture

from lerobot_nb.validate import ValidateConfig, validate

pytestmark = pytest.mark.xdist_group("validate")

DS061 = "lerobot/synthetic_v30_video_lerobot061"
DATA = "data/chunk-000/file-000.parquet"
EPISODES = "meta/episodes/chunk-000/file-000.parquet"
#: The one warning lerobot 0.6.1's own dataset deserves: episode 1 has 9 frames (< 1 s at 10 fps).
FIXTURE_WARNINGS = {"quality.short_episodes"}
VECTORS = ("observation.state", "action")
FAST = ValidateConfig(training=False)


def _copy(tmp_path: Path, name: str = "ds") -> Path:
    out = tmp_path / name
    shutil.copytree(fixture(DS061), out)
    return out


def _as_lists(table: pa.Table) -> pa.Table:
    """Every fixed-size list column as a variable-length `list<float>` (same values)."""
    columns = [
        c.cast(pa.list_(c.type.value_type)) if pa.types.is_fixed_size_list(c.type) else c
        for c in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def list_columns(root: Path) -> None:
    pq.write_table(_as_lists(pq.read_table(root / DATA)), root / DATA)


def foreign_episodes_column(root: Path) -> None:
    table = pq.read_table(root / EPISODES)
    pq.write_table(table.append_column("operator", pa.array(["ann", "bob", "cy"])), root / EPISODES)


def stray_notes(root: Path) -> None:
    (root / "data/chunk-000/notes.txt").write_text("recorded on the bench\n")


ACCEPTED: dict[str, tuple[Callable[[Path], None], str, list[str]]] = {
    # what lerobot loads but does not write: (how, the one warning check, words its warnings name)
    "list<float> vector columns": (list_columns, "structure.schema", ["`observation.state`", "`action`"]),
    "a foreign episodes column": (foreign_episodes_column, "structure.episodes", ["`operator`"]),
    "a stray text file": (stray_notes, "structure.files", ["data/chunk-000/notes.txt"]),
}


def _load_and_batch(root: Path) -> dict[str, np.ndarray]:
    """lerobot's own loader and a torch DataLoader with an action chunk: every item, as numpy."""
    import torch
    from lerobot.datasets import LeRobotDataset

    ds = LeRobotDataset(
        "local/accuracy", root=root, video_backend="pyav", delta_timestamps={"action": [0.0, 0.1]}
    )
    batches = list(torch.utils.data.DataLoader(ds, batch_size=8, num_workers=0))
    return {k: np.concatenate([b[k].numpy() for b in batches]) for k in (*VECTORS, "action_is_pad", "index")}


@pytest.mark.slow
@pytest.mark.parametrize("change", list(ACCEPTED))
def test_what_lerobot_loads_only_warns_in_exactly_one_check(change: str, tmp_path: Path) -> None:
    how, check, named = ACCEPTED[change]
    root = _copy(tmp_path)
    reference = _load_and_batch(_copy(tmp_path, "reference"))
    how(root)
    loaded = _load_and_batch(root)  # the real loader takes it, with the very same values
    assert loaded.keys() == reference.keys() and loaded["index"].tolist() == list(range(36))
    for key, values in reference.items():
        np.testing.assert_array_equal(loaded[key], values, err_msg=key)
    report = validate(root)
    assert report.failed == set(), report.summary()
    assert report.with_status("warn") == FIXTURE_WARNINGS | {check}, report.summary()
    assert report.status("training.load") == report.status("training.batches") == "pass"
    warnings = report.table.filter(pl.col("check") == check).select("reason", "file").rows()
    assert len(warnings) == len(named)
    for word, (reason, file) in zip(named, warnings, strict=True):
        assert word in f"{file} {reason}" and ("lerobot" in reason), reason


def test_list_columns_are_named_with_the_type_lerobot_writes(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    list_columns(root)
    report = validate(root, config=FAST)
    reasons = report.table.filter(pl.col("check") == "structure.schema")["reason"].to_list()
    assert reasons == [
        f"column `{key}` is stored as list<element: float>; lerobot writes fixed_size_list<element: float>[6] "
        "but loads this too (every row holds [6] values)"
        for key in VECTORS
    ]
    # the value checks read the lists as the arrays lerobot loads: stats and finiteness verified
    for name in ("stats.numeric", "training.finite", "quality.range_outliers", "structure.index"):
        assert report.status(name) == "pass", name


def undeclared_data_column(root: Path) -> None:
    table = pq.read_table(root / DATA)
    pq.write_table(table.append_column("extra.value", pa.array(np.arange(36, dtype=np.float32))), root / DATA)


def short_list_row(root: Path) -> None:
    table = _as_lists(pq.read_table(root / DATA))
    rows = table.column("action").to_pylist()
    rows[20] = rows[20][:5]  # episode 1, frame 8: five values where info.json says six
    i = table.column_names.index("action")
    pq.write_table(table.set_column(i, "action", pa.array(rows, pa.list_(pa.float32()))), root / DATA)


BREAKING: dict[str, tuple[Callable[[Path], None], str]] = {
    "an undeclared data column": (
        undeclared_data_column,
        "column `extra.value` is not declared in info.json features: lerobot's loader refuses the file",
    ),
    "a list row of the wrong length": (
        short_list_row,
        "column `action` is a list column whose row 20 holds 5 values, info.json says [6]",
    ),
}


def _messages(exc: BaseException | None) -> str:
    """The messages of an exception and of everything that caused it."""
    out = []
    while exc is not None:
        out.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return " <- ".join(out)


@pytest.mark.parametrize("defect", list(BREAKING))
def test_what_breaks_the_loader_fails_exactly_structure_schema(defect: str, tmp_path: Path) -> None:
    from lerobot.datasets import LeRobotDataset

    how, reason = BREAKING[defect]
    root = _copy(tmp_path)
    how(root)
    with pytest.raises(Exception) as err:
        LeRobotDataset("local/broken", root=root, video_backend="pyav")
    assert "cast" in _messages(err.value).lower()  # datasets' CastError / ArrowInvalid underneath
    report = validate(root)
    assert report.failed == {"structure.schema"}, report.summary()
    (found,) = report.table.filter(pl.col("status") == "fail").rows(named=True)
    assert found["file"] == DATA and found["reason"].startswith(reason), found


def test_a_stray_parquet_lerobot_would_load_still_fails(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "meta/episodes/chunk-000/copy.parquet").write_bytes((root / EPISODES).read_bytes())
    report = validate(root, config=FAST)
    assert report.failed == {"structure.files"}, report.summary()
    (reason,) = report.table.filter(pl.col("status") == "fail")["reason"].to_list()
    assert "lerobot loads every parquet file there" in reason


def test_empty_unfinalized_dataset_is_one_clear_failure() -> None:
    """A real interrupted lerobot-record (meta/ only, total_episodes 0): one failing line, no crash."""
    report = validate(fixture("real/so100_lerobot_v30_empty_unfinalized"))
    assert report.failed == {"structure.episodes"}
    (line,) = [s for s in report.summary().splitlines() if s.startswith("[FAIL]")]
    assert line == (
        "[FAIL] structure.episodes: meta/episodes: the dataset holds no episodes (total_episodes 0, no "
        "meta/episodes files): an empty or unfinalized recording (lerobot-record stopped before "
        "finalize()); there is nothing to load"
    )
    assert report.with_status("pass") == {"structure.info", "structure.paths", "structure.feature_names"}
