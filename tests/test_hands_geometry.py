"""Hand geometry against ground truth: RHD camera-frame joints, InterHand2.6M world joints, fake HaMeR."""

from __future__ import annotations

from pathlib import PurePath

import numpy as np
import pytest
from fixture_files import fixture_names
from hands_fixtures import RHD, fake_hamer_answers, interhand_samples, rhd_samples

from lerobot_nb.enrich.hands.backend import HandDetection
from lerobot_nb.enrich.hands.filter import is_duplicate, select_hands, smooth_track
from lerobot_nb.enrich.hands.geometry import (
    JOINT_NAMES,
    MIRROR_X,
    SKELETON,
    apply_transform,
    cam_crop_to_full,
    extrinsics_from_world_to_camera,
    hamer_scaled_focal_length,
    intrinsic_matrix,
    invert_transform,
    keypoint_box,
    mirror_left_points,
    mirror_left_rotations,
    project,
    remap_hamer_keys,
)


def test_joint_order_and_skeleton() -> None:
    assert len(JOINT_NAMES) == 21 and JOINT_NAMES[0] == "wrist" and JOINT_NAMES[4] == "thumb_tip"
    assert JOINT_NAMES[8] == "index_tip" and JOINT_NAMES[20] == "pinky_tip"
    assert len(SKELETON) == 23 and all(0 <= a < 21 and 0 <= b < 21 for a, b in SKELETON)


@pytest.mark.parametrize("file_name", [PurePath(n).name for n in fixture_names(RHD, "*.png")])
def test_rhd_projection_reproduces_keypoints(file_name: str) -> None:
    sample = next(s for s in rhd_samples() if s.file_name == file_name)
    uv = project(sample.joint_cam, sample.K)
    assert np.abs(uv - sample.keypoints).max() < 0.1


def test_rhd_has_both_sides() -> None:
    assert {s.right for s in rhd_samples()} == {True, False}


def test_interhand_world_joints_land_in_boxes() -> None:
    n_hands = 0
    for s in interhand_samples():
        T_wc = extrinsics_from_world_to_camera(s["camrot"], s["campos"])
        K = intrinsic_matrix(*s["focal"], *s["princpt"])
        x, y, w, h = s["bbox"]
        for side in ("right", "left"):
            if not s[f"{side}_valid"]:
                continue
            world = s[f"{side}_world"]
            cam = apply_transform(invert_transform(T_wc), world)
            # Independent formula from the dataset's docs: Xc = R (Xw - C).
            np.testing.assert_allclose(cam, (world - s["campos"]) @ s["camrot"].T, atol=1e-9)
            np.testing.assert_allclose(apply_transform(T_wc, cam), world, atol=1e-6)  # camrot is float32
            uv = project(cam, K)
            assert np.all((uv[:, 0] >= x) & (uv[:, 0] <= x + w) & (uv[:, 1] >= y) & (uv[:, 1] <= y + h)), s[
                "file_name"
            ]
            n_hands += 1
    assert n_hands == 6  # two interacting pairs + one left + one right


def _detection(kp2d: np.ndarray, right: bool, confidence: float) -> HandDetection:
    center, size = keypoint_box(kp2d)
    return HandDetection(right, np.zeros((21, 3)), kp2d, center, size, confidence)


def _interhand_2d() -> list[dict[str, np.ndarray]]:
    out = []
    for s in interhand_samples():
        T_cw = invert_transform(extrinsics_from_world_to_camera(s["camrot"], s["campos"]))
        K = intrinsic_matrix(*s["focal"], *s["princpt"])
        out.append(
            {
                side: project(apply_transform(T_cw, s[f"{side}_world"]), K)
                for side in ("right", "left")
                if s[f"{side}_valid"]
            }
        )
    return out


def test_filter_keeps_two_interacting_hands() -> None:
    pairs = [h for h in _interhand_2d() if len(h) == 2]
    assert len(pairs) == 2
    for hands in pairs:
        dets = [_detection(hands["right"], True, 0.9), _detection(hands["left"], False, 0.8)]
        kept, dropped = select_hands(dets, duplicate_threshold=0.1)
        assert set(kept) == {"left", "right"} and dropped == 0
        assert kept["left"].kp2d is dets[1].kp2d


def test_spec_threshold_half_would_merge_praying_hands() -> None:
    """Measured on InterHand2.6M: two real interacting hands are 0.18 and 0.39 box sides apart."""
    ratios = sorted(
        float(np.linalg.norm(h["right"] - h["left"], axis=1).mean())
        / max(keypoint_box(h["right"])[1], keypoint_box(h["left"])[1])
        for h in _interhand_2d()
        if len(h) == 2
    )
    assert ratios[0] == pytest.approx(0.18, abs=0.01) and ratios[1] == pytest.approx(0.39, abs=0.01)


