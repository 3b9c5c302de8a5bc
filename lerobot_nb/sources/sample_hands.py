"""The hand demonstration: a drawn human hand does the PushT episode's pushing, with its keypoints as truth.

The simulation is the PushT sample's (same seed, same pushes); only the pictures change: the
pusher disc is left out and a left hand seen from above (`hand_render`) pushes with its index
fingertip at the pusher's position, the arm coming from the demonstrator, who stands at the side
of the table that keeps the hand in view longest in that episode. The wrist camera is cropped from the same picture. The drawn joints of every top
camera frame are the ground truth (`truth/<episode>.npz`, and `/camera/top/hand_truth` as
Points2D in the recording so the viewer draws them over the video).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.hand_render import hand_keypoints, render_hand
from lerobot_nb.sources.pusht_sim import WRIST_FIELD, PushTEpisode, crop_around

if TYPE_CHECKING:
    import rerun as rr

__all__ = [
    "HAND_ENTITY",
    "HandTruth",
    "draw_hand_episode",
    "hand_track",
    "log_hand_truth",
    "read_hand_truth",
    "write_hand_truth",
]

#: Entity of the drawn keypoints (a child of the top camera, so the viewer overlays them).
HAND_ENTITY = "/camera/top/hand_truth"
#: Wrist-to-middle-fingertip length as a fraction of the top image side (~19 cm on a ~45 cm table).
HAND_LENGTH = 0.42
#: Where the demonstrator's shoulder can be, as fractions of the image (x, y): beyond one of the
#: four edges (bottom first: ties go to the earlier side).
SHOULDERS = ((0.5, 1.6), (1.6, 0.5), (0.5, -0.6), (-0.6, 0.5))


@dataclass(frozen=True)
class HandTruth:
    """The drawn hand of one episode: top camera frame i (at `times_ns[i]`) shows `keypoints[i]`.

    `keypoints` is (N, 21, 2) float32 pixels of the top image (OpenPose/MediaPipe joint order);
    `left` says which hand was drawn; `image_size` is the top image side in pixels.
    """

    times_ns: np.ndarray
    keypoints: np.ndarray
    left: bool
    image_size: int

    def in_view(self) -> np.ndarray:
        """(N,) bool: every joint of frame i lies inside the image."""
        k = self.keypoints
        inside: np.ndarray = np.all((k >= 0) & (k < self.image_size), axis=(1, 2))
        return inside

    def at(self, ticks_ns: np.ndarray) -> np.ndarray:
        """(T, 21, 2) keypoints of the frame shown at each tick (latest frame at or before it; NaN before the first)."""
        i = np.searchsorted(self.times_ns, np.asarray(ticks_ns, np.int64), side="right") - 1
        out = self.keypoints[np.maximum(i, 0)].astype(np.float64)
        out[i < 0] = np.nan
        return out


def _reach_from(sim: PushTEpisode, image_size: int, shoulder: np.ndarray) -> np.ndarray:
    """(K_render, 21, 2) keypoints with the index fingertip on the pusher and the arm from `shoulder` (px)."""
    out = np.empty((len(sim.render_steps), 21, 2), np.float64)
    for j, step in enumerate(sim.render_steps):
        tip = sim.state[step, :2] * image_size / 512
        reach = tip - shoulder
        # A slow, small fanning of the fingers, so consecutive frames are not just shifted copies.
        spread = 0.1 + 0.04 * math.sin(step / 50)
        angle = math.atan2(reach[0], -reach[1])
        out[j] = hand_keypoints(tip, angle, HAND_LENGTH * image_size, left=True, spread=spread)
    return out


def hand_track(sim: PushTEpisode, image_size: int) -> np.ndarray:
    """(K_render, 21, 2) keypoints for each rendered step, from the side that keeps the hand in view longest."""
    best, best_share = np.empty((0, 21, 2)), -1.0
    for shoulder in SHOULDERS:
        track = _reach_from(sim, image_size, np.array(shoulder) * image_size)
        share = float(np.all((track >= 0) & (track < image_size), axis=(1, 2)).mean()) if len(track) else 0.0
        if share > best_share:
            best, best_share = track, share
    return best


def draw_hand_episode(sim: PushTEpisode, wrist_size: int) -> tuple[PushTEpisode, np.ndarray]:
    """`sim` with the hand drawn into its top frames and the wrist frames cropped from them; the keypoints.

    `sim` must have been rendered without the agent (`simulate_pusht(..., draw_agent=False)`).
    """
    import cv2

    size = sim.top.shape[1]
    keypoints = hand_track(sim, size)
    top = np.stack([render_hand(f, k, HAND_LENGTH * size) for f, k in zip(sim.top, keypoints, strict=True)])
    wrist_scale = round(512 / WRIST_FIELD * wrist_size)  # full-table size at the wrist camera's scale
    wrists = [
        crop_around(
            cv2.resize(frame, (wrist_scale, wrist_scale), interpolation=cv2.INTER_AREA),
            sim.state[step, :2] * wrist_scale / 512,
            wrist_size,
        )
        for frame, step in zip(top, sim.render_steps, strict=True)
    ]
    wrist = np.stack(wrists) if wrists else sim.wrist
    return dataclasses.replace(sim, top=top, wrist=wrist), keypoints.astype(np.float32)


def log_hand_truth(rec: rr.RecordingStream, timeline: str, truth: HandTruth) -> None:
    """Log the drawn keypoints as Points2D at the top camera's timestamps."""
    import rerun as rr

    rec.send_columns(
        HAND_ENTITY,
        indexes=[rr.TimeColumn(timeline, timestamp=truth.times_ns.astype("datetime64[ns]"))],
        columns=rr.Points2D.columns(positions=truth.keypoints.reshape(-1, 2)).partition(
            [21] * len(truth.times_ns)
        ),
    )


def write_hand_truth(path: Path, truth: HandTruth) -> None:
    """Save `truth` as an npz at `path` (parent folders created), as `read_hand_truth` reads it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        np.savez(
            f,
            times_ns=truth.times_ns,
            keypoints=truth.keypoints,
            left=truth.left,
            image_size=truth.image_size,
        )


def read_hand_truth(folder: str | Path, episode: str) -> HandTruth:
    """The drawn keypoints of `episode` in a hand sample set (`folder` is the set or its `rrd/`)."""
    folder = Path(folder)
    root = folder.parent if folder.name == "rrd" else folder
    path = root / "truth" / f"{episode}.npz"
    if not path.is_file():
        raise LerobotNbError(
            "no hand truth for this episode (not a hand sample set?)", file=path, episode=episode
        )
    with np.load(path) as z:
        return HandTruth(z["times_ns"], z["keypoints"], bool(z["left"]), int(z["image_size"]))
