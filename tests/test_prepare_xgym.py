"""xgym end to end: recorder memmaps -> `lerobot-nb convert` -> `lerobot-nb prepare DS:xarm7`, values vs the truth.

The memmaps come from the package's generator (`sources/xgym_sample.py`, the recorder's exact
layout); the truth is what it wrote (`xgym_support.expected_state`: joints rad, gripper held over
NaN, x y z converted mm -> m, roll pitch yaw rad), mapped here by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from prepare_support import column
from test_prepare import rpy_matrix
from xgym_support import expected_state, make_folder

from lerobot_nb.cli.main import main
from lerobot_nb.sources.xgym_sample import XgymEpisodeSpec

SPECS = (
    XgymEpisodeSpec(records=16, maxlen=20, seed=0, cameras=("/xgym/camera/side",)),
    XgymEpisodeSpec(records=12, nan_gripper=(5,), seed=1, cameras=("/xgym/camera/side",)),
)


@pytest.mark.slow
def test_xgym_memmaps_prepared_as_xarm7(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, SPECS)
    ds, out = tmp_path / "ds", tmp_path / "prepared"
    assert main(["convert", str(folder), "--output", str(ds), "--no-progress"]) == 0
    assert main(["prepare", f"{ds}:xarm7", "--output", str(out), "--horizon", "4", "--no-progress"]) == 0
    for ep, spec in enumerate(SPECS):
        truth = expected_state(spec)  # joints 7, gripper, x y z (m), roll pitch yaw
        rot = np.stack([rpy_matrix(*r) for r in truth[:, 11:14]])
        want = np.concatenate(
            [truth[:, 8:11], rot[:, :, 0], rot[:, :, 1], truth[:, 7:8] / 850, truth[:, 0:7]], axis=1
        )
        state = column(out, "observation.state", ep)
        np.testing.assert_allclose(state, want.astype(np.float32), atol=2e-6)
        np.testing.assert_array_equal(column(out, "action", ep)[:-1], state[1:])
        assert column(out, "mask.state", ep).all()
    info = json.loads((out / "meta/info.json").read_text())
    assert info["fps"] == 50 and info["features"]["observation.images.side"]["dtype"] == "video"
    assert json.loads((out / "meta/embodiments.json").read_text())["embodiments"] == ["xarm7"]
