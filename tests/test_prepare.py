"""`prepare` on datasets of known content: mapping values, actions, chunks, masks, hands, stats, merges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dataset_support import digest, episodes, frames, info
from prepare_support import (
    TIP_DISTANCES,
    column,
    hand_dataset,
    hand_points,
    hand_tracks,
    so100_dataset,
    xarm_dataset,
    xarm_state,
)

from lerobot_nb.prepare import (
    PrepareConfig,
    embodiment_stats,
    load_embodiments,
    normalizer_stats,
    prepare_datasets,
    read_prepared,
)
from lerobot_nb.stats import aggregate_stats, numeric_stats

NAMES = (
    *(f"eef_pos.{a}" for a in "xyz"),
    *(f"eef_rot.{n}" for n in ("r00", "r10", "r20", "r01", "r11", "r21")),
    "gripper",
)


def config(out: Path, **kw: Any) -> PrepareConfig:
    return PrepareConfig(output=str(out), progress=False, validate="quick", **kw)


def rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Rz(yaw) Ry(pitch) Rx(roll) from the elementary rotations (independent of prepare's closed form)."""
    c, s = np.cos, np.sin
    rx = np.array([[1, 0, 0], [0, c(roll), -s(roll)], [0, s(roll), c(roll)]])
    ry = np.array([[c(pitch), 0, s(pitch)], [0, 1, 0], [-s(pitch), 0, c(pitch)]])
    rz = np.array([[c(yaw), -s(yaw), 0], [s(yaw), c(yaw), 0], [0, 0, 1]])
    return rz @ ry @ rx


@pytest.fixture(scope="module")
def xarm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return xarm_dataset(tmp_path_factory.mktemp("xarm") / "xarm", (12, 9))


