"""Rotations of any common parametrisation to the shared key `eef_rot`: the 6D representation.

`eef_rot` is the first two columns of the rotation matrix R (frame axes x and y in the parent
frame), stored column after column: `r00 r10 r20 r01 r11 r21`. It is continuous over SO(3)
(Zhou et al., "On the Continuity of Rotation Representations in Neural Networks", CVPR 2019):
a quaternion has the q / -q double cover and Euler angles wrap at +-pi and lock at pitch +-pi/2,
both make regression targets jump where the motion is smooth; a difference of two 6D vectors
(the delta action) is smooth too. R is recovered by Gram-Schmidt on the two columns and their
cross product (`matrix_from_rot6d`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["ROT6D_NAMES", "ROTATION_SIZES", "Rotation", "matrix_from_rot6d", "rot6d", "to_matrix"]

#: Source parametrisations and how many values each takes.
Rotation = Literal["rpy", "quat_xyzw", "quat_wxyz", "rotvec", "matrix", "rot6d"]
ROTATION_SIZES: dict[str, int] = {
    "rpy": 3,
    "quat_xyzw": 4,
    "quat_wxyz": 4,
    "rotvec": 3,
    "matrix": 9,
    "rot6d": 6,
}
ROT6D_NAMES = ("r00", "r10", "r20", "r01", "r11", "r21")


def _rpy(values: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw (rad) about fixed x, y, z: R = Rz(yaw) Ry(pitch) Rx(roll) (xArm, ROS RPY)."""
    roll, pitch, yaw = values[:, 0], values[:, 1], values[:, 2]
    cr, sr, cp, sp, cy, sy = (
        np.cos(roll),
        np.sin(roll),
        np.cos(pitch),
        np.sin(pitch),
        np.cos(yaw),
        np.sin(yaw),
    )
    return np.stack(
        [
            np.stack([cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr], axis=-1),
            np.stack([sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr], axis=-1),
            np.stack([-sp, cp * sr, cp * cr], axis=-1),
        ],
        axis=1,
    )


def _quat(xyzw: np.ndarray) -> np.ndarray:
    """Unit quaternions (normalised here; x, y, z, w) to matrices."""
    q = xyzw / np.linalg.norm(xyzw, axis=1, keepdims=True)
    x, y, z, w = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=1,
    )


def _rotvec(values: np.ndarray) -> np.ndarray:
    """Axis * angle (rad) to matrices (Rodrigues); the zero vector is the identity."""
    angle = np.linalg.norm(values, axis=1)
    safe = np.where(angle > 0, angle, 1.0)
    axis = values / safe[:, None]
    k = np.zeros((len(values), 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k -= np.transpose(k, (0, 2, 1))
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3)[None] + s * k + (1 - c) * (k @ k)


def matrix_from_rot6d(values: np.ndarray) -> np.ndarray:
    """(N, 6) `eef_rot` back to (N, 3, 3) rotation matrices (Gram-Schmidt, as Zhou et al.)."""
    a, b = values[:, 0:3], values[:, 3:6]
    x = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b - np.sum(x * b, axis=1, keepdims=True) * x
    y = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


def to_matrix(values: np.ndarray, kind: str) -> np.ndarray:
    """(N, k) values of parametrisation `kind` to (N, 3, 3) matrices (float64)."""
    v = np.asarray(values, np.float64)
    if kind == "rpy":
        return _rpy(v)
    if kind == "quat_xyzw":
        return _quat(v)
    if kind == "quat_wxyz":
        return _quat(v[:, [1, 2, 3, 0]])
    if kind == "rotvec":
        return _rotvec(v)
    if kind == "matrix":
        return v.reshape(-1, 3, 3)  # row-major r00 r01 r02 r10 ...
    if kind == "rot6d":
        return matrix_from_rot6d(v)
    raise ValueError(f"unknown rotation {kind!r}")


def rot6d(matrices: np.ndarray) -> np.ndarray:
    """(N, 3, 3) matrices to (N, 6) `eef_rot`: first column, then second column."""
    return np.concatenate([matrices[:, :, 0], matrices[:, :, 1]], axis=1)