def test_filter_drops_double_detection_keeping_more_confident() -> None:
    rng = np.random.default_rng(0)
    for hands in _interhand_2d():
        side = next(iter(hands))
        true = hands[side]
        size = keypoint_box(true)[1]
        twin = true + rng.normal(0, 0.02 * size, true.shape)  # same hand, read as the other side
        for conf_true, conf_twin in ((0.9, 0.6), (0.6, 0.9)):
            dets = [
                _detection(true, side == "right", conf_true),
                _detection(twin, side != "right", conf_twin),
            ]
            assert is_duplicate(dets[0], dets[1], 0.1)
            kept, dropped = select_hands(dets, duplicate_threshold=0.1)
            assert dropped == 1 and len(kept) == 1
            winner = next(iter(kept.values()))
            assert winner.confidence == 0.9


def test_filter_one_hand_per_side_and_min_confidence() -> None:
    hands = _interhand_2d()[0]
    a = _detection(hands["right"], True, 0.7)
    b = _detection(hands["left"] + 500.0, True, 0.9)  # far away, also "right"
    c = _detection(hands["left"], False, 0.2)
    kept, dropped = select_hands([a, b, c], min_confidence=0.5)
    assert kept == {"right": b} and dropped == 2


def test_cam_crop_to_full_inverts_fake_hamer() -> None:
    for name, r in fake_hamer_answers().items():
        W, H = r["img_size"]
        f = float(r["scaled_focal_length"])
        t = cam_crop_to_full(
            r["pred_cam"], r["box_center"], r["box_size"], r["right"], focal=f, principal=(W / 2, H / 2)
        )
        np.testing.assert_allclose(t, r["pred_cam_t_full"], rtol=1e-9, err_msg=name)


def test_cam_crop_to_full_matches_hamer_formula_with_defaults() -> None:
    """With F = 5000/256 max(W,H) and p = image centre: t_z = 2F/(b s), t_x = 2(c_x - W/2)/(b s) + t'_x."""
    W, H, s, tx, ty, b, cx, cy = 640.0, 480.0, 0.8, 0.05, -0.02, 120.0, 400.0, 200.0
    F = hamer_scaled_focal_length(W, H)
    assert pytest.approx(5000 / 256 * 640) == F
    t = cam_crop_to_full(
        np.array([[s, tx, ty]]),
        np.array([[cx, cy]]),
        np.array([b]),
        np.array([1.0]),
        focal=F,
        principal=(W / 2, H / 2),
    )[0]
    assert t == pytest.approx(
        [2 * (cx - W / 2) / (b * s) + tx, 2 * (cy - H / 2) / (b * s) + ty, 2 * F / (b * s)]
    )
    left = cam_crop_to_full(
        np.array([[s, tx, ty]]),
        np.array([[cx, cy]]),
        np.array([b]),
        np.array([0.0]),
        focal=F,
        principal=(W / 2, H / 2),
    )[0]
    assert left[0] == pytest.approx(2 * (cx - W / 2) / (b * s) - tx) and left[1:] == pytest.approx(t[1:])


def test_left_hand_mirrors_x_only() -> None:
    p = np.arange(2 * 21 * 3, dtype=float).reshape(2, 21, 3) + 1
    out = mirror_left_points(p, np.array([1.0, 0.0]))
    np.testing.assert_array_equal(out[0], p[0])
    np.testing.assert_array_equal(out[1], p[1] * [-1, 1, 1])


def test_left_rotation_mirror_is_M_R_M() -> None:
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    R = q * np.sign(np.linalg.det(q))
    rots = np.stack([R, R])[:, None]  # (2,1,3,3)
    out = mirror_left_rotations(rots, np.array([1, 0]))
    np.testing.assert_array_equal(out[0, 0], R)
    np.testing.assert_allclose(out[1, 0], MIRROR_X @ R @ MIRROR_X)
    assert np.linalg.det(out[1, 0]) == pytest.approx(1.0)
    # Mirroring rotated points equals rotating mirrored points: M (R x) = (M R M) (M x).
    x = rng.normal(size=3)
    np.testing.assert_allclose(MIRROR_X @ (R @ x), out[1, 0] @ (MIRROR_X @ x))


def test_remap_hamer_keys() -> None:
    r = remap_hamer_keys(
        {
            "pred_keypoints_3d": np.zeros((1, 21, 3)),
            "pred_keypoints_2d": np.zeros((1, 21, 2)),
            "pred_cam_t_full": np.zeros((1, 3)),
            "pred_cam": np.zeros((1, 3)),
            "pred_mano_params": {"global_orient": np.zeros((1, 1, 3, 3)), "betas": np.zeros((1, 10))},
            "pred_mano_params.hand_pose": np.zeros((1, 15, 3, 3)),
            "box_center": np.zeros((1, 2)),
            "scaled_focal_length": 299.0,
        }
    )
    assert sorted(r) == sorted(
        [
            "kp3d",
            "kp2d",
            "cam_t_full",
            "cam",
            "mano.global_orient",
            "mano.betas",
            "mano.hand_pose",
            "box_center",
            "scaled_focal_length",
        ]
    )


def test_smoothing_stays_within_runs() -> None:
    x = np.array([[0.0], [10.0], [0.0], [4.0], [8.0]])
    present = np.array([True, True, False, True, True])
    y = smooth_track(x, present, 0.5)
    np.testing.assert_allclose(y[:, 0], [0.0, 5.0, 0.0, 4.0, 6.0])
    assert smooth_track(x, present, 0.0) is x
