"""A procedurally drawn human hand: a 21-keypoint skeleton and a shaded rendering of it over an image.

The hand is seen from its back (the camera looks down at a table): a domed palm, a
thenar pad, tapered capsules for the phalanges and a forearm leaving towards the person. Depth
is a height field (each capsule a half cylinder, the palm a rounded slab); its gradient gives
the normals for Lambert + Blinn-Phong shading in skin tone, and a soft offset shadow falls on the
table. Drawn at `supersample` times the image size and reduced with area averaging (no jaggies).

Keypoints follow the OpenPose/MediaPipe order (0 wrist; thumb 1-4 CMC, MCP, IP, tip; index,
middle, ring, little 5-8, 9-12, 13-16, 17-20 MCP, PIP, DIP, tip). Proportions are in units of
the hand length (wrist to middle fingertip), from adult averages (palm ~0.58, palm width ~0.45).
The keypoints the renderer is given are exactly the joints it draws: the ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["HandStyle", "hand_keypoints", "render_hand"]

#: MCP joints of the four fingers (x towards the little finger, y towards the fingertips).
_MCP = {5: (-0.155, 0.55), 9: (-0.05, 0.57), 13: (0.055, 0.55), 17: (0.155, 0.50)}
#: Proximal, middle and distal phalanx lengths per finger.
_PHALANGES = {5: (0.21, 0.13, 0.095), 9: (0.235, 0.145, 0.10), 13: (0.22, 0.14, 0.10), 17: (0.17, 0.10, 0.09)}
_THUMB_CMC = (-0.17, 0.13)
_THUMB_BONES = (0.19, 0.17, 0.13)  # metacarpal (CMC->MCP), proximal, distal
#: Capsule radii at the four joints of each digit (base to tip); 1 is the thumb.
_RADII = {
    1: (0.075, 0.062, 0.052, 0.046),
    5: (0.052, 0.048, 0.044, 0.040),
    9: (0.054, 0.050, 0.046, 0.041),
    13: (0.051, 0.047, 0.043, 0.039),
    17: (0.045, 0.041, 0.038, 0.035),
}


@dataclass(frozen=True)
class HandStyle:
    """Looks of the drawn hand: skin colour (RGB 0-255), light direction (x right, y down, z up)."""

    skin: tuple[int, int, int] = (224, 172, 140)
    nail: tuple[int, int, int] = (238, 200, 190)
    light: tuple[float, float, float] = (-0.4, -0.5, 0.77)
    shadow_offset: tuple[float, float] = (0.055, 0.07)  # in hand lengths, on the table
    shadow_strength: float = 0.4


def _digit(base: np.ndarray, angle: float, bones: tuple[float, ...], curl: float) -> list[np.ndarray]:
    """Joint positions after `base` along `angle` (0 = straight ahead), bones shortened by curl."""
    joints, point = [], base
    for i, length in enumerate(bones):
        point = point + length * (1 - curl * (i + 1) / 3) * np.array([math.sin(angle), math.cos(angle)])
        joints.append(point)
    return joints


def _local_skeleton(spread: float, curl: float) -> np.ndarray:
    """The 21 joints in hand units: wrist at the origin, fingers along +y, little finger at +x."""
    kp = np.zeros((21, 2))
    for j, (base, xy) in enumerate(_MCP.items()):
        kp[base] = xy
        kp[base + 1 : base + 4] = _digit(np.array(xy), spread * (j - 1.2), _PHALANGES[base], curl)
    kp[1] = _THUMB_CMC
    point, angle = np.array(_THUMB_CMC), -0.95
    for i, length in enumerate(_THUMB_BONES):
        point = point + length * np.array([math.sin(angle), math.cos(angle)])
        kp[2 + i] = point
        angle += 0.22
    return kp


def hand_keypoints(
    index_tip: np.ndarray,
    angle: float,
    length_px: float,
    *,
    left: bool = True,
    spread: float = 0.1,
    curl: float = 0.0,
) -> np.ndarray:
    """(21, 2) image pixels of a hand seen from its back whose index fingertip is at `index_tip`.

    With the fingers pointing up the image a left hand has its thumb on the right, a right hand
    on the left. `angle` (radians) turns the fingers from pointing up (0) clockwise; `length_px`
    is the wrist-to-middle-tip length; `spread` fans the fingers (radians between neighbours);
    `curl` in [0, 1) shortens the fingers as bending them towards the table would.
    """
    flip = -1.0 if left else 1.0
    pts = _local_skeleton(spread, curl) * length_px * np.array([flip, -1.0])  # image y points down
    c, s = math.cos(angle), math.sin(angle)
    pts = pts @ np.array([[c, -s], [s, c]]).T
    out: np.ndarray = pts - pts[8] + np.asarray(index_tip, np.float64)
    return out


def _raise_capsule(
    height: np.ndarray, a: np.ndarray, b: np.ndarray, ra: float, rb: float, base: float
) -> None:
    """Max-merge a tapered half cylinder from a (radius ra) to b (rb) into `height` (-1 = empty)."""
    lo = np.floor(np.minimum(a, b) - max(ra, rb)).astype(int)
    hi = np.ceil(np.maximum(a, b) + max(ra, rb)).astype(int) + 1
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], height.shape[1]), min(hi[1], height.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    ab = b - a
    t = np.clip(((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / max(float(ab @ ab), 1e-9), 0.0, 1.0)
    d2 = (xs - a[0] - t * ab[0]) ** 2 + (ys - a[1] - t * ab[1]) ** 2
    r2 = (ra + (rb - ra) * t) ** 2
    h = np.where(d2 < r2, np.sqrt(np.maximum(r2 - d2, 0.0)) + base, -1.0)
    np.maximum(height[y0:y1, x0:x1], h, out=height[y0:y1, x0:x1])


def _palm_height(shape: tuple[int, int], k: np.ndarray, unit: float) -> np.ndarray:
    """Height of the palm: its outline (wrist to the MCP row) domed by the distance to the edge."""
    import cv2

    up = k[9] - k[0]
    up /= np.linalg.norm(up)
    side = np.array([up[1], -up[0]])
    if np.dot(k[17] - k[5], side) < 0:
        side = -side  # `side` points from the thumb towards the little finger
    outline = [
        k[0] - side * 0.16 * unit,
        k[1] - side * 0.02 * unit,
        k[5] - side * 0.045 * unit + up * 0.02 * unit,
        k[9] + up * 0.03 * unit,
        k[13] + up * 0.02 * unit,
        k[17] + side * 0.04 * unit,
        k[0] + side * 0.15 * unit,
    ]
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(np.array(outline)).astype(np.int32)], 1)
    edge = np.clip(1 - cv2.distanceTransform(mask, cv2.DIST_L2, 5) / (0.09 * unit), 0, 1)
    return np.where(mask > 0, 0.06 * unit * np.sqrt(1 - edge**2) + 0.01 * unit, -1.0).astype(np.float32)


def _height_field(shape: tuple[int, int], k: np.ndarray, unit: float) -> np.ndarray:
    """The whole hand's height above the table in supersampled pixels (-1 where the table shows)."""
    height = _palm_height(shape, k, unit)
    up = (k[9] - k[0]) / np.linalg.norm(k[9] - k[0])
    _raise_capsule(
        height, k[0] - up * 0.05 * unit, k[0] - up * 3.0 * unit, 0.15 * unit, 0.19 * unit, -0.02 * unit
    )
    for base, radii in _RADII.items():
        for i in range(3):
            a, b = k[base + i], k[base + i + 1]
            _raise_capsule(height, a, b, radii[i] * unit, radii[i + 1] * unit, 0.025 * unit)
    for knuckle in (5, 9, 13, 17):  # the metacarpal heads stand out on the back of the hand
        _raise_capsule(height, k[knuckle], k[knuckle], 0.045 * unit, 0.045 * unit, 0.04 * unit)
    return height


