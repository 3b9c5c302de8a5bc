"""Proof that a prepared dataset trains: lerobot's real `lerobot-train` (ACT, CPU, offline, 20 steps).

The datasets come from the built-in sample recordings (the PushT set as notebook 04 exports it,
and the hand demonstration with MediaPipe's hand features), prepared by `lerobot_nb.prepare`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lerobot_nb.notebooks.datasets import sample_dataset
from lerobot_nb.prepare import PrepareConfig, prepare_datasets
from lerobot_nb.prepare.training import train_lerobot

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("training")]

#: Per-embodiment normalized values go through lerobot's normalizer unchanged.
IDENTITY = '--policy.normalization_mapping={"VISUAL": "MEAN_STD", "STATE": "IDENTITY", "ACTION": "IDENTITY"}'


@pytest.fixture(scope="module")
def pusht(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_dataset("pusht", tmp_path_factory.mktemp("pusht") / "pusht")


def assert_trained(run: object, steps: int) -> None:
    assert run.returncode == 0, run.log[-3000:]  # type: ignore[attr-defined]
    losses = run.losses  # type: ignore[attr-defined]
    assert run.steps.tolist() == list(range(1, steps + 1))  # type: ignore[attr-defined]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses


def test_lerobot_train_on_the_prepared_sample(pusht: Path, tmp_path: Path) -> None:
    prepared = tmp_path / "prepared"
    prepare_datasets([f"{pusht}:pusht"], PrepareConfig(output=str(prepared), horizon=5, progress=False))
    run = train_lerobot(prepared, tmp_path / "train", steps=20)
    assert_trained(run, 20)
    frames = json.loads((prepared / "meta/info.json").read_text())["total_frames"]
    assert f"dataset.num_frames={frames} " in run.log and "dataset.num_episodes=4" in run.log


def test_lerobot_train_cotrains_robot_and_hand(pusht: Path, tmp_path: Path) -> None:
    """The PushT pusher and the drawn human hand (MediaPipe keypoints) in one action space,
    each normalized with its own statistics; lerobot's normalizer left as identity for them."""
    hands = sample_dataset("hands", tmp_path / "hands")
    prepared = tmp_path / "prepared"
    summary = prepare_datasets(
        [f"{pusht}:pusht", f"{hands}:mano"],
        PrepareConfig(output=str(prepared), keep_cameras=("wrist",), progress=False, validate="quick"),
    )
    assert summary.normalized and summary.coverage["embodiment"].to_list() == ["pusht", "mano"]
    run = train_lerobot(prepared, tmp_path / "train", steps=20, args=[IDENTITY])
    assert_trained(run, 20)
    assert "'STATE': <NormalizationMode.IDENTITY" in run.log
