"""A HaMeR-protocol websocket server on 127.0.0.1 that replays fixture answers (no model, no GPU).

Speaks what xgym's HaMeR server speaks (webpolicy): metadata message on connect, then one binary
msgpack-numpy answer per binary request `{"img": HxWx3 uint8}`. The answer is looked up by the
image's bytes (`responses[sha1]`); unknown images get the string "error" (no hand). `mode` makes
it misbehave: "garbage" answers bytes that are not msgpack, "text_error" sends a traceback as text
and closes (like the real server on an exception), "silent" never answers, "drop_first" closes
the connection instead of answering the first request of every connection... once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from lerobot_nb.enrich.hands import wire


def image_key(img: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(img).tobytes() + str(img.shape).encode()).hexdigest()


class HamerTestServer:
    """Context manager: `with HamerTestServer({key: answer}) as srv: srv.port`."""

    def __init__(self, responses: Mapping[str, Any] | None = None, *, mode: str = "replay") -> None:
        self.responses = dict(responses or {})
        self.mode = mode
        self.requests = 0
        self.connections = 0
        self._dropped_once = False
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.socket.getsockname()[1])

    def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        ws.send(wire.packb({"server": "hamer-test", "mode": self.mode}))
        try:
            while True:
                msg = ws.recv()
                self.requests += 1
                obs = wire.unpackb(msg)
                if self.mode == "silent":
                    continue
                if self.mode == "garbage":
                    ws.send(b"\xc1\xc1 not msgpack")
                    continue
                if self.mode == "text_error":
                    ws.send("Traceback (most recent call last):\n  ...\nRuntimeError: CUDA out of memory")
                    ws.close()
                    return
                if self.mode == "drop_first" and not self._dropped_once:
                    self._dropped_once = True
                    ws.close()
                    return
                answer = self.responses.get(image_key(obs["img"]), "error")
                ws.send(wire.packb(answer))
        except ConnectionClosed:
            return

    def __enter__(self) -> HamerTestServer:
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None, max_size=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._thread.join(timeout=5)
