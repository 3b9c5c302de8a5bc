"""Log hand results to Rerun: 2D keypoints + bones over the camera image, 3D keypoints in the world.

Entity layout (so a viewer on `<camera_entity>` overlays the hands on the video):
`<camera_entity>/hands/{left,right}` Points2D + LineStrips2D (pixels of that frame) and
`<world_entity>/hands/{left,right}` Points3D + LineStrips3D (metres, `kp3d_world`). Frames
without the hand log `Clear` so stale keypoints do not linger.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from lerobot_nb.enrich.hands.enrich import SIDES
from lerobot_nb.enrich.hands.geometry import SKELETON
from lerobot_nb.episode import AlignedEpisode

__all__ = ["log_hands_to_rerun"]

_COLORS = {"left": (80, 160, 255), "right": (255, 120, 60)}


def _strips(points: np.ndarray) -> list[np.ndarray]:
    return [points[[a, b]] for a, b in SKELETON]


def log_hands_to_rerun(
    episode: AlignedEpisode,
    *,
    camera: str | None = None,
    camera_entity: str | None = None,
    world_entity: str = "/world",
    prefix: str = "observation.hands",
    recording: Any = None,
    log_images: bool = False,
    timeline: str | None = None,
    timeline_kind: Literal["timestamp", "sequence", "duration"] = "duration",
) -> None:
    """Log the hand features of an enriched episode tick by tick to `recording` (default: global).

    Time: every tick is logged on `frame_index` (sequence) and on `timeline` (default the
    episode's index name) as `ticks[k]` (ns for timestamp timelines) or, for `duration`, k/fps
    seconds. With `log_images` the camera frames are logged too (as `Image` at `camera_entity`).
    """
    import rerun as rr

    key = camera or (next(iter(episode.images)) if episode.images else "camera")
    cam_entity = camera_entity or f"/camera/{key}"
    timeline = timeline or episode.index
    rec = {"recording": recording} if recording is not None else {}
    frames = iter(episode.images[key]) if log_images and key in episode.images else None
    for k in range(episode.length):
        rr.set_time("frame_index", sequence=k, **rec)
        if timeline_kind == "timestamp":
            rr.set_time(timeline, timestamp=np.datetime64(int(episode.ticks[k]), "ns"), **rec)
        elif timeline_kind == "sequence":
            rr.set_time(timeline, sequence=int(episode.ticks[k]), **rec)
        else:
            rr.set_time(timeline, duration=k / episode.fps, **rec)
        if frames is not None:
            rr.log(cam_entity, rr.Image(next(frames)), **rec)
        for side in SIDES:
            base = f"{prefix}.{side}"
            if f"{base}.present" not in episode.numeric:
                continue
            e2d, e3d = f"{cam_entity}/hands/{side}", f"{world_entity}/hands/{side}"
            if episode.numeric[f"{base}.present"][k, 0] <= 0:
                rr.log(e2d, rr.Clear(recursive=True), **rec)
                rr.log(e3d, rr.Clear(recursive=True), **rec)
                continue
            kp2d = episode.numeric[f"{base}.kp2d"][k].reshape(21, 2)
            kp3d = episode.numeric[f"{base}.kp3d_world"][k].reshape(21, 3)
            color = _COLORS[side]
            ids = list(range(21))
            rr.log(e2d, rr.Points2D(kp2d, colors=color, keypoint_ids=ids, radii=2.0), **rec)
            rr.log(f"{e2d}/bones", rr.LineStrips2D(_strips(kp2d), colors=color), **rec)
            rr.log(e3d, rr.Points3D(kp3d, colors=color, keypoint_ids=ids, radii=0.005), **rec)
            rr.log(f"{e3d}/bones", rr.LineStrips3D(_strips(kp3d), colors=color), **rec)
