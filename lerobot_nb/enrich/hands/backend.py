"""The backend interface: frames in, per-frame hand detections (camera frame, pixels) out."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np

from lerobot_nb.enrich.hands.intrinsics import CameraModel

__all__ = ["BackendResource", "FrameHands", "HandBackend", "HandDetection", "ReportsMessages"]


@dataclass(frozen=True)
class HandDetection:
    """One detected hand in one frame.

    `kp3d` (21,3) metres in the camera frame (OpenCV axes), already un-mirrored for left hands;
    `kp2d` (21,2) pixels of the frame it came from; `box_center` (2,) px and `box_size` px the
    square detection box; `confidence` in [0, 1]; `mano` MANO parameters when the backend has
    them (`global_orient` (1,3,3), `hand_pose` (15,3,3), `betas` (10,)), left hands mirrored back
    with R -> M R M.
    """

    right: bool
    kp3d: np.ndarray
    kp2d: np.ndarray
    box_center: np.ndarray
    box_size: float
    confidence: float = 1.0
    mano: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def side(self) -> str:
        """`"right"` or `"left"`."""
        return "right" if self.right else "left"


@dataclass(frozen=True)
class FrameHands:
    """What a backend found in one frame: zero or more hands, or an error text (frame kept, no hand)."""

    hands: tuple[HandDetection, ...] = ()
    error: str | None = None


@runtime_checkable
class HandBackend(Protocol):
    """Finds hands in RGB frames. `detect` returns exactly one `FrameHands` per input frame, in order.

    `cameras[i]` is the camera model for frame i at that frame's size (the enrichment step
    resolves it: given, from the recording, or `default_camera`, HaMeR's scaled focal length).
    """

    name: str

    def detect(self, frames: Sequence[np.ndarray], cameras: Sequence[CameraModel]) -> list[FrameHands]:
        """Hands per HxWx3 uint8 RGB frame: one `FrameHands` per frame, in order (a bad one gets an error)."""

    def close(self) -> None:
        """Release the backend's resources; calling it again does nothing."""


@runtime_checkable
class ReportsMessages(Protocol):
    """A backend that collects messages worth a report line (its native log, a fallback it took)."""

    def take_messages(self) -> list[str]:
        """The messages since the last call, oldest first (the backend forgets them)."""
        ...


class BackendResource:
    """Context-manager plumbing for backends holding one resource (a socket, a graph) in `_resource`,
    and a list of report-worthy messages (`take_messages`)."""

    _resource: Any = None
    _messages: list[str] | None = None

    def _note(self, message: str) -> None:
        """Keep `message` for the report (once: a repeated message is not added again)."""
        if self._messages is None:
            self._messages = []
        if message not in self._messages:
            self._messages.append(message)

    def take_messages(self) -> list[str]:
        """Messages noted since the last call, oldest first, no repeats (the list is then emptied)."""
        taken, self._messages = self._messages or [], None
        return taken

    def _release(self) -> None:
        """Close the held resource (errors while closing are ignored) and forget it."""
        if self._resource is not None:
            with contextlib.suppress(Exception):
                self._resource.close()
            self._resource = None

    def close(self) -> None:
        """Release the held resource; safe to call again."""
        self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
