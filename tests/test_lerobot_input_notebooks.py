"""Notebooks 01 and 04 with `recordings` = an existing LeRobot dataset (papermill, real kernels)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixture_files import fixture
from lerobot_input_support import HandEpisode, column, data, write_legacy_dataset

from lerobot_nb.cli.main import main
from lerobot_nb.notebooks import read_results

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("notebooks")]


def _run(out: Path, *params: str, only: tuple[str, ...]) -> int:
    args = ["notebooks", "run", "--output-dir", str(out), "--no-html"]
    for name in only:
        args += ["--only", name]
    for p in params:
        args += ["-p", p]
    return main(args)


def test_inspect_and_export_notebooks_on_a_lerobot_dataset(tmp_path: Path) -> None:
    """01 serves the partial G1 dataset (the 5 episodes with data); 04 converts a hand-written one
    with the feature map, exactly as the CLI does."""
    g1 = fixture("real/g1_inspire_lerobot_v21_partial")
    assert _run(tmp_path / "inspect", f"recordings={g1}", "interactive=false", only=("01_inspect",)) == 0
    inspected = read_results(tmp_path / "inspect/01_inspect.ipynb")
    assert inspected["episodes"] == [f"episode_{i}" for i in range(5)]
    assert inspected["suggestion"]["fps"] == 30

    eps = [HandEpisode(0, 12), HandEpisode(1, 7)]
    names = {"observation.state": "state", "action": "actions"}
    src = write_legacy_dataset(tmp_path / "src", eps, codec="h264", names=names)
    out = tmp_path / "export"
    code = _run(
        out,
        f"recordings={src}",
        "feature_map=state=observation.state,actions=action",
        "codec=h264",
        "interactive=false",
        only=("04_export",),
    )
    assert code == 0
    assert read_results(out / "04_export.ipynb")["frames"] == {"episode_0": 12, "episode_1": 7}
    info = json.loads((out / "dataset/meta/info.json").read_text())
    assert {"action", "observation.state", "observation.images.front"} <= set(info["features"])
    np.testing.assert_array_equal(
        column(data(out / "dataset"), "observation.state"), np.concatenate([e.state for e in eps])
    )