@pytest.fixture(scope="module")
def prepared(xarm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The xArm dataset prepared with a chunk horizon of 4, fully validated (lerobot's loader too)."""
    out = tmp_path_factory.mktemp("prepared") / "out"
    before = digest(xarm)
    prepare_datasets([f"{xarm}:xarm7"], PrepareConfig(output=str(out), progress=False, horizon=4))
    assert digest(xarm) == before  # the input is only read
    return out


def test_shipped_embodiments() -> None:
    registry = load_embodiments()
    assert sorted(registry) == ["aloha", "mano", "pusht", "so100", "so101", "xarm7"]
    assert {n: registry[n].joints for n in registry} == {
        "aloha": 14,
        "mano": 0,
        "pusht": 0,
        "so100": 6,
        "so101": 6,
        "xarm7": 7,
    }
    assert registry["mano"].hand is not None and registry["mano"].hand.points == "kp3d_world"


def test_xarm7_values_are_the_source_columns(xarm: Path, prepared: Path) -> None:
    features = info(prepared)["features"]
    names = [*NAMES, *(f"joints.{i}" for i in range(7))]
    assert features["observation.state"] == {"dtype": "float32", "shape": [17], "names": names}
    assert features["action"]["names"] == names
    for ep, n in enumerate((12, 9)):
        source = column(xarm, "observation.state", ep)
        np.testing.assert_array_equal(source, xarm_state(n, ep))
        state = column(prepared, "observation.state", ep)
        np.testing.assert_allclose(state[:, 0:3], source[:, 8:11], rtol=0, atol=0)
        expected_rot = np.stack([rpy_matrix(*r) for r in source[:, 11:14].astype(np.float64)])
        np.testing.assert_allclose(state[:, 3:6], expected_rot[:, :, 0], atol=1e-6)
        np.testing.assert_allclose(state[:, 6:9], expected_rot[:, :, 1], atol=1e-6)
        np.testing.assert_allclose(state[:, 9], source[:, 7] / 850, atol=1e-7)
        np.testing.assert_array_equal(state[:, 10:17], source[:, 0:7])
        assert column(prepared, "mask.state", ep).all()
        assert (column(prepared, "embodiment", ep) == 0).all()
    # carried over unchanged: another numeric feature, the cameras, the tasks
    np.testing.assert_array_equal(column(prepared, "observation.effort"), column(xarm, "observation.effort"))
    for ep in (0, 1):
        assert all(
            np.array_equal(a, b)
            for a, b in zip(
                frames(prepared, ep, "observation.images.front"),
                frames(xarm, ep, "observation.images.front"),
                strict=True,
            )
        )
    assert [e["tasks"] for e in episodes(prepared)] == [["pick up the red block"]] * 2
    assert "observation.state" in features and features["observation.images.front"]["dtype"] == "video"


def test_action_is_the_next_state_within_each_episode(prepared: Path) -> None:
    all_state = column(prepared, "observation.state")
    for ep, n in enumerate((12, 9)):
        state = column(prepared, "observation.state", ep)
        action = column(prepared, "action", ep)
        mask = column(prepared, "mask.action", ep)
        assert len(state) == n
        for t in range(n - 1):
            assert np.array_equal(action[t], state[t + 1]), (ep, t)
        assert np.array_equal(action[-1], state[-1])  # the last frame holds ...
        assert not mask[-1].any() and mask[:-1].all()  # ... and is flagged
    # never across an episode end: episode 0's last action is not episode 1's first state
    assert not np.array_equal(column(prepared, "action", 0)[-1], all_state[12])


def test_chunks_are_the_next_actions_padded_at_the_end(prepared: Path) -> None:
    for ep, n in enumerate((12, 9)):
        action = column(prepared, "action", ep)
        amask = column(prepared, "mask.action", ep).astype(bool)
        chunk = column(prepared, "action_chunk", ep).reshape(n, 4, 17)
        pad = column(prepared, "action_chunk_is_pad", ep).astype(bool)
        cmask = column(prepared, "mask.action_chunk", ep).astype(bool).reshape(n, 4, 17)
        for t in range(n):
            for k in range(4):
                padded = t + k >= n
                assert pad[t, k] == padded
                assert np.array_equal(chunk[t, k], action[min(t + k, n - 1)])
                assert np.array_equal(cmask[t, k], np.zeros(17, bool) if padded else amask[t + k])
        assert pad.sum() == 1 + 2 + 3


def test_stats_equal_numpy_over_the_rows(prepared: Path) -> None:
    """min, max, mean, std, count against numpy over all rows; quantiles as lerobot folds them
    (each episode's histogram quantiles, count-weighted), from the columns read back."""
    stats = json.loads((prepared / "meta/stats.json").read_text())
    for feature in ("observation.state", "action", "action_chunk", "mask.state", "embodiment"):
        values = column(prepared, feature).astype(np.float64)
        got = stats[feature]
        assert got["count"] == [21]
        np.testing.assert_array_equal(got["min"], values.min(axis=0))
        np.testing.assert_array_equal(got["max"], values.max(axis=0))
        np.testing.assert_allclose(got["mean"], values.mean(axis=0), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(got["std"], values.std(axis=0), rtol=1e-5, atol=1e-6)
        dtype = np.float32 if info(prepared)["features"][feature]["dtype"] == "float32" else np.float64
        per_episode = [numeric_stats(column(prepared, feature, ep).astype(dtype)) for ep in (0, 1)]
        folded = aggregate_stats([{feature: s} for s in per_episode])[feature]
        for name in ("q01", "q10", "q50", "q90", "q99"):
            np.testing.assert_allclose(got[name], folded[name], rtol=1e-12, atol=1e-12)
    for ep, row in enumerate(episodes(prepared)):
        want = numeric_stats(column(prepared, "observation.state", ep).astype(np.float32))
        assert row["stats/observation.state/q10"] == want["q10"].tolist()
        assert row["stats/observation.state/std"] == want["std"].tolist()


def test_delta_actions(xarm: Path, tmp_path: Path) -> None:
    out = tmp_path / "delta"
    prepare_datasets([xarm], config(out, embodiment="xarm7", action_mode="delta"))
    for ep in (0, 1):
        state, action = column(out, "observation.state", ep), column(out, "action", ep)
        np.testing.assert_array_equal(action[:-1], state[1:] - state[:-1])
        assert not action[-1].any() and not column(out, "mask.action", ep)[-1].any()
    assert read_prepared(out)["action_mode"] == "delta"


def hand_expected(n: int, seed: int) -> dict[str, np.ndarray]:
    """What the mano mapping must give, from the tracks the hand was built from (not its keypoints)."""
    tracks = hand_tracks(n, seed)
    left, right = tracks["left_present"], tracks["right_present"]
    use_left = left & (~right | (tracks["left_confidence"] > tracks["right_confidence"]))
    aperture = tracks["spread"] * np.mean(TIP_DISTANCES)
    return {
        "found": left | right,
        "use_left": use_left,
        "position": tracks["positions"],
        "rotation": tracks["rotations"],
        "gripper": np.clip((aperture - 0.03) / (0.15 - 0.03), 0, 1),
    }


def test_mano_frame_and_aperture(tmp_path: Path) -> None:
    hands = hand_dataset(tmp_path / "hands", (10,))
    out = tmp_path / "out"
    prepare_datasets([f"{hands}:mano"], config(out))
    want = hand_expected(10, 0)
    state, mask = column(out, "observation.state"), column(out, "mask.state").astype(bool)
    assert state.shape == (10, 10)  # no joints: mano has none
    found = want["found"]
    assert found.sum() == 8 and want["use_left"][1]  # both seen at frame 1: the left is more confident
    np.testing.assert_allclose(state[found, 0:3], want["position"][found], atol=2e-6)
    np.testing.assert_allclose(state[found, 3:6], want["rotation"][found][:, :, 0], atol=2e-6)
    np.testing.assert_allclose(state[found, 6:9], want["rotation"][found][:, :, 1], atol=2e-6)
    np.testing.assert_allclose(state[found, 9], want["gripper"][found], atol=2e-6)
    assert np.array_equal(mask, np.repeat(found[:, None], 10, axis=1))
    assert not state[~found].any()
    # the chosen side's keypoints are the ones that were written
    world = column(hands, "observation.hands.left.kp3d_world").reshape(10, 21, 3)
    np.testing.assert_allclose(world[1], hand_points(hand_tracks(10, 0), left=True)[1], atol=1e-6)


def test_mano_in_the_camera_frame(tmp_path: Path) -> None:
    hands = hand_dataset(tmp_path / "hands", (10,))
    user = tmp_path / "mine.yaml"
    user.write_text("mano_camera:\n  hand: {points: kp3d, side: left}\n")
    out = tmp_path / "out"
    prepare_datasets([f"{hands}:mano_camera"], config(out, embodiment_file=(str(user),)))
    want = hand_expected(10, 0)
    left = hand_tracks(10, 0)["left_present"]
    state = column(out, "observation.state")
    # kp3d is kp3d_world shifted by -0.1 m in z: the same hand, 0.1 m closer
    np.testing.assert_allclose(state[left, 0:3], want["position"][left] - [0, 0, 0.1], atol=2e-6)
    assert np.array_equal(column(out, "mask.state")[:, 0].astype(bool), left)


def test_merge_of_three_embodiments_per_embodiment_stats(tmp_path: Path) -> None:
    xarm = xarm_dataset(tmp_path / "xarm", (12, 9))
    so100 = so100_dataset(tmp_path / "so100", (8,))
    hands = hand_dataset(tmp_path / "hands", (10,))
    out = tmp_path / "out"
    summary = prepare_datasets([f"{xarm}:xarm7", f"{so100}:so100", f"{hands}:mano"], config(out, horizon=3))
    assert summary.normalized  # several embodiments: normalized per embodiment by default
    meta = read_prepared(out)
    assert meta["embodiments"] == ["xarm7", "so100", "mano"]
    assert [s["episodes"] for s in meta["sources"]] == [[0, 2], [2, 3], [3, 4]]
    assert list(column(out, "embodiment")[:, 0]) == [0] * 21 + [1] * 8 + [2] * 10
    # the features only some sources have are left out, with a note
    assert "observation.effort" not in info(out)["features"]
    assert any("observation.effort" in n for n in summary.rewrite.notes)
    # so100: no pose, joints 6 of 7 slots, gripper 0..100 -> 0..1
    mask = column(out, "mask.state", 2).astype(bool)
    assert not mask[:, 0:9].any() and mask[:, 9].all() and mask[:, 10:16].all() and not mask[:, 16].any()
    raw = {
        "xarm7": np.concatenate([_raw_xarm(xarm, ep) for ep in (0, 1)]),
        "so100": _raw_so100(so100),
    }
    for name, values in raw.items():
        stats = embodiment_stats(out, name)["observation.state"]
        np.testing.assert_allclose(stats["mean"], values.mean(axis=0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(stats["std"], values.std(axis=0), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(stats["min"], values.min(axis=0), atol=1e-7)
        assert int(stats["count"][0]) == len(values)
    # stored values: each embodiment's raw state normalized with its own statistics (masked -> 0)
    for ep, (name, values) in enumerate(
        [("xarm7", _raw_xarm(xarm, 0)), ("xarm7", _raw_xarm(xarm, 1)), ("so100", _raw_so100(so100))]
    ):
        s = embodiment_stats(out, name)["observation.state"]
        want = (values.astype(np.float64) - s["mean"]) / (s["std"] + 1e-8)
        known = column(out, "mask.state", ep).astype(bool)
        np.testing.assert_allclose(column(out, "observation.state", ep), np.where(known, want, 0), atol=2e-5)
        state, action = column(out, "observation.state", ep), column(out, "action", ep)
        assert np.array_equal(action[:-1], state[1:])  # still the next state: same statistics
    # an absolute action is (un)normalized with the state's statistics
    ns = normalizer_stats(out, "so100")
    assert ns["action"]["mean"].tolist() == ns["observation.state"]["mean"].tolist()
    assert ns["action_chunk"]["mean"].tolist() == ns["observation.state"]["mean"].tolist() * 3


def _raw_xarm(root: Path, ep: int) -> np.ndarray:
    s = column(root, "observation.state", ep).astype(np.float64)
    rot = np.stack([rpy_matrix(*r) for r in s[:, 11:14]])
    out = np.concatenate([s[:, 8:11], rot[:, :, 0], rot[:, :, 1], s[:, 7:8] / 850, s[:, 0:7]], axis=1)
    return out.astype(np.float32)


def _raw_so100(root: Path) -> np.ndarray:
    s = column(root, "observation.state", 0).astype(np.float64)
    n = len(s)
    out = np.concatenate([np.zeros((n, 9)), s[:, 5:6] / 100, s[:, 0:6], np.zeros((n, 1))], axis=1)
    return out.astype(np.float32)


def test_user_embodiment_by_names_and_joints_size(xarm: Path, tmp_path: Path) -> None:
    user = tmp_path / "arm.yaml"
    user.write_text(
        "three_joints:\n  description: the first three joints, by index\n  keys:\n"
        "    joints: {feature: observation.state, indices: [0, 1, null, 2], scale: 2.0, offset: 1.0}\n"
    )
    out = tmp_path / "out"
    prepare_datasets([xarm], config(out, embodiment="three_joints", embodiment_file=(str(user),), joints=6))
    state, mask = column(out, "observation.state", 0), column(out, "mask.state", 0).astype(bool)
    source = column(xarm, "observation.state", 0)
    assert state.shape[1] == 10 + 6
    np.testing.assert_allclose(
        state[:, 10:16],
        np.column_stack(
            [
                source[:, 0] * 2 + 1,
                source[:, 1] * 2 + 1,
                np.zeros(12),
                source[:, 2] * 2 + 1,
                np.zeros((12, 2)),
            ]
        ),
        atol=1e-6,
    )
    assert mask[:, 10:16].all(axis=0).tolist() == [True, True, False, True, False, False]
    assert not mask[:, :10].any()
