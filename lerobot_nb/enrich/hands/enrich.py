"""The enrichment step: run a hand backend over one camera of an aligned episode, add per-frame features."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from lerobot_nb.config import help_field, warn_deprecated
from lerobot_nb.enrich.hands.backend import HandBackend, HandDetection, ReportsMessages
from lerobot_nb.enrich.hands.filter import select_hands, smooth_track
from lerobot_nb.enrich.hands.geometry import JOINT_NAMES, apply_transform
from lerobot_nb.enrich.hands.intrinsics import CameraModel, default_camera
from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.errors import LerobotNbError

__all__ = [
    "SIDES",
    "HandPoseConfig",
    "HandsResult",
    "enrich_hands",
    "hand_feature_names",
    "make_backend",
    "run_hands",
]

SIDES = ("left", "right")
#: MANO parameter features (flattened sizes) added for backends that estimate them (HaMeR).
MANO_SIZES = {"mano.global_orient": 9, "mano.hand_pose": 135, "mano.betas": 10}


@dataclass(frozen=True, kw_only=True)
class HandPoseConfig:
    """Hand-pose enrichment of one camera per episode (flags `--backend`, `--hamer-host`, ...)."""

    backend: Literal["mediapipe", "hamer"] = help_field(
        "mediapipe", "hand estimator: embedded MediaPipe on CPU, or a HaMeR websocket server"
    )
    camera: str | None = help_field(None, "camera key to look at (default: the episode's only/first camera)")
    hamer_host: str = help_field("127.0.0.1", "HaMeR server host (alias --hamer.host)")
    hamer_port: int = help_field(8765, "HaMeR server port (alias --hamer.port)")
    hamer_timeout_s: float = help_field(30.0, "seconds to wait for one HaMeR answer before reconnecting")
    hamer_retries: int = help_field(3, "reconnect/resend attempts per frame before it is marked failed")
    hand_batch_size: int = help_field(8, "frames in flight per request batch")
    batch_size: int | None = help_field(None, "deprecated: --hand-batch-size", deprecated="hand_batch_size")
    min_confidence: float = help_field(0.5, "drop detections below this confidence")
    duplicate_threshold: float = help_field(
        0.1,
        "two detections are one hand when mean keypoint distance / largest box side is below this "
        "(real interacting hands measure 0.18-0.39 on InterHand2.6M, so 0.5 would merge them)",
    )
    smoothing: float = help_field(0.0, "temporal exponential smoothing factor in [0, 1) (0 = off)")
    static_image_mode: bool = help_field(False, "MediaPipe: detect in every frame instead of tracking")
    mirrored: bool = help_field(False, "the camera image is mirrored (selfie view): keeps MediaPipe's labels")
    focal_length: tuple[float, ...] = help_field(
        (), "camera focal length in px (fx, or fx then fy); default: the recording's Pinhole, else HaMeR's"
    )
    principal_point: tuple[float, ...] = help_field((), "principal point px py (default: image centre)")
    camera_to_world: tuple[float, ...] = help_field(
        (),
        "16 numbers, row-major 4x4 camera-to-world pose (default: the recording's Transform3D, else identity)",
    )
    intrinsics_entity: str | None = help_field(
        None, "recording entity with the camera's Pinhole/Transform3D (default: the camera's image entity)"
    )
    feature_prefix: str = help_field("observation.hands", "prefix of the added feature keys")

    def __post_init__(self) -> None:
        if self.batch_size is not None:  # `batch_size` also names validate's DataLoader batch
            warn_deprecated("HandPoseConfig.batch_size", "hand_batch_size")
            object.__setattr__(self, "hand_batch_size", self.batch_size)
            object.__setattr__(self, "batch_size", None)
        if not 0.0 <= self.smoothing < 1.0:
            raise LerobotNbError(f"parameter smoothing={self.smoothing} must be in [0, 1)")
        if len(self.focal_length) not in (0, 1, 2):
            raise LerobotNbError("parameter focal_length takes one (fx) or two (fx fy) values")
        if len(self.principal_point) not in (0, 2):
            raise LerobotNbError("parameter principal_point takes two values (px py)")
        if len(self.camera_to_world) not in (0, 16):
            raise LerobotNbError("parameter camera_to_world takes 16 values (row-major 4x4)")

    def given_camera(self, width: int, height: int) -> CameraModel | None:
        """The camera the parameters describe for a `width` x `height` image, or None."""
        pose = np.asarray(self.camera_to_world, np.float64).reshape(4, 4) if self.camera_to_world else None
        if not self.focal_length:
            return (
                dataclasses.replace(default_camera(width, height), camera_to_world=pose)
                if pose is not None
                else None
            )
        fx, fy = (self.focal_length * 2)[:2]
        px, py = self.principal_point or (width / 2.0, height / 2.0)
        return CameraModel(width, height, fx, fy, px, py, camera_to_world=pose, source="given")


@dataclass(frozen=True)
class HandsResult:
    """The enriched episode, a per-frame table (frame_index, width, height, detections, dropped,
    left, right, error) and the notes that were appended to the episode's report."""

    episode: AlignedEpisode
    frames: pl.DataFrame
    notes: tuple[str, ...]
    camera: CameraModel | None


