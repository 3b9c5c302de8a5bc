"""Bad input to `lerobot-nb prepare`: one `error:` line naming dataset, episode and feature; nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dataset_support import digest
from prepare_support import hand_dataset, so100_dataset, xarm_dataset

from lerobot_nb.cli.main import main


@pytest.fixture(scope="module")
def xarm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return xarm_dataset(tmp_path_factory.mktemp("xarm") / "xarm", (12, 9))


def fails(args: list[str], capsys: pytest.CaptureFixture[str], out: Path, inputs: list[Path]) -> str:
    """Run the CLI, expect exit 2 and one error line; the output and no build folder exist; inputs unchanged."""
    before = [digest(p) for p in inputs]
    assert main(["prepare", *args, "--output", str(out), "--no-progress", "--validate", "quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert [digest(p) for p in inputs] == before
    return err


def test_unknown_embodiment(xarm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = fails([f"{xarm}:ur5"], capsys, tmp_path / "out", [xarm])
    assert err == (
        f"error: {xarm}: unknown embodiment 'ur5' (known: aloha, mano, pusht, so100, so101, xarm7; add one "
        "with --embodiment-file)"
    )
    err = fails([str(xarm)], capsys, tmp_path / "out", [xarm])
    assert err.startswith(f"error: {xarm}: no embodiment: name it as SRC:NAME or give --embodiment NAME")


def test_mapping_names_a_missing_feature(
    xarm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "arm.yaml"
    user.write_text("arm:\n  keys:\n    joints: {feature: observation.joints, indices: [0, 1]}\n")
    err = fails([f"{xarm}:arm", "--embodiment-file", str(user)], capsys, tmp_path / "out", [xarm])
    assert err.startswith(
        f"error: {xarm}, stream observation.joints: embodiment arm maps feature observation.joints, which the "
        "dataset does not have (numeric features: "
    )
    err = fails([f"{xarm}:mano"], capsys, tmp_path / "out", [xarm])
    assert f"{xarm}, stream observation.hands.left.kp3d_world: embodiment mano maps feature" in err


def test_index_out_of_range_and_unknown_name(
    xarm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "arm.yaml"
    user.write_text(
        "arm:\n  keys:\n    eef_pos: {feature: observation.state, indices: [8, 9, 14]}\n"
        "named:\n  keys:\n    gripper: {feature: observation.state, names: [gripper]}\n"
    )
    err = fails([f"{xarm}:arm", "--embodiment-file", str(user)], capsys, tmp_path / "out", [xarm])
    assert err == (
        f"error: {xarm}, stream observation.state: embodiment arm, key eef_pos: index 14 is out of range "
        "(the feature has 14 dimensions, 0..13)"
    )
    err = fails([f"{xarm}:named", "--embodiment-file", str(user)], capsys, tmp_path / "out", [xarm])
    assert err == (
        f"error: {xarm}, stream observation.state: embodiment named, key gripper: the feature has no dimension "
        "names; map it by indices"
    )


def test_datasets_of_different_fps(xarm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fast = so100_dataset(tmp_path / "so100", (8,), fps=20)
    err = fails([f"{xarm}:xarm7", f"{fast}:so100"], capsys, tmp_path / "out", [xarm, fast])
    assert err == (
        f"error: {fast}: fps 20 differs from 10 of {xarm}: merged datasets need one fps (re-export one of them "
        "at the other's rate)"
    )


def test_horizon_longer_than_an_episode(
    xarm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = fails([f"{xarm}:xarm7", "--horizon", "10"], capsys, tmp_path / "out", [xarm])
    assert err == (
        f"error: {xarm}, episode 1, stream action_chunk: horizon 10 is longer than the episode (9 frames): "
        "action_chunk would be all padding; choose a horizon <= the shortest episode"
    )


def _with_value(src: Path, dst: Path, feature: str, episode_row: int, dim: int, value: float) -> Path:
    """A copy of dataset `src` whose data row `episode_row` has `value` at `feature[dim]`."""
    import shutil

    shutil.copytree(src, dst)
    path = next((dst / "data").rglob("*.parquet"))
    table = pq.read_table(path)
    values = np.stack(table[feature].to_numpy(zero_copy_only=False)).copy()
    values[episode_row, dim] = value
    array = pa.FixedSizeListArray.from_arrays(pa.array(values.ravel(), pa.float32()), values.shape[1])
    pq.write_table(table.set_column(table.column_names.index(feature), feature, array), path)
    return dst


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_inf_in_a_mapped_feature(
    xarm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], value: float
) -> None:
    bad = _with_value(xarm, tmp_path / "bad", "observation.state", 12 + 3, 9, value)  # episode 1, frame 3
    err = fails([f"{bad}:xarm7"], capsys, tmp_path / "out", [bad])
    assert err == (
        f"error: {bad}, episode 1, stream observation.state: observation.state[9] is {value} at frame 3 "
        "(embodiment xarm7): a mapped value must be finite"
    )


def test_nan_where_the_hand_is_absent_is_ignored(tmp_path: Path) -> None:
    hands = hand_dataset(tmp_path / "hands", (10,))
    # frame 4 has no hand on either side: its keypoints are not read
    bad = _with_value(hands, tmp_path / "bad", "observation.hands.left.kp3d_world", 4, 0, np.nan)
    assert (
        main(
            ["prepare", f"{bad}:mano", "--output", str(tmp_path / "ok"), "--no-progress", "--validate", "off"]
        )
        == 0
    )
    worse = _with_value(hands, tmp_path / "worse", "observation.hands.left.kp3d_world", 2, 5, np.nan)
    assert main(["prepare", f"{worse}:mano", "--output", str(tmp_path / "no"), "--no-progress"]) == 2


def test_cameras_that_cannot_be_copied_together(
    xarm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import prepare_support

    other = tmp_path / "big"
    height, width = prepare_support.H, prepare_support.W
    prepare_support.H, prepare_support.W = 2 * height, 2 * width
    try:
        hands = hand_dataset(other, (10,))
    finally:
        prepare_support.H, prepare_support.W = height, width
    err = fails([f"{xarm}:xarm7", f"{hands}:mano"], capsys, tmp_path / "out", [xarm, hands])
    assert err.startswith(
        f"error: {hands}, stream observation.images.front: camera observation.images.front differs from {xarm}'s"
    )
    assert err.endswith("keep the ones that do with --keep-cameras KEY")
    assert (
        main(
            [
                "prepare",
                f"{xarm}:xarm7",
                "--output",
                str(tmp_path / "a"),
                "--no-progress",
                "--keep-cameras",
                "wrist",
            ]
        )
        == 2
    )
    assert "no camera observation.images.wrist (cameras: observation.images.front)" in capsys.readouterr().err
