"""MediaPipe Hands on CPU: 21 landmarks per hand, placed in the camera frame by PnP with the intrinsics.

mediapipe 0.10.14 ships the palm-detection and hand-landmark models inside the wheel (the legacy
`mediapipe.solutions.hands` graph), so this runs offline. Its landmark order is the OpenPose order
used everywhere here. 3D: MediaPipe's world landmarks are metric but hand-centred (origin near the
hand's centre); `cv2.solvePnP` finds the rotation and translation that project them onto the 2D
landmarks with the camera matrix K, which places the hand in the camera frame.

The graph's native log (TFLite/absl start-up lines on fd 2) is captured around every call into
it (`native_log`): known start-up lines are dropped, anything else becomes a report note.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lerobot_nb.enrich.hands.backend import BackendResource, FrameHands, HandDetection
from lerobot_nb.enrich.hands.geometry import keypoint_box, project
from lerobot_nb.enrich.hands.intrinsics import CameraModel
from lerobot_nb.enrich.hands.native_log import captured_native_stderr, quiet_environment, significant_lines
from lerobot_nb.errors import LerobotNbError

# Before mediapipe is first imported (lazily, in `MediaPipeBackend._hands`).
quiet_environment()

__all__ = ["MediaPipeBackend", "place_with_pnp"]


def place_by_scale(world: np.ndarray, kp2d: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Fallback placement by similar triangles when PnP has no solution in front of the camera.

    Depth from size: z = f_x * rms_xy(W - mean W) / rms(kp2d - mean kp2d); the hand's centre is
    the back-projection of the 2D centroid (c_u, c_v) at that depth, X = (c_u - p_x) z / f_x,
    Y = (c_v - p_y) z / f_y; the joints keep MediaPipe's (camera-aligned) world orientation.
    """
    centred = world - world.mean(axis=0)
    c2d = kp2d.mean(axis=0)
    spread_px = float(np.sqrt(((kp2d - c2d) ** 2).sum(axis=1).mean()))
    spread_m = float(np.sqrt((centred[:, :2] ** 2).sum(axis=1).mean()))
    z = K[0, 0] * spread_m / max(spread_px, 1e-6)
    centre = np.array([(c2d[0] - K[0, 2]) * z / K[0, 0], (c2d[1] - K[1, 2]) * z / K[1, 1], z])
    out: np.ndarray = centred + centre
    return out


def place_with_pnp(world: np.ndarray, kp2d: np.ndarray, K: np.ndarray) -> np.ndarray | None:
    """Camera-frame points R W + t for hand-centred metric points W (21,3) seen at pixels kp2d (21,2).

    R, t minimise the reprojection error of W under K (`cv2.solvePnP`: SQPnP, else EPnP, else the
    iterative solver, each refined with Levenberg-Marquardt); the first solution with every joint
    in front of the camera wins. With a very long focal length (HaMeR's default F) the problem is
    nearly orthographic and solvers can fail or flip the hand behind the camera: then
    `place_by_scale`. None only for non-finite input.
    """
    import cv2

    if not (np.all(np.isfinite(world)) and np.all(np.isfinite(kp2d))):
        return None
    obj = np.ascontiguousarray(world, np.float64).reshape(-1, 1, 3)
    img = np.ascontiguousarray(kp2d, np.float64).reshape(-1, 1, 2)
    for flags in (cv2.SOLVEPNP_SQPNP, cv2.SOLVEPNP_EPNP, cv2.SOLVEPNP_ITERATIVE):
        try:
            ok, rvec, tvec = cv2.solvePnP(obj, img, K, None, flags=flags)
            if not ok:
                continue
            rvec, tvec = cv2.solvePnPRefineLM(obj, img, K, None, rvec, tvec)
        except cv2.error:  # SQPnP asserts on nearly flat/collinear point sets
            continue
        R, _ = cv2.Rodrigues(rvec)
        cam: np.ndarray = world @ R.T + tvec.reshape(1, 3)
        if np.all(cam[:, 2] > 0) and np.all(np.isfinite(cam)):
            return cam
    return place_by_scale(np.asarray(world, np.float64), np.asarray(kp2d, np.float64), K)