def make_backend(config: HandPoseConfig) -> HandBackend:
    """The backend `config.backend` names, configured from `config`."""
    if config.backend == "hamer":
        from lerobot_nb.enrich.hands.hamer_client import HamerClient

        return HamerClient(
            config.hamer_host,
            config.hamer_port,
            timeout_s=config.hamer_timeout_s,
            retries=config.hamer_retries,
            batch_size=config.hand_batch_size,
        )
    from lerobot_nb.enrich.hands.mediapipe_backend import MediaPipeBackend

    return MediaPipeBackend(static_image_mode=config.static_image_mode, mirrored=config.mirrored)


def hand_feature_names(prefix: str, *, mano: bool) -> dict[str, tuple[str, ...]]:
    """Feature key -> per-dimension names, for both sides, in the order they are added."""
    xyz = tuple(f"{j}.{a}" for j in JOINT_NAMES for a in "xyz")
    uv = tuple(f"{j}.{a}" for j in JOINT_NAMES for a in "uv")
    out: dict[str, tuple[str, ...]] = {}
    for side in SIDES:
        base = f"{prefix}.{side}"
        out |= {
            f"{base}.kp3d": xyz,
            f"{base}.kp3d_world": xyz,
            f"{base}.kp2d": uv,
            f"{base}.box": ("center_u", "center_v", "size"),
            f"{base}.confidence": ("confidence",),
            f"{base}.present": ("present",),
        }
        if mano:
            out |= {
                f"{base}.{k}": tuple(f"{k.split('.')[1]}_{i}" for i in range(n))
                for k, n in MANO_SIZES.items()
            }
    return out


def _hand_row(h: HandDetection, pose: np.ndarray | None) -> dict[str, np.ndarray]:
    world = apply_transform(pose, h.kp3d) if pose is not None else h.kp3d
    row = {
        "kp3d": h.kp3d.reshape(-1),
        "kp3d_world": world.reshape(-1),
        "kp2d": h.kp2d.reshape(-1),
        "box": np.array([h.box_center[0], h.box_center[1], h.box_size]),
        "confidence": np.array([h.confidence]),
        "present": np.ones(1),
    }
    row |= {k: np.asarray(v).reshape(-1) for k, v in h.mano.items() if k in MANO_SIZES}
    return row


