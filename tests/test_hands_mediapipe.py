"""MediaPipe backend on real photos, and one consistent OpenCV for lerobot, mediapipe and gym-pusht."""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from hands_fixtures import freihand_samples, rhd_samples

from lerobot_nb.enrich.hands.geometry import keypoint_box, project
from lerobot_nb.enrich.hands.intrinsics import CameraModel, default_camera
from lerobot_nb.enrich.hands.mediapipe_backend import MediaPipeBackend, place_by_scale, place_with_pnp

pytestmark = pytest.mark.xdist_group("mediapipe")


def test_one_opencv_serves_lerobot_and_mediapipe() -> None:
    """All of cv2's candidate distributions install the same package: exactly one may be present."""
    installed = []
    for name in (
        "opencv-python",
        "opencv-python-headless",
        "opencv-contrib-python",
        "opencv-contrib-python-headless",
    ):
        with contextlib.suppress(md.PackageNotFoundError):
            installed.append((name, md.version(name)))
    assert [n for n, _ in installed] == ["opencv-contrib-python-headless"], installed
    assert installed[0][1].startswith("4.")
    # Fresh interpreter: import order must not matter, and numpy 2 must work with mediapipe 0.10.14.
    code = (
        "import numpy, cv2, mediapipe\n"
        "from mediapipe.python.solutions import hands\n"
        "from lerobot.datasets.lerobot_dataset import LeRobotDataset\n"
        "import lerobot.datasets.video_utils\n"
        "from lerobot.cameras.opencv.camera_opencv import OpenCVCamera\n"  # lerobot's own cv2 user
        "import gym_pusht.envs.pusht\n"
        "from mediapipe.python.solutions import hands as h\n"
        "import numpy as np\n"
        "with h.Hands(static_image_mode=True) as det:\n"
        "    assert det.process(np.zeros((64, 64, 3), np.uint8)).multi_hand_landmarks is None\n"
        "assert hasattr(cv2, 'aruco') and hasattr(cv2, 'solvePnP')\n"
        "print(numpy.__version__, cv2.__version__, mediapipe.__version__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    numpy_v, cv2_v, mp_v = out.stdout.split()
    assert mp_v == "0.10.14" and numpy_v.startswith("2.") and cv2_v == installed[0][1].rsplit(".", 1)[0]


@pytest.fixture(scope="module")
def backend() -> Iterator[MediaPipeBackend]:
    with MediaPipeBackend(static_image_mode=True) as b:
        yield b


def test_rhd_hands_found_with_right_handedness(backend: MediaPipeBackend) -> None:
    """Measured: mean 2D error 18.5-24.4 px (0.20-0.31 of the box side) on RHD's rendered 320x320 hands."""
    for s in rhd_samples():
        cam = CameraModel(320, 320, s.K[0, 0], s.K[1, 1], s.K[0, 2], s.K[1, 2])
        res = backend.detect_one(s.image, cam)
        assert res.error is None and len(res.hands) == 1, s.file_name
        hand = res.hands[0]
        assert hand.right == s.right
        err = np.linalg.norm(hand.kp2d - s.keypoints, axis=1).mean()
        assert err < 0.35 * max(s.bbox[2], s.bbox[3]) and err < 30, (s.file_name, err)
        # PnP put it in front of the camera, consistent with its own 2D landmarks.
        assert np.all(hand.kp3d[:, 2] > 0.1)
        assert np.linalg.norm(project(hand.kp3d, cam.K) - hand.kp2d, axis=1).mean() < 8.0
        # Hand shape (root-relative joints) within 8 cm of the truth on average (measured 5.6-6.0).
        rel = (hand.kp3d - hand.kp3d[0]) - (s.joint_cam - s.joint_cam[0])
        assert np.linalg.norm(rel, axis=1).mean() < 0.08


def test_freihand_photos(backend: MediaPipeBackend) -> None:
    """Measured: 6 of 8 FreiHAND photos, mean 2D error 9.5-12.1 px on 224x224 (hand boxes ~104 px)."""
    found = 0
    for name, image, gt, _bbox in freihand_samples():
        res = backend.detect_one(image, default_camera(224, 224))
        if not res.hands:
            continue
        found += 1
        hand = res.hands[0]
        assert hand.right, name  # FreiHAND has right hands only
        err = np.linalg.norm(hand.kp2d - gt, axis=1).mean()
        assert err < 15.0, (name, err)
        center, _ = keypoint_box(hand.kp2d)
        np.testing.assert_allclose(hand.box_center, center)
    assert found >= 6


def test_pnp_recovers_a_known_pose() -> None:
    """Synthetic check of the PnP placement: RHD joints, centred, rotated and moved, then projected."""
    s = rhd_samples()[0]
    world = s.joint_cam - s.joint_cam.mean(axis=0)
    kp2d = project(s.joint_cam, s.K)
    cam = place_with_pnp(world, kp2d, s.K)
    assert cam is not None
    np.testing.assert_allclose(cam, s.joint_cam, atol=1e-6)


def test_no_hand_and_bad_frames(backend: MediaPipeBackend) -> None:
    blank = np.zeros((480, 640, 3), np.uint8)
    assert backend.detect_one(blank, default_camera(640, 640)).hands == ()
    bad = backend.detect_one(np.zeros((10, 10), np.uint8), default_camera(10, 10))
    assert bad.hands == () and bad.error is not None and "HxWx3 uint8" in bad.error


def test_pnp_degenerate_points_do_not_raise() -> None:
    """SQPnP asserts on (nearly) coincident points; the backend falls back instead of crashing."""
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    flat = np.zeros((21, 3))
    flat[:, 0] = np.linspace(0, 1e-4, 21)
    kp2d = np.stack([np.linspace(90, 110, 21), np.full(21, 100.0)], axis=1)
    placed = place_with_pnp(flat, kp2d, K)  # no exception, and in front of the camera
    assert placed is not None and np.all(placed[:, 2] > 0)
    assert place_with_pnp(np.full((21, 3), np.nan), np.zeros((21, 2)), K) is None


def test_enrichment_with_mediapipe_tracking_over_changing_sizes() -> None:
    """Tracking mode rebuilds the graph when the size changes; every frame is kept."""
    from lerobot_nb.enrich.hands import HandPoseConfig, run_hands
    from lerobot_nb.episode import AlignedEpisode
    from lerobot_nb.frames import ArrayFrames

    rhd = rhd_samples()
    fh = next(f for f in freihand_samples() if f[0] == "00017620.jpg")
    frames = [rhd[2].image, rhd[2].image, fh[1], np.zeros((48, 64, 3), np.uint8), rhd[0].image]
    episode = AlignedEpisode("mp", 10, "frame", np.arange(5), {}, {"cam": ArrayFrames(frames)})
    result = run_hands(episode, HandPoseConfig())
    ep = result.episode
    np.testing.assert_array_equal(ep.numeric["observation.hands.right.present"][:, 0], [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(ep.numeric["observation.hands.left.present"][:, 0], [0, 0, 0, 0, 1])
    assert list(result.frames["width"]) == [320, 320, 224, 64, 320]
    err = np.linalg.norm(ep.numeric["observation.hands.right.kp2d"][2].reshape(21, 2) - fh[2], axis=1).mean()
    assert err < 15.0
    assert "observation.hands.right.mano.betas" not in ep.numeric  # MediaPipe has no MANO
    assert any("frame size changes" in n for n in result.notes)


def test_scale_fallback_depth() -> None:
    """Similar triangles: a hand of known size seen fronto-parallel gets its depth back."""
    s = rhd_samples()[1]
    world = s.joint_cam - s.joint_cam.mean(axis=0)
    flat = s.joint_cam * [1, 1, 0] + [0, 0, 0.5]  # every joint at z = 0.5 m
    placed = place_by_scale(world * [1, 1, 0], project(flat, s.K), s.K)
    assert placed[:, 2].mean() == pytest.approx(0.5, rel=1e-6)
    np.testing.assert_allclose(project(placed, s.K), project(flat, s.K), atol=1e-6)
