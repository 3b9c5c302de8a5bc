"""Datasets of known content for the prepare tests: an xArm 7, an SO-100 and a hand, written by the exporter.

The values are made here from closed forms (a hand from a known rotation and position, an arm
from known joint, gripper and pose tracks), so the tests can compute what `prepare` must write
without `lerobot_nb.prepare`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
from dataset_support import data, export
from export_support import NumpyFrames

from lerobot_nb.episode import AlignedEpisode

H, W = 32, 48
CAMERAS = ("front",)

#: A right hand in its own frame (the frame prepare must recover: x to the knuckles' midpoint, z
#: out of the palm): wrist at 0, index/pinky knuckles symmetric about +x, thumb tip and fingertips
#: at known distances.
THUMB_TIP = np.array([0.05, -0.06, 0.0])
TIP_DISTANCES = (0.04, 0.06, 0.08, 0.10)


def local_right_hand(spread: float) -> np.ndarray:
    """(21, 3) keypoints; the four fingertips lie `spread` times TIP_DISTANCES from the thumb tip."""
    points = np.zeros((21, 3))
    points[5] = (0.08, -0.025, 0.0)  # index MCP
    points[17] = (0.08, 0.025, 0.0)  # pinky MCP
    points[9], points[13] = (0.085, -0.008, 0.0), (0.083, 0.01, 0.0)
    points[1:4] = [(0.02, -0.03, 0.0), (0.03, -0.045, 0.0), (0.04, -0.055, 0.0)]
    points[4] = THUMB_TIP
    for tip, d in zip((8, 12, 16, 20), TIP_DISTANCES, strict=True):
        direction = np.array([np.cos(0.3 * tip), np.sin(0.3 * tip), 0.2])
        points[tip] = THUMB_TIP + spread * d * direction / np.linalg.norm(direction)
    for j in (6, 7, 10, 11, 14, 15, 18, 19):  # the other joints: between knuckle and tip
        points[j] = (points[j - 1] + points[(j // 4) * 4 + 4]) / 2
    return points


def rotation(k: float) -> np.ndarray:
    """A rotation that changes smoothly with k (axis-angle about a tilted axis)."""
    axis = np.array([np.sin(k), np.cos(k), 0.5])
    axis /= np.linalg.norm(axis)
    angle = 0.3 + 0.2 * k
    kx = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def _episode(
    episode_id: str, numeric: dict[str, np.ndarray], seed: int, fps: int, task: str
) -> AlignedEpisode:
    n = len(next(iter(numeric.values())))
    return AlignedEpisode(
        episode_id=episode_id,
        fps=fps,
        index="real_time",
        ticks=np.arange(n, dtype=np.int64) * (1_000_000_000 // fps),
        numeric=numeric,
        images={c: NumpyFrames(n, seed + i, H, W) for i, c in enumerate(CAMERAS)},
        tasks=(task,) * n,
        names={},
        source=f"/recordings/{episode_id}.rrd",
    )


def xarm_state(n: int, seed: int) -> np.ndarray:
    """(n, 14) float32 xgym state: 7 joints (rad), gripper (0..850), x y z (m), roll pitch yaw (rad)."""
    t = np.arange(n) / 10.0 + seed
    joints = np.stack([0.1 * (j + 1) * np.sin(t + j) for j in range(7)], axis=1)
    gripper = (425 + 400 * np.sin(0.7 * t))[:, None]
    xyz = np.stack([0.3 + 0.05 * np.sin(t), 0.1 * np.cos(t), 0.2 + 0.01 * t], axis=1)
    rpy = np.stack([np.pi - 0.1 * np.sin(t), 0.2 * np.cos(t), 1.5 * np.sin(0.3 * t)], axis=1)
    return np.concatenate([joints, gripper, xyz, rpy], axis=1).astype(np.float32)


def xarm_dataset(out: Path, lengths: Sequence[int] = (12, 9), *, fps: int = 10, first_seed: int = 0) -> Path:
    episodes = []
    for i, n in enumerate(lengths):
        seed = first_seed + i
        state = xarm_state(n, seed)
        gello = np.concatenate([state[:, :7] + 0.01, np.full((n, 1), 0.5, np.float32)], axis=1)
        numeric = {"observation.state": state, "action": gello, "observation.effort": state[:, :3] * 2}
        episodes.append(_episode(f"xarm-{seed}", numeric, seed, fps, "pick up the red block"))
    return export(out, episodes, codec="h264")


def so100_dataset(out: Path, lengths: Sequence[int] = (8,), *, fps: int = 10) -> Path:
    episodes = []
    for i, n in enumerate(lengths):
        t = np.arange(n, dtype=np.float64)
        state = np.stack([10 * np.sin(t + j) for j in range(5)] + [50 + 40 * np.sin(t)], axis=1)
        numeric = {"observation.state": state.astype(np.float32), "action": state.astype(np.float32)}
        episodes.append(_episode(f"so100-{i}", numeric, 10 + i, fps, "fold the towel"))
    return export(out, episodes, codec="h264")


def hand_tracks(n: int, seed: int) -> dict[str, np.ndarray]:
    """Per frame: which side is present, confidences, world rotation, position and spread of the hand."""
    k = np.arange(n)
    left_present = (k % 5 != 4) & (k % 3 != 0)
    right_present = (k % 3 == 0) & (k % 5 != 4)  # frames k % 5 == 4: no hand at all
    left_present[1] = right_present[1] = True  # both: the more confident one wins
    return {
        "left_present": left_present,
        "right_present": right_present,
        "left_confidence": np.where(k == 1, 0.95, 0.9),
        "right_confidence": np.where(k == 1, 0.7, 0.8),
        "rotations": np.stack([rotation(0.1 * (i + seed)) for i in k]),
        "positions": np.stack([np.array([0.1, -0.05, 0.5]) + 0.01 * i * np.array([1, 0.5, -0.2]) for i in k]),
        "spread": 0.5 + 0.05 * k,
    }


def hand_points(tracks: dict[str, np.ndarray], left: bool) -> np.ndarray:
    """(n, 21, 3) world keypoints of one side for every frame (left = the right hand mirrored in its y)."""
    out = []
    for r, p, s in zip(tracks["rotations"], tracks["positions"], tracks["spread"], strict=True):
        local = local_right_hand(s)
        if left:
            local = local * np.array([1.0, -1.0, 1.0])
        out.append(local @ r.T + p)
    return np.stack(out)


def hand_dataset(out: Path, lengths: Sequence[int] = (10,), *, fps: int = 10) -> Path:
    """Hand-pose features like `lerobot-nb hands` writes (both sides; zeros where absent)."""
    episodes = []
    for i, n in enumerate(lengths):
        tracks = hand_tracks(n, i)
        numeric: dict[str, np.ndarray] = {
            "observation.state": np.zeros((n, 5), np.float32),
            "action": np.zeros((n, 2), np.float32),
        }
        for side in ("left", "right"):
            present = tracks[f"{side}_present"]
            points = hand_points(tracks, side == "left") * present[:, None, None]
            base = f"observation.hands.{side}"
            numeric[f"{base}.kp3d"] = (points - np.array([0.0, 0.0, 0.1])).reshape(n, 63).astype(np.float32)
            numeric[f"{base}.kp3d_world"] = points.reshape(n, 63).astype(np.float32)
            numeric[f"{base}.confidence"] = (tracks[f"{side}_confidence"] * present)[:, None].astype(
                np.float32
            )
            numeric[f"{base}.present"] = present[:, None].astype(np.float32)
        episodes.append(_episode(f"hand-{i}", numeric, 20 + i, fps, "push the block"))
    return export(out, episodes, codec="h264")


def column(root: Path, feature: str, episode: int | None = None) -> np.ndarray:
    """A feature of the dataset's data files as (N, D), optionally one episode's rows."""
    table = data(root)
    if episode is not None:
        table = table.filter(pa.array(np.asarray(table["episode_index"]) == episode))
    array = table[feature].combine_chunks()
    if pa.types.is_fixed_size_list(array.type):
        return np.asarray(array.flatten().to_numpy(zero_copy_only=False)).reshape(len(array), -1)
    return np.asarray(array.to_numpy(zero_copy_only=False)).reshape(len(array), -1)