def _nail_mask(shape: tuple[int, int], k: np.ndarray, unit: float) -> np.ndarray:
    """Where the nails are (float 0-1): an ellipse on the outer half of each distal phalanx."""
    import cv2

    mask = np.zeros(shape, np.float32)
    for tip in (4, 8, 12, 16, 20):
        a, b = k[tip - 1], k[tip]
        centre = a + 0.62 * (b - a)
        half_len = 0.3 * float(np.linalg.norm(b - a))
        half_width = 0.6 * _RADII[tip - 3][3] * unit
        angle = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
        axes = (max(round(half_len), 1), max(round(half_width), 1))
        cv2.ellipse(mask, (round(centre[0]), round(centre[1])), axes, angle, 0, 360, 1.0, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(mask, (0, 0), 0.01 * unit)


def _shade(
    height: np.ndarray, inside: np.ndarray, nails: np.ndarray, style: HandStyle, blur: float
) -> np.ndarray:
    """RGB in [0, 1] of skin and nails under the style's light, from the height field's normals."""
    import cv2

    smooth = cv2.GaussianBlur(np.where(inside, height, 0).astype(np.float32), (0, 0), blur)
    gy, gx = np.gradient(smooth)
    normal = np.dstack([-gx, -gy, np.ones_like(smooth)])
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    light = np.asarray(style.light, np.float32) / np.linalg.norm(style.light)
    half = light + np.array([0, 0, 1], np.float32)  # Blinn's half vector, the camera looks along -z
    half /= np.linalg.norm(half)
    diffuse = np.clip(normal @ light, 0, 1)[..., None]
    specular = (np.clip(normal @ half.astype(np.float32), 0, 1) ** 24)[..., None]
    n = nails[..., None]
    albedo = (1 - n) * np.asarray(style.skin, np.float32) / 255 + n * np.asarray(style.nail, np.float32) / 255
    return np.clip(albedo * (0.30 + 0.80 * diffuse) + (0.10 + 0.25 * n) * specular, 0, 1)


def render_hand(
    background: np.ndarray,
    keypoints: np.ndarray,
    length_px: float,
    *,
    style: HandStyle | None = None,
    supersample: int = 2,
) -> np.ndarray:
    """`background` (H, W, 3 uint8 RGB) with the hand of `keypoints` (21, 2 px) drawn over it."""
    import cv2

    style = style or HandStyle()
    h, w = background.shape[:2]
    ss = supersample
    big_shape = (h * ss, w * ss)
    k = np.asarray(keypoints, np.float64) * ss
    unit = length_px * ss
    height = _height_field(big_shape, k, unit)
    inside = height >= 0
    skin = _shade(height, inside, _nail_mask(big_shape, k, unit), style, blur=1.0 * ss)
    table = cv2.resize(background, big_shape[::-1], interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
    shadow = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.04 * unit)
    dx, dy = (o * unit for o in style.shadow_offset)
    shadow = cv2.warpAffine(shadow, np.array([[1, 0, dx], [0, 1, dy]], np.float32), big_shape[::-1])
    table *= 1 - style.shadow_strength * shadow[..., None]
    alpha = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.7)[..., None]
    out = table * (1 - alpha) + skin * alpha
    small = cv2.resize(
        np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_AREA
    )
    return np.ascontiguousarray(small)
