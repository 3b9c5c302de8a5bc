"""xgym test folders (the package's generator + a real task file) and the truth they must convert to."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from fixture_files import fixture

from lerobot_nb.sources.xgym_sample import (
    SAMPLE_EPISODES,
    XgymEpisodeSpec,
    numeric_truth,
    record_times,
    write_xgym_folder,
)

RED_BLOCK = "hands/xgym_task_npy/task-pick_up_the_red_block.npy"
DUCKS = "hands/xgym_task_npy/task-put_the_ducks_in_the_bowl.npy"
STATE_NAMES = [*(f"joint_{i}" for i in range(1, 8)), "gripper", "x", "y", "z", "roll", "pitch", "yaw"]
ACTION_NAMES = [*(f"joint_{i}" for i in range(1, 8)), "gripper"]


def make_folder(
    root: Path,
    specs: Sequence[XgymEpisodeSpec] = SAMPLE_EPISODES,
    *,
    task: str = RED_BLOCK,
    name: str = "xgym",
) -> Path:
    """A folder of `specs` written like the recorder, with a copy of a real task file."""
    folder = root / name
    write_xgym_folder(folder, specs, task_file=fixture(task))
    return folder


def kept_records(spec: XgymEpisodeSpec) -> np.ndarray:
    """Record numbers that must survive: from the latest camera's first frame to the last written."""
    start = max(spec.first_frame(c) for c in range(len(spec.cameras)))
    return np.arange(start, spec.records)


def _held(column: np.ndarray) -> np.ndarray:
    """NaN replaced by the previous valid value (a plain loop, independent of the reader's numpy)."""
    out = column.astype(np.float64).copy()
    for i in range(len(out)):
        if np.isnan(out[i]) and i > 0:
            out[i] = out[i - 1]
    return out


def expected_state(spec: XgymEpisodeSpec) -> np.ndarray:
    """observation.state of the kept records: joints (rad), gripper (held), pose x, y, z in m."""
    truth = numeric_truth(spec)
    pose = truth["xarm_pose"].astype(np.float64)
    pose[:, :3] = pose[:, :3] / 1000.0
    gripper = _held(truth["xarm_gripper"][:, 0])[:, None]
    state = np.hstack([truth["xarm_joints"].astype(np.float64), gripper, pose])
    return state[kept_records(spec)]


def expected_action(spec: XgymEpisodeSpec) -> np.ndarray:
    return numeric_truth(spec)["gello_joints"].astype(np.float64)[kept_records(spec)]


def expected_time_ns(spec: XgymEpisodeSpec) -> np.ndarray:
    """The kept records' `time` as ns: the stored float32 seconds to the nearest 0.1 ms."""
    seconds = record_times(spec).astype(np.float64)[kept_records(spec)]
    return np.array([round(s * 10_000) * 100_000 for s in seconds], dtype=np.int64)
