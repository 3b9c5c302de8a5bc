"""Camera intrinsics/extrinsics read from a real recording on a real Rerun server, and the hand overlay log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rerun as rr
from hands_fixtures import rhd_samples

from lerobot_nb.enrich.hands import HandPoseConfig, run_hands
from lerobot_nb.enrich.hands.backend import FrameHands, HandDetection
from lerobot_nb.enrich.hands.geometry import SKELETON
from lerobot_nb.enrich.hands.intrinsics import CameraModel, camera_from_recording
from lerobot_nb.enrich.hands.rerun_log import log_hands_to_rerun
from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.frames import ArrayFrames
from lerobot_nb.query import read_stream
from lerobot_nb.server import RecordingServer, ServerConfig

pytestmark = pytest.mark.xdist_group("hands_rerun")
NS = 1_000_000_000


class ReplayBackend:
    """A backend that returns the ground truth of the RHD frames it was built with (by frame bytes)."""

    name = "replay"

    def __init__(self) -> None:
        self.truth = {s.image.tobytes(): s for s in rhd_samples()}
        self.cameras: list[CameraModel] = []

    def detect(self, frames, cameras):  # type: ignore[no-untyped-def]
        self.cameras += list(cameras)
        out = []
        for f in frames:
            s = self.truth.get(f.tobytes())
            if s is None:
                out.append(FrameHands())
                continue
            out.append(
                FrameHands(
                    (HandDetection(s.right, s.joint_cam, s.keypoints, np.array([160.0, 160.0]), 100.0),)
                )
            )
        return out

    def close(self) -> None:
        pass


def _write_camera_recording(path: Path, K: np.ndarray, pose: np.ndarray, image: np.ndarray) -> None:
    rec = rr.RecordingStream("lerobot_nb_test", recording_id="hands_cam")
    rec.save(path)
    rec.log("/world/cam", rr.Transform3D(translation=pose[:3, 3], mat3x3=pose[:3, :3]), static=True)
    rec.log("/world/cam/image", rr.Pinhole(image_from_camera=K, resolution=[640, 640]), static=True)
    for k in range(3):
        rec.set_time("real_time", timestamp=np.datetime64(k * NS // 10, "ns"))
        rec.log("/world/cam/image", rr.Image(image))
    rec.flush()
    rec.disconnect()


def test_intrinsics_and_pose_from_recording(tmp_path: Path) -> None:
    s = rhd_samples()[0]
    K = np.array(
        [[598.0, 0, 330.0], [0, 596.0, 310.0], [0, 0, 1]]
    )  # non-square, off-centre: catches transposes
    pose = np.eye(4)
    pose[:3, :3] = [[0, 0, 1], [-1, 0, 0], [0, -1, 0]]
    pose[:3, 3] = [0.5, -1.0, 2.0]
    rrd = tmp_path / "cam.rrd"
    _write_camera_recording(rrd, K, pose, s.image)
    with RecordingServer(ServerConfig(recordings=(str(rrd),))) as server:
        ep = server.episodes[0]
        cam = camera_from_recording(server.dataset, ep, "/world/cam/image", index="real_time")
        assert camera_from_recording(server.dataset, ep, "/nothing/here", index="real_time") is None
    assert cam is not None and cam.source == "recording /world/cam/image"
    assert (cam.width, cam.height) == (640, 640)
    np.testing.assert_allclose(cam.K, K)
    assert cam.camera_to_world is not None
    np.testing.assert_allclose(cam.camera_to_world, pose, atol=1e-6)
    # The recorded camera is 640x640; frames of 320x320 scale the intrinsics by 1/2.
    half = cam.for_size(320, 320)
    assert (half.fx, half.fy, half.px, half.py) == pytest.approx((299.0, 298.0, 165.0, 155.0))

    # Enrichment uses it (scaled to the frame), applies the pose and says where K came from.
    backend = ReplayBackend()
    episode = AlignedEpisode(
        "e", 10, "real_time", np.arange(2) * NS // 10, {}, {"front": ArrayFrames([s.image] * 2)}
    )
    result = run_hands(episode, HandPoseConfig(camera="front"), backend, camera_model=cam)  # type: ignore[arg-type]
    assert backend.cameras[0].fx == pytest.approx(299.0)
    world = result.episode.numeric["observation.hands.left.kp3d_world"][0].reshape(21, 3)
    np.testing.assert_allclose(world, s.joint_cam @ pose[:3, :3].T + pose[:3, 3], atol=1e-5)
    assert any("intrinsics from recording /world/cam/image" in n for n in result.notes)


def test_camera_without_intrinsics_falls_back_and_says_so() -> None:
    s = rhd_samples()[0]
    backend = ReplayBackend()
    episode = AlignedEpisode("e", 10, "real_time", np.arange(1), {}, {"front": ArrayFrames([s.image])})
    result = run_hands(episode, HandPoseConfig(), backend)  # type: ignore[arg-type]
    cam = backend.cameras[0]
    assert cam.is_default and cam.fx == pytest.approx(5000 / 256 * 320) and (cam.px, cam.py) == (160, 160)
    assert any("no intrinsics" in n and "5000/256*max(W,H)" in n for n in result.notes)
    assert any("kp3d_world equals the camera-frame kp3d" in n for n in result.notes)
    report = result.episode.report
    assert report.filter(report["stream"] == "hands/front").height == len(result.notes)


def test_overlay_logged_for_the_viewer(tmp_path: Path) -> None:
    samples = rhd_samples()
    frames = [samples[0].image, np.zeros_like(samples[0].image), samples[2].image]
    ticks = np.array([0, 1, 2]) * NS // 10 + 1_700_000_000 * NS
    episode = AlignedEpisode("e", 10, "real_time", ticks, {}, {"front": ArrayFrames(frames)})
    enriched = run_hands(episode, HandPoseConfig(), ReplayBackend()).episode  # type: ignore[arg-type]
    rrd = tmp_path / "hands.rrd"
    rec = rr.RecordingStream("lerobot_nb_test", recording_id="hands_overlay")
    rec.save(rrd)
    log_hands_to_rerun(enriched, recording=rec, log_images=True, timeline_kind="timestamp")
    rec.flush()
    rec.disconnect()
    with RecordingServer(ServerConfig(recordings=(str(rrd),))) as server:
        ep = server.episodes[0]
        left = read_stream(server.dataset, ep, "/camera/front/hands/left:Points2D:positions", "real_time")
        bones = read_stream(
            server.dataset, ep, "/camera/front/hands/left/bones:LineStrips2D:strips", "real_time"
        )
        right3d = read_stream(server.dataset, ep, "/world/hands/right:Points3D:positions", "real_time")
        images = read_stream(server.dataset, ep, "/camera/front:Image:buffer", "real_time")
    # Frames without the left hand log a Clear: the points are emptied, not left stale.
    assert list(left.times) == list(ticks) and [len(v.as_py() or []) for v in left.values] == [21, 0, 0]
    np.testing.assert_allclose(np.array(left.values[0].as_py()), samples[0].keypoints, atol=1e-3)
    assert len(bones.values[0].as_py()) == len(SKELETON)
    assert [len(v.as_py() or []) for v in right3d.values] == [0, 0, 21]
    np.testing.assert_allclose(np.array(right3d.values[2].as_py()), samples[2].joint_cam, atol=1e-5)
    assert len(images) == 3
