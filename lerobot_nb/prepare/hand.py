"""A human hand as an end effector: position, orientation and grip aperture from its 21 keypoints.

Keypoints are in OpenPose order (`enrich.hands.geometry.JOINT_NAMES`): 0 wrist, 4 thumb tip,
5 index MCP (knuckle), 8/12/16/20 index/middle/ring/pinky tips, 17 pinky MCP, in metres in the
frame the hand-pose step wrote (`kp3d`: camera, OpenCV axes; `kp3d_world`: its world frame).

The hand frame: origin at the wrist; x from the wrist to the midpoint of the index and pinky
knuckles (along the hand); z the palm normal, out of the palm, computed with the mirrored cross
product for a left hand so it points out of the palm of either hand; y = z x x completes a
right-handed frame (towards the little finger of a right hand, the index of a left one). x lies
in the plane of the three points, so x and z are orthogonal without correction.
"""

from __future__ import annotations

import numpy as np

__all__ = ["APERTURE_TIPS", "THUMB_TIP", "grip_aperture", "hand_frame"]

WRIST, THUMB_TIP, INDEX_MCP, PINKY_MCP = 0, 4, 5, 17
#: Fingertips whose distances to the thumb tip make the grip aperture.
APERTURE_TIPS = (8, 12, 16, 20)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm > 0, norm, 1.0)


def hand_frame(points: np.ndarray, left: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 21, 3) keypoints and (N,) bool "is a left hand" -> positions (N, 3) and rotations (N, 3, 3).

    Rotation columns are the hand's x, y, z axes in the keypoints' frame. Degenerate frames
    (all points equal: an absent hand's zeros) give a zero matrix, which the caller masks.
    """
    p = np.asarray(points, np.float64)
    wrist, index, pinky = p[:, WRIST], p[:, INDEX_MCP], p[:, PINKY_MCP]
    x = _unit((index + pinky) / 2 - wrist)
    right_normal = np.cross(index - wrist, pinky - wrist)
    z = _unit(np.where(np.asarray(left)[:, None], -right_normal, right_normal))
    y = np.cross(z, x)
    return wrist, np.stack([x, y, z], axis=-1)


def grip_aperture(points: np.ndarray) -> np.ndarray:
    """(N, 21, 3) keypoints -> (N,) mean distance (m) from the thumb tip to the four fingertips."""
    p = np.asarray(points, np.float64)
    distances = np.linalg.norm(p[:, list(APERTURE_TIPS)] - p[:, THUMB_TIP][:, None], axis=-1)
    return np.asarray(distances.mean(axis=1))