def _batches(frames: Iterable[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    it = iter(frames)
    while batch := list(itertools.islice(it, size)):
        yield batch


def run_hands(
    episode: AlignedEpisode,
    config: HandPoseConfig,
    backend: HandBackend | None = None,
    *,
    camera_model: CameraModel | None = None,
) -> HandsResult:
    """Detect hands in every frame of one camera and add `<prefix>.<side>.<feature>` numeric features.

    Frames are never dropped: a frame without a hand (or whose detection failed) has `present` 0
    and zeros elsewhere. Camera: `config.focal_length` (given), else `camera_model` (from the
    recording), else HaMeR's default focal length, which is noted in the report. `kp3d` is in the
    camera frame, `kp3d_world` applies the camera-to-world pose (identity when unknown, noted).
    """
    where = {"file": episode.source or None, "episode": episode.episode_id}
    if not episode.images:
        raise LerobotNbError("episode has no camera to look for hands in", **where)
    key = config.camera or next(iter(episode.images))
    if key not in episode.images:
        raise LerobotNbError(f"no camera {key!r}; cameras: {', '.join(episode.images)}", **where)
    source = episode.images[key]
    where["stream"] = key
    own_backend = backend is None
    backend = backend or make_backend(config)
    T = episode.length
    mano = backend.name == "hamer"
    names = hand_feature_names(config.feature_prefix, mano=mano)
    arrays = {k: np.zeros((T, len(v)), np.float32) for k, v in names.items()}
    rows: list[dict[str, object]] = []
    sizes: dict[tuple[int, int], int] = {}
    used: CameraModel | None = None
    try:
        for batch in _batches(source, config.hand_batch_size):
            cams = []
            for frame in batch:
                h, w = frame.shape[:2]
                sizes[(w, h)] = sizes.get((w, h), 0) + 1
                given = config.given_camera(w, h)
                cams.append(given or (camera_model.for_size(w, h) if camera_model else default_camera(w, h)))
            used = used or cams[0]
            try:
                results = backend.detect(batch, cams)
            except LerobotNbError as exc:
                raise exc.with_context(**where) from None
            for frame, cam, res in zip(batch, cams, results, strict=True):
                t = len(rows)
                kept, dropped = select_hands(
                    res.hands,
                    duplicate_threshold=config.duplicate_threshold,
                    min_confidence=config.min_confidence,
                )
                if t < T:
                    for side, hand in kept.items():
                        for name, value in _hand_row(hand, cam.camera_to_world).items():
                            arrays[f"{config.feature_prefix}.{side}.{name}"][t] = value
                rows.append(
                    dict(
                        frame_index=t,
                        width=frame.shape[1],
                        height=frame.shape[0],
                        detections=len(res.hands),
                        dropped=dropped,
                        left="left" in kept,
                        right="right" in kept,
                        error=res.error,
                    )
                )
    finally:
        said = backend.take_messages() if isinstance(backend, ReportsMessages) else []
        if own_backend:
            backend.close()
    if len(rows) != T:
        raise LerobotNbError(f"camera yielded {len(rows)} frames for {T} ticks", **where)
    if config.smoothing > 0:
        for side in SIDES:
            present = arrays[f"{config.feature_prefix}.{side}.present"][:, 0] > 0
            for name in ("kp3d", "kp3d_world", "kp2d", "box"):
                f = f"{config.feature_prefix}.{side}.{name}"
                arrays[f] = smooth_track(arrays[f], present, config.smoothing)
    frames = pl.DataFrame(rows, schema_overrides={"error": pl.String}) if rows else pl.DataFrame()
    notes = _notes(key, backend.name, frames, sizes, used, T) + tuple(said)
    report_rows = pl.DataFrame({"stream": [f"hands/{key}"] * len(notes), "note": list(notes)})
    report = (
        pl.concat([episode.report, report_rows], how="diagonal_relaxed")
        if episode.report.width
        else report_rows
    )
    enriched = dataclasses.replace(
        episode,
        numeric={**episode.numeric, **arrays},
        names={**episode.names, **names},
        report=report,
    )
    return HandsResult(enriched, frames, notes, used)


def _notes(
    key: str,
    backend: str,
    frames: pl.DataFrame,
    sizes: dict[tuple[int, int], int],
    cam: CameraModel | None,
    T: int,
) -> tuple[str, ...]:
    notes = [f"{backend} on camera {key}: {T} frames"]
    if cam is None or cam.is_default:
        notes.append(
            "camera has no intrinsics (no Pinhole in the recording, no --focal-length): using HaMeR's scaled "
            "focal length 5000/256*max(W,H) with the principal point at the image centre; 3D depth is approximate"
        )
    else:
        notes.append(
            f"camera intrinsics from {cam.source}: fx={cam.fx:.1f} fy={cam.fy:.1f} px={cam.px:.1f} py={cam.py:.1f}"
        )
    if cam is None or cam.camera_to_world is None:
        notes.append("no camera-to-world pose: kp3d_world equals the camera-frame kp3d")
    if len(sizes) > 1:
        listed = ", ".join(f"{w}x{h} ({n})" for (w, h), n in sorted(sizes.items(), key=lambda s: -s[1]))
        notes.append(f"frame size changes within the episode: {listed}; keypoints are in each frame's pixels")
    if T and frames.height:
        left, right = int(frames["left"].sum()), int(frames["right"].sum())
        none = int((~frames["left"] & ~frames["right"]).sum())
        notes.append(f"left hand in {left}/{T} frames, right hand in {right}/{T}, no hand in {none}/{T}")
        if left == 0 and right == 0:
            notes.append(f"no hand found in any frame of camera {key}: all hand features are zero, present=0")
        dropped = int(frames["dropped"].sum())
        if dropped:
            notes.append(f"dropped {dropped} duplicate, extra or low-confidence detection(s)")
        errors = frames.filter(pl.col("error").is_not_null())
        if errors.height:
            notes.append(
                f"{errors.height} frame(s) failed and were kept without hands; first (frame "
                f"{errors['frame_index'][0]}): {errors['error'][0]}"
            )
    return tuple(notes)


def enrich_hands(
    episode: AlignedEpisode,
    config: HandPoseConfig | None = None,
    backend: HandBackend | None = None,
    *,
    camera_model: CameraModel | None = None,
) -> AlignedEpisode:
    """`run_hands(...).episode`: the episode with hand features added and notes in its report."""
    return run_hands(episode, config or HandPoseConfig(), backend, camera_model=camera_model).episode
