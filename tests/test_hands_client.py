"""The HaMeR client over a real loopback websocket server replaying fake HaMeR answers built from RHD."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from conftest import free_port
from hamer_test_server import HamerTestServer, image_key
from hands_fixtures import fake_hamer_answers, rhd_samples

from lerobot_nb.enrich.hands import HandPoseConfig, enrich_hands, run_hands
from lerobot_nb.enrich.hands.hamer_client import HamerClient
from lerobot_nb.enrich.hands.intrinsics import CameraModel, default_camera
from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.frames import ArrayFrames

P = "observation.hands"


def _answers() -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for s in rhd_samples():
        answer = {k: v for k, v in fake_hamer_answers()[s.file_name].items() if k != "gt_keypoints_2d"}
        out[image_key(s.image)] = answer
    return out


@pytest.fixture(scope="module")
def server() -> Iterator[HamerTestServer]:
    with HamerTestServer(_answers()) as srv:
        yield srv


def _episode(frames: list[np.ndarray], source: str = "test.rrd") -> AlignedEpisode:
    return AlignedEpisode(
        "ep0",
        10,
        "real_time",
        np.arange(len(frames), dtype=np.int64) * 100_000_000,
        numeric={},
        images={"front": ArrayFrames(frames)},
        source=source,
    )


def _config(port: int, **kw: object) -> HandPoseConfig:
    return HandPoseConfig(
        backend="hamer",
        hamer_port=port,
        hamer_timeout_s=kw.pop("hamer_timeout_s", 5.0),  # type: ignore[arg-type]
        **kw,
    )  # type: ignore[arg-type]


def test_client_reproduces_ground_truth_keypoints(server: HamerTestServer) -> None:
    samples = rhd_samples()
    with HamerClient(port=server.port, batch_size=2) as client:
        results = client.detect([s.image for s in samples], [default_camera(320, 320)] * len(samples))
        assert client.metadata["server"] == "hamer-test"
    for s, res in zip(samples, results, strict=True):
        assert res.error is None and len(res.hands) == 1
        hand = res.hands[0]
        assert hand.right == s.right
        assert np.abs(hand.kp2d - s.keypoints).max() < 0.1, s.file_name
        np.testing.assert_allclose(hand.kp3d, s.joint_cam, atol=1e-9)  # un-mirrored, camera frame


def test_enrichment_through_websocket_matches_ground_truth(server: HamerTestServer) -> None:
    samples = rhd_samples()
    blank = np.zeros((320, 320, 3), np.uint8)  # the server answers "error": no hand
    frames = [samples[0].image, blank, samples[1].image, samples[2].image]
    result = run_hands(_episode(frames), _config(server.port, hand_batch_size=3))
    ep = result.episode
    assert ep.length == 4
    left_present = ep.numeric[f"{P}.left.present"][:, 0]
    right_present = ep.numeric[f"{P}.right.present"][:, 0]
    np.testing.assert_array_equal(left_present, [1, 0, 1, 0])
    np.testing.assert_array_equal(right_present, [0, 0, 0, 1])
    for k, s in ((0, samples[0]), (2, samples[1]), (3, samples[2])):
        side = "right" if s.right else "left"
        kp2d = ep.numeric[f"{P}.{side}.kp2d"][k].reshape(21, 2)
        assert np.abs(kp2d - s.keypoints).max() < 0.1  # float32 features
        assert ep.numeric[f"{P}.{side}.kp3d"].shape == (4, 63)
        assert ep.numeric[f"{P}.{side}.box"][k][2] == pytest.approx(
            fake_hamer_answers()[s.file_name]["box_size"][0]
        )
    assert not ep.numeric[f"{P}.left.kp3d"][1].any()
    assert ep.names[f"{P}.left.kp3d"][:3] == ("wrist.x", "wrist.y", "wrist.z")
    assert ep.numeric[f"{P}.right.mano.betas"].shape == (4, 10)  # HaMeR adds MANO features
    assert result.frames["error"].null_count() == 4
    assert any("no intrinsics" in n for n in result.notes)
    assert "hands/front" in ep.report["stream"].to_list()


def test_real_intrinsics_recompute_translation(server: HamerTestServer) -> None:
    """Given the true K, cam_crop_to_full is recomputed from pred_cam and still hits the truth."""
    s = rhd_samples()[0]
    cam = CameraModel(320, 320, s.K[0, 0], s.K[1, 1], s.K[0, 2], s.K[1, 2], source="recording /cam")
    with HamerClient(port=server.port) as client:
        hand = client.detect([s.image], [cam])[0].hands[0]
    assert np.abs(hand.kp2d - s.keypoints).max() < 0.1
    # A wrong focal length changes the depth (why real intrinsics matter) but not the pixels much.
    wrong = CameraModel(320, 320, 2 * s.K[0, 0], 2 * s.K[1, 1], 160, 160, source="given")
    with HamerClient(port=server.port) as client:
        far = client.detect([s.image], [wrong])[0].hands[0]
    assert far.kp3d[:, 2].mean() == pytest.approx(2 * hand.kp3d[:, 2].mean(), rel=0.05)


def test_world_pose_applied_after_crop_translation(server: HamerTestServer) -> None:
    s = rhd_samples()[2]
    pose = np.eye(4)
    pose[:3, :3] = [[0, 0, 1], [-1, 0, 0], [0, -1, 0]]  # camera looking along world +x
    pose[:3, 3] = [1.0, 2.0, 0.5]
    cfg = _config(server.port, camera_to_world=tuple(pose.reshape(-1)))
    ep = enrich_hands(_episode([s.image]), cfg)
    world = ep.numeric[f"{P}.right.kp3d_world"][0].reshape(21, 3)
    np.testing.assert_allclose(world, s.joint_cam @ pose[:3, :3].T + pose[:3, 3], atol=1e-5)


def test_server_down_is_one_clear_error() -> None:
    port = free_port()
    cfg = _config(port, hamer_retries=1)
    with pytest.raises(LerobotNbError) as err:
        run_hands(_episode([rhd_samples()[0].image]), dataclass_replace(cfg, hamer_retries=1))
    msg = str(err.value)
    assert f"ws://127.0.0.1:{port}" in msg and "cannot reach the HaMeR server" in msg
    assert "episode ep0" in msg and "stream front" in msg and "test.rrd" in msg


def dataclass_replace(cfg: HandPoseConfig, **kw: object) -> HandPoseConfig:
    import dataclasses

    return dataclasses.replace(cfg, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "expect"),
    [
        ("garbage", "garbage answer: undecodable (14 bytes"),
        ("text_error", "server error: RuntimeError: CUDA out of memory"),
        ("silent", "no answer within 0.3 s"),
    ],
)
def test_misbehaving_server_keeps_every_frame(mode: str, expect: str) -> None:
    frames = [s.image for s in rhd_samples()]
    with HamerTestServer(_answers(), mode=mode) as srv:
        cfg = _config(srv.port, hamer_timeout_s=0.3, hamer_retries=1, hand_batch_size=2)
        cfg = dataclass_replace(cfg, hamer_timeout_s=0.3)
        result = run_hands(_episode(frames), cfg)
    assert result.episode.length == 3
    assert result.frames.height == 3
    assert result.frames["error"].null_count() == 0
    assert all(e.startswith(expect) for e in result.frames["error"]), result.frames["error"].to_list()
    assert not result.episode.numeric[f"{P}.left.present"].any()
    assert any("3 frame(s) failed" in n for n in result.notes)


def test_dropped_connection_reconnects_and_resends() -> None:
    samples = rhd_samples()
    with (
        HamerTestServer(_answers(), mode="drop_first") as srv,
        HamerClient(port=srv.port, batch_size=3, retry_delay_s=0.05) as client,
    ):
        results = client.detect([s.image for s in samples], [default_camera(320, 320)] * 3)
        assert client.reconnects == 1 and srv.connections == 2
    for s, res in zip(samples, results, strict=True):
        assert res.error is None and np.abs(res.hands[0].kp2d - s.keypoints).max() < 0.1


def test_no_hand_in_any_frame(server: HamerTestServer) -> None:
    frames = [np.full((240, 320, 3), v, np.uint8) for v in (0, 80, 160)]
    result = run_hands(_episode(frames), _config(server.port))
    assert result.episode.length == 3
    assert not any(result.episode.numeric[f"{P}.{side}.present"].any() for side in ("left", "right"))
    assert any("no hand found in any frame of camera front" in n for n in result.notes)
    assert result.frames["error"].null_count() == 3  # "no hand" is not an error


def test_images_of_changing_size(server: HamerTestServer) -> None:
    samples = rhd_samples()
    small = np.zeros((120, 160, 3), np.uint8)
    frames = [samples[2].image, small, samples[0].image]
    result = run_hands(_episode(frames), _config(server.port))
    ep = result.episode
    assert list(result.frames["width"]) == [320, 160, 320]
    np.testing.assert_array_equal(ep.numeric[f"{P}.right.present"][:, 0], [1, 0, 0])
    assert np.abs(ep.numeric[f"{P}.left.kp2d"][2].reshape(21, 2) - samples[0].keypoints).max() < 0.1
    assert any("frame size changes" in n and "160x120 (1)" in n for n in result.notes)


def _two_readings_of_one_hand(sample_index: int, scores: tuple[float, float]) -> dict[str, np.ndarray]:
    """HaMeR answer with N=2: the fixture's hand, plus the same hand read as the other side."""
    s = rhd_samples()[sample_index]
    a = {k: v for k, v in fake_hamer_answers()[s.file_name].items() if k != "gt_keypoints_2d"}
    out = dict(a)
    for key in (
        "pred_cam",
        "pred_cam_t",
        "pred_cam_t_full",
        "pred_keypoints_3d",
        "pred_keypoints_2d",
        "box_center",
        "box_size",
        "right",
    ):
        out[key] = np.concatenate([a[key], a[key]])
    out["right"] = np.array([a["right"][0], 1 - a["right"][0]])
    out["pred_keypoints_3d"] = out["pred_keypoints_3d"].copy()
    out["pred_keypoints_3d"][1, :, 0] *= -1  # the model's mirrored frame for the other side
    out["pred_cam"] = out["pred_cam"].copy()
    out["pred_cam"][1, 1] *= -1
    out["score"] = np.array(scores)
    rng = np.random.default_rng(3)
    rot = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    rot *= np.sign(np.linalg.det(rot))
    out["pred_mano_params"] = {
        "global_orient": np.stack([rot[None], rot[None]]),
        "hand_pose": np.stack([np.stack([rot] * 15)] * 2),
        "betas": np.ones((2, 10)),
    }
    return out


