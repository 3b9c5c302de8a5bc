"""HaMeR server client: websocket + msgpack-numpy, one request per frame, pipelined in batches.

Protocol (webpolicy / openpi websocket policy server, which xgym's HaMeR server uses): on connect
the server sends one binary msgpack message with its metadata; then for every binary request
`{"img": HxWx3 uint8 RGB}` it answers one binary message: a dict of per-hand arrays (leading
dimension N = hands found: `pred_cam`, `pred_cam_t_full`, `pred_keypoints_3d`, `box_center`,
`box_size`, `right`, `pred_mano_params`, ... plus `img_size`, `scaled_focal_length`), or the
string `"error"` when it finds no hand. On an exception it sends the traceback as a text frame and
closes the connection. Requests are answered in order, so up to `batch_size` requests are sent
before reading their answers (hides the round trip).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from lerobot_nb.enrich.hands import wire
from lerobot_nb.enrich.hands.backend import BackendResource, FrameHands, HandDetection
from lerobot_nb.enrich.hands.geometry import (
    cam_crop_to_full,
    intrinsic_matrix,
    mirror_left_points,
    mirror_left_rotations,
    project,
    remap_hamer_keys,
)
from lerobot_nb.enrich.hands.intrinsics import CameraModel
from lerobot_nb.errors import LerobotNbError

__all__ = ["HamerClient", "HamerProtocolError", "parse_hamer_response"]

#: websockets >= 16 wants `legacy=True` to return the connection directly (older ones lack the flag).
_LEGACY: dict[str, Any] = {"legacy": True} if "legacy" in inspect.signature(connect).parameters else {}
#: The server's answer when it finds no hand in the image.
NO_HAND = "error"


class HamerProtocolError(ValueError):
    """A server answer that is not a HaMeR result (one line, for the per-frame report)."""


def _rotation_keys(key: str) -> bool:
    return key in ("mano.global_orient", "mano.hand_pose")


def parse_hamer_response(response: Any, camera: CameraModel) -> FrameHands:
    """One decoded server answer -> hands in the camera frame with pixel keypoints of this frame.

    Steps: remap keys (`remap_hamer_keys`); translation t_full = `cam_crop_to_full` with the real
    camera when it is known, else the server's own `pred_cam_t_full` (computed with its
    `scaled_focal_length`); un-mirror left hands (x only); kp3d = local + t_full; kp2d =
    project(kp3d) with the same focal length and principal point. Raises `HamerProtocolError`.
    """
    if response is None or (isinstance(response, str) and response == NO_HAND):
        return FrameHands()
    if not isinstance(response, Mapping):
        raise HamerProtocolError(f"expected a dict of arrays or {NO_HAND!r}, got {type(response).__name__}")
    try:
        r = remap_hamer_keys(response)
        kp3d_local = np.asarray(r["kp3d"], np.float64).reshape(-1, 21, 3)
        n = len(kp3d_local)
        right = np.asarray(r["right"], np.float64).reshape(-1)[:n] if "right" in r else np.ones(n)
        box_center = np.asarray(r["box_center"], np.float64).reshape(n, 2)
        box_size = np.asarray(r["box_size"], np.float64).reshape(n)
        if len(right) != n:
            raise HamerProtocolError(f"{len(right)} handedness flags for {n} hands")
        if camera.is_default or "cam" not in r:
            # The server already placed the hands with its own focal length: project with that one.
            t_full = np.asarray(r["cam_t_full"], np.float64).reshape(n, 3)
            f = float(np.asarray(r.get("scaled_focal_length", camera.fx)).reshape(-1)[0])
            K = (
                intrinsic_matrix(f, f, camera.width / 2.0, camera.height / 2.0)
                if camera.is_default
                else camera.K
            )
        else:
            t_full = cam_crop_to_full(
                r["cam"],
                box_center,
                box_size,
                right,
                focal=(camera.fx, camera.fy),
                principal=(camera.px, camera.py),
            )
            K = camera.K
    except KeyError as exc:
        raise HamerProtocolError(
            f"answer lacks key {exc.args[0]!r} (has {', '.join(sorted(response))})"
        ) from None
    except (ValueError, TypeError) as exc:
        raise HamerProtocolError(f"answer has unexpected shapes: {exc}") from None
    kp3d = mirror_left_points(kp3d_local, right) + t_full[:, None, :]
    if not np.all(np.isfinite(kp3d)) or np.any(kp3d[..., 2] <= 0):
        raise HamerProtocolError("answer places a hand behind the camera or has non-finite values")
    kp2d = project(kp3d, K)
    mano = {k: np.asarray(v, np.float64) for k, v in r.items() if k.startswith("mano.")}
    mano = {k: (mirror_left_rotations(v, right) if _rotation_keys(k) else v) for k, v in mano.items()}
    score = np.asarray(r.get("score", np.ones(n)), np.float64).reshape(-1)
    hands = tuple(
        HandDetection(
            right=bool(right[i] > 0.5),
            kp3d=kp3d[i],
            kp2d=kp2d[i],
            box_center=box_center[i],
            box_size=float(box_size[i]),
            confidence=float(score[i]) if len(score) == n else 1.0,
            mano={k: v[i] for k, v in mano.items() if len(v) == n},
        )
        for i in range(n)
    )
    return FrameHands(hands)


class HamerClient(BackendResource):
    """`HandBackend` talking to a HaMeR websocket server at `ws://host:port`.

    Connection problems (refused, closed, no answer within `timeout_s`) reconnect and resend the
    frames that got no answer, up to `retries` times per frame with `retry_delay_s` between
    attempts; a frame that still fails, or gets garbage, is reported with its error and no hand
    (never dropped). If no connection can be made at all the client raises `LerobotNbError`.
    """

    name = "hamer"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        timeout_s: float = 30.0,
        retries: int = 3,
        retry_delay_s: float = 1.0,
        batch_size: int = 8,
    ) -> None:
        self.uri = f"ws://{host}:{port}"
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.retry_delay_s = retry_delay_s
        self.batch_size = max(1, batch_size)
        self.metadata: Any = None
        self.reconnects = 0

    # -- connection -------------------------------------------------------------------------
    def _connect(self) -> ClientConnection:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.retry_delay_s)
            try:
                ws = connect(
                    self.uri,
                    open_timeout=self.timeout_s,
                    close_timeout=1.0,
                    max_size=None,
                    compression=None,
                    **_LEGACY,
                )
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                last = str(exc) or type(exc).__name__
                continue
            try:
                first = ws.recv(timeout=self.timeout_s)
                self.metadata = wire.unpackb(first) if isinstance(first, bytes) else first
            except (TimeoutError, ConnectionClosed) as exc:
                ws.close()
                last = f"no metadata message from the server ({type(exc).__name__})"
                continue
            except Exception as exc:  # undecodable first message: not a HaMeR server
                ws.close()
                raise LerobotNbError(
                    f"{self.uri} does not speak the HaMeR websocket protocol (first message: {exc})"
                ) from None
            return ws
        raise LerobotNbError(
            f"cannot reach the HaMeR server at {self.uri} after {self.retries + 1} attempt(s): {last}; "
            "start it, fix --hamer-host/--hamer-port, or use --backend mediapipe"
        )

    def _conn(self) -> ClientConnection:
        if self._resource is None:
            self._resource = self._connect()
        conn: ClientConnection = self._resource
        return conn

    def _drop_connection(self) -> None:
        if self._resource is not None:
            self._release()
            self.reconnects += 1

    # -- requests ---------------------------------------------------------------------------
    def infer_raw(self, frames: Sequence[np.ndarray]) -> list[Any]:
        """Decoded server answers, one per frame (a dict, `"error"`, or an exception instance)."""
        answers: list[Any] = [None] * len(frames)
        attempts = [0] * len(frames)
        pending = list(range(len(frames)))
        while pending:
            batch, pending = pending[: self.batch_size], pending[self.batch_size :]
            ws = self._conn()
            unanswered = list(batch)
            sent = 0
            try:
                for i in batch:
                    try:
                        ws.send(wire.packb({"img": np.ascontiguousarray(frames[i], dtype=np.uint8)}))
                    except ConnectionClosed:
                        break  # answers to what was sent may still be buffered: read them first
                    sent += 1
                while len(unanswered) > len(batch) - sent:
                    msg = ws.recv(timeout=self.timeout_s)
                    i = unanswered.pop(0)
                    answers[i] = self._decode(msg)
                    if isinstance(answers[i], _ServerFailure):
                        # The server closes after an exception: resend what it did not answer.
                        raise ConnectionClosed(None, None)
                if unanswered:
                    raise ConnectionClosed(None, None)
            except (ConnectionClosed, TimeoutError, OSError) as exc:
                self._drop_connection()
                reason = (
                    f"no answer within {self.timeout_s:g} s"
                    if isinstance(exc, TimeoutError)
                    else "connection to the server was lost"
                )
                retry = []
                for i in unanswered:
                    attempts[i] += 1
                    if attempts[i] > self.retries:
                        answers[i] = HamerProtocolError(f"{reason} ({attempts[i]} attempts)")
                    else:
                        retry.append(i)
                pending = retry + pending
        return [HamerProtocolError(a.text) if isinstance(a, _ServerFailure) else a for a in answers]

    @staticmethod
    def _decode(msg: str | bytes) -> Any:
        if isinstance(msg, str):
            return msg if msg == NO_HAND else _ServerFailure(msg)
        try:
            return wire.unpackb(msg)
        except Exception as exc:
            return HamerProtocolError(
                f"garbage answer: undecodable ({len(msg)} bytes, {type(exc).__name__}{': ' + str(exc) if str(exc) else ''})"
            )

    def detect(self, frames: Sequence[np.ndarray], cameras: Sequence[CameraModel]) -> list[FrameHands]:
        """One `FrameHands` per frame, in order; a failed or garbled answer becomes that frame's error."""
        out = []
        for answer, camera in zip(self.infer_raw(frames), cameras, strict=True):
            if isinstance(answer, Exception):
                out.append(FrameHands(error=str(answer)))
                continue
            try:
                out.append(parse_hamer_response(answer, camera))
            except HamerProtocolError as exc:
                out.append(FrameHands(error=f"garbage answer: {exc}"))
        return out


class _ServerFailure:
    """A text frame that is not `"error"`: the server's traceback before it closes the connection."""

    def __init__(self, text: str) -> None:
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        self.text = "server error: " + (lines[-1].strip() if lines else "(empty message)")
