"""Hand pose: HaMeR-style geometry, a HaMeR server client, MediaPipe on CPU, and the enrichment step.

Heavy backends load lazily: importing this package imports neither mediapipe nor websockets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lerobot_nb.enrich.hands.backend import FrameHands, HandBackend, HandDetection
from lerobot_nb.enrich.hands.enrich import HandPoseConfig, HandsResult, enrich_hands, make_backend, run_hands
from lerobot_nb.enrich.hands.intrinsics import CameraModel, camera_from_recording, default_camera

if TYPE_CHECKING:
    from lerobot_nb.enrich.hands.hamer_client import HamerClient
    from lerobot_nb.enrich.hands.mediapipe_backend import MediaPipeBackend
    from lerobot_nb.enrich.hands.rerun_log import log_hands_to_rerun

__all__ = [
    "CameraModel",
    "FrameHands",
    "HamerClient",
    "HandBackend",
    "HandDetection",
    "HandPoseConfig",
    "HandsResult",
    "MediaPipeBackend",
    "camera_from_recording",
    "default_camera",
    "enrich_hands",
    "log_hands_to_rerun",
    "make_backend",
    "run_hands",
]

_LAZY = {
    "HamerClient": "lerobot_nb.enrich.hands.hamer_client",
    "MediaPipeBackend": "lerobot_nb.enrich.hands.mediapipe_backend",
    "log_hands_to_rerun": "lerobot_nb.enrich.hands.rerun_log",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
