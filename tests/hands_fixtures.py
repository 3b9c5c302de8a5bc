"""Loaders for the shared hand ground truth (RHD, InterHand2.6M, FreiHAND, fake HaMeR answers)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import PIL.Image
from fixture_files import fixture

#: Fixture folders (relative to the fixtures root; resolved with `fixture` when a test reads them).
RHD = "hands/mmpose_rhd"
INTERHAND = "hands/mmpose_interhand2.6m"
FREIHAND = "hands/mmpose_freihand"
#: InterHand2.6M per-hand order (tips first, wrist last) -> OpenPose order.
INTERHAND_TO_OPENPOSE = [20, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 19, 18, 17, 16]


def load_rgb(path: Any) -> np.ndarray:
    return np.asarray(PIL.Image.open(path).convert("RGB"))


@dataclass(frozen=True)
class RhdSample:
    file_name: str
    image: np.ndarray
    right: bool
    K: np.ndarray
    joint_cam: np.ndarray  # (21,3) metres
    keypoints: np.ndarray  # (21,2) px
    bbox: tuple[float, float, float, float]


def rhd_samples() -> list[RhdSample]:
    rhd = fixture(RHD)
    d = json.loads((rhd / "test_rhd.json").read_text())
    out = []
    for im, a in zip(d["images"], d["annotations"], strict=True):
        f, p = im["cam_param"]["focal"], im["cam_param"]["princpt"]
        out.append(
            RhdSample(
                im["file_name"],
                load_rgb(rhd / im["file_name"]),
                a["hand_type"] == "right",
                np.array([[f[0], 0, p[0]], [0, f[1], p[1]], [0, 0, 1.0]]),
                np.asarray(a["joint_cam"], np.float64) / 1000.0,
                np.asarray(a["keypoints"], np.float64).reshape(-1, 3)[:, :2],
                tuple(a["bbox"]),
            )
        )
    return out


def fake_hamer_answers() -> dict[str, dict[str, Any]]:
    """file name -> HaMeR-server-shaped answer (plus `gt_keypoints_2d`, not part of the answer)."""
    d = np.load(fixture("hands/fake_hamer_rhd.npz"))
    out: dict[str, dict[str, Any]] = {}
    for i in range(len({k.split("/")[0] for k in d.files})):
        r = {k.split("/", 1)[1]: d[k] for k in d.files if k.startswith(f"{i}/")}
        out[str(r.pop("file_name"))] = r
    return out


def interhand_samples() -> list[dict[str, Any]]:
    interhand = fixture(INTERHAND)
    d = json.loads((interhand / "test_interhand2.6m_data.json").read_text())
    cams = json.loads((interhand / "test_interhand2.6m_camera.json").read_text())
    joints = json.loads((interhand / "test_interhand2.6m_joint_3d.json").read_text())
    out = []
    for im, a in zip(d["images"], d["annotations"], strict=True):
        c, cid = str(im["capture"]), im["camera"]
        world = np.asarray(joints[c][str(im["frame_idx"])]["world_coord"], np.float64) / 1000.0
        valid = np.asarray(a["joint_valid"]).reshape(-1) > 0
        out.append(
            dict(
                file_name=im["file_name"],
                hand_type=a["hand_type"],
                bbox=a["bbox"],
                camrot=np.asarray(cams[c]["camrot"][cid]),
                campos=np.asarray(cams[c]["campos"][cid]) / 1000.0,
                focal=cams[c]["focal"][cid],
                princpt=cams[c]["princpt"][cid],
                right_world=world[:21][INTERHAND_TO_OPENPOSE],
                left_world=world[21:][INTERHAND_TO_OPENPOSE],
                right_valid=valid[:21].all(),
                left_valid=valid[21:].all(),
                width=im["width"],
                height=im["height"],
            )
        )
    return out


def freihand_samples() -> list[tuple[str, np.ndarray, np.ndarray, list[float]]]:
    freihand = fixture(FREIHAND)
    d = json.loads((freihand / "test_freihand.json").read_text())
    anns = {a["image_id"]: a for a in d["annotations"]}
    return [
        (
            im["file_name"],
            load_rgb(freihand / im["file_name"]),
            np.asarray(anns[im["id"]]["keypoints"], np.float64).reshape(-1, 3)[:, :2],
            anns[im["id"]]["bbox"],
        )
        for im in d["images"]
    ]
