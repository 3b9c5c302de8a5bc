"""Hand geometry in pure numpy: HaMeR key remapping, crop-to-full camera, mirroring, frames, projection.

Conventions (all functions): 21 joints in OpenPose hand order (`JOINT_NAMES`); 3D points in
metres; camera frame is OpenCV's (x right, y down, z forward = Rerun's RDF); pixels have their
origin at the top-left corner of the image; a camera-to-world extrinsic is a 4x4 matrix `T_wc`
with `X_world = R_wc X_cam + t_wc`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "HAMER_FOCAL_LENGTH",
    "HAMER_IMAGE_SIZE",
    "JOINT_NAMES",
    "MIRROR_X",
    "SKELETON",
    "apply_transform",
    "cam_crop_to_full",
    "extrinsics_from_world_to_camera",
    "hamer_scaled_focal_length",
    "intrinsic_matrix",
    "invert_transform",
    "keypoint_box",
    "mirror_left_points",
    "mirror_left_rotations",
    "project",
    "remap_hamer_keys",
]

#: HaMeR's `EXTRA.FOCAL_LENGTH` (px) for its `MODEL.IMAGE_SIZE` (px) square crop.
HAMER_FOCAL_LENGTH = 5000.0
HAMER_IMAGE_SIZE = 256.0

_FINGERS = ("thumb", "index", "middle", "ring", "pinky")
_THUMB_JOINTS = ("cmc", "mcp", "ip", "tip")
_FINGER_JOINTS = ("mcp", "pip", "dip", "tip")
#: OpenPose / HaMeR / MediaPipe / RHD hand order: wrist, then 4 joints per finger from base to tip.
JOINT_NAMES: tuple[str, ...] = (
    "wrist",
    *(
        f"{finger}_{joint}"
        for finger in _FINGERS
        for joint in (_THUMB_JOINTS if finger == "thumb" else _FINGER_JOINTS)
    ),
)
#: Bones as joint index pairs: each finger chain from the wrist, plus the palm across the MCPs.
SKELETON: tuple[tuple[int, int], ...] = (
    *((0 if j == 0 else 4 * f + j, 4 * f + j + 1) for f in range(5) for j in range(4)),
    (5, 9),
    (9, 13),
    (13, 17),
)

#: M = diag(-1, 1, 1): HaMeR predicts every hand as a right hand; a left hand is its mirror in x.
MIRROR_X = np.diag([-1.0, 1.0, 1.0])


def remap_hamer_keys(response: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """HaMeR server output -> short keys, nested dicts flattened with ".".

    Rules, applied in order to every (flattened) key: drop the `pred_` prefix, drop `_params`,
    `keypoints_` -> `kp`. So `pred_keypoints_3d` -> `kp3d`, `pred_keypoints_2d` -> `kp2d`,
    `pred_cam_t_full` -> `cam_t_full`, `pred_cam` -> `cam`, `pred_mano_params.global_orient` (or
    a nested `{"pred_mano_params": {"global_orient": ...}}`) -> `mano.global_orient`;
    `box_center`, `box_size`, `img_size`, `right`, `scaled_focal_length` keep their names.
    Values become numpy arrays (scalars become 0-d arrays).
    """
    out: dict[str, np.ndarray] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                key = k.decode() if isinstance(k, bytes) else str(k)
                walk(f"{prefix}.{key}" if prefix else key, v)
            return
        key = prefix.replace("pred_", "").replace("_params", "").replace("keypoints_", "kp")
        out[key] = np.asarray(value)

    walk("", response)
    return out


def hamer_scaled_focal_length(width: float, height: float) -> float:
    """HaMeR's full-image focal length in px when the camera is unknown: F = 5000/256 * max(W, H)."""
    return HAMER_FOCAL_LENGTH / HAMER_IMAGE_SIZE * max(float(width), float(height))


def intrinsic_matrix(fx: float, fy: float, px: float, py: float) -> np.ndarray:
    """K = [[fx, 0, px], [0, fy, py], [0, 0, 1]] (float64, px)."""
    return np.array([[fx, 0.0, px], [0.0, fy, py], [0.0, 0.0, 1.0]])