@pytest.mark.parametrize("scores", [(0.9, 0.4), (0.4, 0.9)])
def test_double_reading_filtered_and_mano_mirrored(scores: tuple[float, float]) -> None:
    s = rhd_samples()[2]  # a right hand
    answer = _two_readings_of_one_hand(2, scores)
    M = np.diag([-1.0, 1.0, 1.0])
    with HamerTestServer({image_key(s.image): answer}) as srv:
        for cam in (default_camera(320, 320), CameraModel(320, 320, *s.K[[0, 1, 0, 1], [0, 1, 2, 2]])):
            with HamerClient(port=srv.port) as client:
                hands = client.detect([s.image], [cam])[0].hands
            assert len(hands) == 2
            np.testing.assert_allclose(hands[0].kp2d, hands[1].kp2d, atol=1e-6)  # one physical hand
        result = run_hands(_episode([s.image]), _config(srv.port))
    ep = result.episode
    winner = "right" if scores[0] > scores[1] else "left"
    loser = "left" if winner == "right" else "right"
    assert ep.numeric[f"{P}.{winner}.present"][0, 0] == 1 and ep.numeric[f"{P}.{loser}.present"][0, 0] == 0
    assert result.frames["dropped"].to_list() == [1]
    assert ep.numeric[f"{P}.{winner}.confidence"][0, 0] == pytest.approx(0.9)
    assert np.abs(ep.numeric[f"{P}.{winner}.kp2d"][0].reshape(21, 2) - s.keypoints).max() < 0.1
    rot = answer["pred_mano_params"]["global_orient"][0, 0]
    expect = rot if winner == "right" else M @ rot @ M
    np.testing.assert_allclose(
        ep.numeric[f"{P}.{winner}.mano.global_orient"][0].reshape(3, 3), expect, atol=1e-6
    )
    np.testing.assert_allclose(ep.numeric[f"{P}.{winner}.mano.betas"][0], np.ones(10))
