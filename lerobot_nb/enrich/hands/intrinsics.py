"""Camera intrinsics and extrinsics: from the recording (Rerun `Pinhole`, `Transform3D`) or HaMeR's default."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lerobot_nb.enrich.hands.geometry import hamer_scaled_focal_length, intrinsic_matrix

__all__ = ["CameraModel", "camera_from_recording", "default_camera"]


@dataclass(frozen=True)
class CameraModel:
    """A pinhole camera for one image size (px), optional camera-to-world pose, and where it came from.

    `source` is `"recording <entity>"`, `"given"` or `"default"` (HaMeR's scaled focal length
    F = 5000/256 max(W, H), principal point at the image centre: depth is only as good as F).
    """

    width: int
    height: int
    fx: float
    fy: float
    px: float
    py: float
    camera_to_world: np.ndarray | None = None
    source: str = "given"

    @property
    def K(self) -> np.ndarray:
        """The 3x3 intrinsic matrix [[fx, 0, px], [0, fy, py], [0, 0, 1]], in pixels."""
        return intrinsic_matrix(self.fx, self.fy, self.px, self.py)

    @property
    def is_default(self) -> bool:
        """True for HaMeR's default intrinsics (none given or recorded)."""
        return self.source == "default"

    def for_size(self, width: int, height: int) -> CameraModel:
        """The same camera for frames of another size: intrinsics scale with the image (or, for the
        default camera, F is recomputed from the new size)."""
        if (width, height) == (self.width, self.height):
            return self
        if self.is_default:
            return replace(default_camera(width, height), camera_to_world=self.camera_to_world)
        sx, sy = width / self.width, height / self.height
        return replace(
            self,
            width=width,
            height=height,
            fx=self.fx * sx,
            fy=self.fy * sy,
            px=self.px * sx,
            py=self.py * sy,
        )


def default_camera(width: int, height: int) -> CameraModel:
    """HaMeR's assumption when nothing is known: f = 5000/256 max(W, H), principal point (W/2, H/2)."""
    f = hamer_scaled_focal_length(width, height)
    return CameraModel(width, height, f, f, width / 2.0, height / 2.0, source="default")


def _first_value(dataset: Any, episode: str, column: str, index: str | None) -> Any:
    """Static value of `column`, else its first logged value on `index`, else None."""
    from lerobot_nb.query import read_static, read_stream

    value = read_static(dataset, episode, column)
    if value is None and index is not None:
        rows = read_stream(dataset, episode, column, index)
        if len(rows):
            value = rows.values[0].as_py()
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list | dict):
        value = value[0]  # batch of one
    return value


def _transform_of(
    dataset: Any, episode: str, entity: str, index: str | None, columns: set[str]
) -> np.ndarray:
    """The 4x4 parent-from-child transform logged on `entity` (identity when none)."""
    out = np.eye(4)
    translation = f"{entity}:Transform3D:translation"
    mat = f"{entity}:Transform3D:mat3x3"
    quat = f"{entity}:Transform3D:quaternion"
    if translation in columns and (t := _first_value(dataset, episode, translation, index)) is not None:
        out[:3, 3] = np.asarray(t, np.float64).reshape(3)
    if mat in columns and (m := _first_value(dataset, episode, mat, index)) is not None:
        out[:3, :3] = np.asarray(m, np.float64).reshape(3, 3).T  # Rerun stores Mat3x3 column-major
    elif quat in columns and (q := _first_value(dataset, episode, quat, index)) is not None:
        x, y, z, w = np.asarray(q, np.float64).reshape(4)
        out[:3, :3] = np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
            ]
        )
    return out


def camera_from_recording(
    dataset: Any, episode: str, entity: str, index: str | None = None
) -> CameraModel | None:
    """The camera of image entity `entity` as logged in the recording, or None without a `Pinhole`.

    Looks for `Pinhole:image_from_camera` (and `Pinhole:resolution`) on `entity` and its ancestors
    (Rerun allows the pinhole on the image entity or a parent). The camera-to-world pose composes
    every `Transform3D` from the root down to the pinhole's entity (Rerun's transforms map child
    to parent); it stays None when no ancestor has one. Static values win; otherwise the first
    value on `index`. Assumes Rerun's default RDF camera axes (= OpenCV).
    """
    from lerobot_nb.query import component_columns

    columns = {c.name for c in component_columns(dataset)}
    parts = [p for p in entity.strip("/").split("/") if p]
    chain = ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    pinhole_entity = next((e for e in reversed(chain) if f"{e}:Pinhole:image_from_camera" in columns), None)
    if pinhole_entity is None:
        return None
    k = _first_value(dataset, episode, f"{pinhole_entity}:Pinhole:image_from_camera", index)
    if k is None:
        return None
    K = np.asarray(k, np.float64).reshape(3, 3).T  # column-major storage
    res = _first_value(dataset, episode, f"{pinhole_entity}:Pinhole:resolution", index)
    width, height = (round(v) for v in res) if res is not None else (round(2 * K[0, 2]), round(2 * K[1, 2]))
    pose = np.eye(4)
    has_pose = False
    for e in chain[: chain.index(pinhole_entity) + 1]:
        if any(c.startswith(f"{e}:Transform3D:") for c in columns):
            pose = pose @ _transform_of(dataset, episode, e, index, columns)
            has_pose = True
    return CameraModel(
        width,
        height,
        float(K[0, 0]),
        float(K[1, 1]),
        float(K[0, 2]),
        float(K[1, 2]),
        camera_to_world=pose if has_pose else None,
        source=f"recording {pinhole_entity}",
    )