class MediaPipeBackend(BackendResource):
    """`HandBackend` running MediaPipe Hands in process.

    `static_image_mode=False` (default) tracks hands from frame to frame (faster on video, the
    graph is rebuilt when the frame size changes); True detects in every frame independently.
    MediaPipe labels handedness as seen in a mirrored (selfie) image; for ordinary cameras the
    label is swapped (`mirrored=False`). `confidence` is MediaPipe's handedness score.
    """

    name = "mediapipe"

    def __init__(
        self,
        *,
        max_hands: int = 2,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        model_complexity: int = 1,
        static_image_mode: bool = False,
        mirrored: bool = False,
    ) -> None:
        self.options = dict(
            static_image_mode=static_image_mode,
            max_num_hands=max_hands,
            model_complexity=model_complexity,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self.mirrored = mirrored
        self._size: tuple[int, int] | None = None

    def _hands(self, size: tuple[int, int]) -> Any:
        if self._resource is None or size != self._size:
            self._release()
            from mediapipe.python.solutions import hands as mp_hands

            try:
                self._resource = mp_hands.Hands(**self.options)
            except (RuntimeError, ValueError) as exc:  # a model that does not load, bad options
                raise LerobotNbError(f"MediaPipe Hands could not start: {exc}") from None
            self._size = size
        return self._resource

    def _process(self, frame: np.ndarray) -> Any:
        """MediaPipe's result for one RGB frame, its native log captured (noise dropped, the rest noted)."""
        h, w = frame.shape[:2]
        native: list[str] = []
        try:
            with captured_native_stderr() as native:
                return self._hands((w, h)).process(np.ascontiguousarray(frame))
        except LerobotNbError as exc:
            said = "; ".join(line.strip() for line in significant_lines(native))
            raise LerobotNbError(f"{exc.what} (native log: {said})" if said else exc.what) from None
        finally:
            for line in significant_lines(native):
                self._note(f"mediapipe log: {line.strip()}")

    def detect_one(self, frame: np.ndarray, camera: CameraModel) -> FrameHands:
        """Hands in one HxWx3 uint8 RGB frame, 3D by PnP with `camera` (unplaceable ones left out)."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            return FrameHands(error=f"not an HxWx3 uint8 RGB frame: shape {frame.shape}, dtype {frame.dtype}")
        h, w = frame.shape[:2]
        result = self._process(frame)
        if not result.multi_hand_landmarks:
            return FrameHands()
        K = camera.K
        hands = []
        for lm2d, lm3d, handed in zip(
            result.multi_hand_landmarks,
            result.multi_hand_world_landmarks,
            result.multi_handedness,
            strict=True,
        ):
            kp2d = np.array([(p.x * w, p.y * h) for p in lm2d.landmark], np.float64)
            world = np.array([(p.x, p.y, p.z) for p in lm3d.landmark], np.float64)
            kp3d = place_with_pnp(world, kp2d, K)
            if kp3d is None:
                continue
            label = handed.classification[0].label
            right = (label == "Right") if self.mirrored else (label == "Left")
            center, size = keypoint_box(kp2d)
            hands.append(
                HandDetection(
                    right=right,
                    kp3d=kp3d,
                    # The detector's own 2D landmarks; `project(kp3d, K)` differs by the PnP residual.
                    kp2d=kp2d,
                    box_center=center,
                    box_size=size,
                    confidence=float(handed.classification[0].score),
                )
            )
        return FrameHands(tuple(hands))

    def detect(self, frames: Sequence[np.ndarray], cameras: Sequence[CameraModel]) -> list[FrameHands]:
        """`detect_one` for each frame with its camera, in order."""
        return [self.detect_one(f, c) for f, c in zip(frames, cameras, strict=True)]


def reprojection_error(hand: HandDetection, camera: CameraModel) -> float:
    """Mean pixel distance between the hand's 2D keypoints and its projected 3D keypoints."""
    return float(np.linalg.norm(project(hand.kp3d, camera.K) - hand.kp2d, axis=1).mean())