def cam_crop_to_full(
    cam: np.ndarray,
    box_center: np.ndarray,
    box_size: np.ndarray,
    right: np.ndarray,
    *,
    focal: float | tuple[float, float],
    principal: tuple[float, float],
) -> np.ndarray:
    """Weak-perspective crop camera -> full-image translation of the hand (N,3), metres.

    `cam` (N,3) is HaMeR's raw `pred_cam` = (s, t'_x, t'_y) for a square crop of side b
    (`box_size`, px) centred at c (`box_center`, px). HaMeR predicts every hand as a right hand in
    a horizontally flipped crop, so for left hands (`right` = 0) t'_x is negated first (the demo's
    `pred_cam[:, 1] *= 2*right - 1`). With focal lengths (f_x, f_y) and principal point (p_x, p_y):

        t_z = 2 f_x / (b s)
        t_x = (c_x - p_x) t_z / f_x + t'_x     = 2 (c_x - p_x) / (b s) + t'_x
        t_y = (c_y - p_y) t_z / f_y + t'_y

    With HaMeR's defaults f_x = f_y = F = 5000/256 max(W, H) and p = (W/2, H/2) this is exactly its
    `cam_crop_to_full`; real intrinsics (a Rerun `Pinhole`) give the right depth instead of F's.
    """
    cam = np.asarray(cam, np.float64).reshape(-1, 3)
    c = np.asarray(box_center, np.float64).reshape(-1, 2)
    b = np.asarray(box_size, np.float64).reshape(-1)
    m = 2.0 * np.asarray(right, np.float64).reshape(-1) - 1.0
    fx, fy = (float(v) for v in np.broadcast_to(np.asarray(focal, np.float64).reshape(-1), (2,)))
    bs = b * cam[:, 0] + 1e-9
    tz = 2.0 * fx / bs
    tx = (c[:, 0] - principal[0]) * tz / fx + m * cam[:, 1]
    ty = (c[:, 1] - principal[1]) * tz / fy + cam[:, 2]
    return np.stack([tx, ty, tz], axis=-1)


def mirror_left_points(points: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Undo HaMeR's left-hand mirroring of 3D points: x -> (2 right - 1) x; y and z unchanged.

    `points` (N,J,3), `right` (N,) of 0/1. (Flipping z as well, as some pipelines do, puts the
    hand behind the camera.)
    """
    m = 2.0 * np.asarray(right, np.float64).reshape(-1, 1, 1) - 1.0
    out = np.array(points, np.float64, copy=True)
    out[..., 0:1] *= m
    return out


def mirror_left_rotations(rotations: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Mirror rotation matrices of left hands: R -> M R M with M = diag(-1, 1, 1); rights unchanged.

    `rotations` (N, ..., 3, 3) (MANO `global_orient` (N,1,3,3), `hand_pose` (N,15,3,3)). M R M is
    again a rotation (det +1); in axis-angle it maps (a_x, a_y, a_z) -> (a_x, -a_y, -a_z).
    """
    rot = np.asarray(rotations, np.float64)
    left = np.asarray(right).reshape(-1) < 0.5
    out = rot.copy()
    out[left] = MIRROR_X @ rot[left] @ MIRROR_X
    return out


def apply_transform(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """X' = R X + t for a 4x4 `transform` = [[R, t], [0, 1]] and points (..., 3)."""
    t = np.asarray(transform, np.float64)
    p = np.asarray(points, np.float64)
    return p @ t[:3, :3].T + t[:3, 3]


def invert_transform(transform: np.ndarray) -> np.ndarray:
    """[[R, t], [0, 1]]^-1 = [[R^T, -R^T t], [0, 1]] for a rigid 4x4 transform."""
    t = np.asarray(transform, np.float64)
    out = np.eye(4)
    out[:3, :3] = t[:3, :3].T
    out[:3, 3] = -t[:3, :3].T @ t[:3, 3]
    return out


def extrinsics_from_world_to_camera(rotation: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Camera-to-world 4x4 from a world-to-camera rotation R and the camera centre C (world units).

    The convention of InterHand2.6M (`camrot`, `campos`) and many calibration tools is
    X_cam = R (X_world - C); hence X_world = R^T X_cam + C, i.e. T_wc = [[R^T, C], [0, 1]].
    """
    out = np.eye(4)
    out[:3, :3] = np.asarray(rotation, np.float64).T
    out[:3, 3] = np.asarray(position, np.float64).reshape(3)
    return out


def project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points (..., 3) to pixels (..., 2).

    u = f_x X / Z + p_x, v = f_y Y / Z + p_y with K = [[f_x, 0, p_x], [0, f_y, p_y], [0, 0, 1]].
    Points must lie in front of the camera (Z > 0).
    """
    p = np.asarray(points, np.float64)
    z = p[..., 2:3]
    return np.concatenate([K[0, 0] * p[..., 0:1] / z + K[0, 2], K[1, 1] * p[..., 1:2] / z + K[1, 2]], axis=-1)


def keypoint_box(kp2d: np.ndarray) -> tuple[np.ndarray, float]:
    """Square box around 2D keypoints (21,2): centre of their bounds and the longer side (px)."""
    lo, hi = kp2d.min(axis=0), kp2d.max(axis=0)
    return (lo + hi) / 2.0, float((hi - lo).max())
