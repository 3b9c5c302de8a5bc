"""A Rerun OSS server on loopback (or an existing one) holding the recordings as one dataset."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import urlparse

from lerobot_nb.config import help_field
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources import Recording, discover_recordings

if TYPE_CHECKING:
    import rerun as rr
    from rerun.catalog import DatasetEntry

__all__ = ["RecordingServer", "ServerConfig", "open_recordings"]


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """Where the recordings come from: files/folders served locally, or an existing server."""

    recordings: tuple[str, ...] = help_field(
        (),
        "recording files or folders (any format lerobot-nb reads); ignored with --server-url",
        metavar="PATH",
    )
    server_url: str | None = help_field(
        None, "attach to this running server (rerun+http://host:port) instead of starting one"
    )
    dataset_name: str = help_field("recordings", "dataset name on the server")
    host: str = help_field("127.0.0.1", "address the local server binds to")
    port: int = help_field(0, "port of the local server (0: a free one)")
    on_duplicate: Literal["error", "skip", "replace"] = help_field(
        "error", "two files with the same recording id: fail, keep the first, or keep the last"
    )
    cache_dir: str | None = help_field(None, "where converted MCAP recordings are cached")


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            raise LerobotNbError(
                f"port {port} is already in use (pass port=0 for a free one)", file=f"{host}:{port}"
            ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class RecordingServer:
    """Context manager: the recordings as a dataset on a Rerun server; always shut down on exit.

    ```python
    with RecordingServer(ServerConfig(recordings=("recordings/",))) as server:
        server.episodes          # sorted episode (= recording = segment) ids
        server.dataset           # rerun.catalog.DatasetEntry
    ```
    The local server binds to loopback on a free port unless told otherwise; `__exit__` shuts it
    down also on exceptions and Ctrl-C.
    """

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        recordings: Sequence[Recording] | None = None,
        **overrides: Any,
    ) -> None:
        """`recordings`: already discovered (and converted) recordings of `config.recordings`, to
        serve without discovering them again."""
        if config is None:
            config = ServerConfig(**overrides)
        elif overrides:
            raise TypeError("pass either a ServerConfig or keyword overrides, not both")
        self.config = config
        self._discovered = list(recordings) if recordings is not None else None
        self.recordings: dict[str, Recording] = {}
        self._server: rr.server.Server | None = None
        self._client: Any = None
        self._dataset: DatasetEntry | None = None
        self.url: str = ""

    # -- lifetime ---------------------------------------------------------------------------
    def __enter__(self) -> Self:
        try:
            if self.config.server_url:
                self._attach(self.config.server_url)
            else:
                self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Shut the local server down (idempotent; attaching never owns the server)."""
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(RuntimeError):  # already stopped: nothing left to close
                server.shutdown()

    def _start(self) -> None:
        import rerun as rr

        cfg = self.config
        if not cfg.recordings:
            raise LerobotNbError("no recordings given (pass a folder, files, or a server URL)")
        recordings = self._discovered or discover_recordings(
            [Path(p) for p in cfg.recordings],
            cache_dir=Path(cfg.cache_dir) if cfg.cache_dir else None,
            on_duplicate=cfg.on_duplicate,
        )
        if cfg.port:
            _check_port_free(cfg.host, cfg.port)
        try:
            # Port 0: the OS picks a free port at bind time (no window for another process to
            # take a port chosen in advance).
            self._server = rr.server.Server(host=cfg.host, port=cfg.port)
        except Exception as exc:
            raise LerobotNbError(
                f"cannot start the Rerun server ({_first_line(exc)})", file=f"{cfg.host}:{cfg.port}"
            ) from None
        self.url = self._server.url()
        self._client = self._server.client()
        self._register(recordings)

    def _register(self, recordings: Sequence[Recording]) -> None:
        from rerun.catalog import OnDuplicateSegmentLayer

        dataset = self._client.create_dataset(self.config.dataset_name)
        # One batched call: per the rerun docs much faster than registering in a loop.
        uris = [rec.rrd.as_uri() for rec in recordings]
        try:
            dataset.register(uris, on_duplicate=OnDuplicateSegmentLayer.ERROR).wait()
        except Exception as exc:
            # The server names the URI that failed; map it back to the user's file.
            text = _first_line(exc)
            culprit = next((r.source for r in recordings if r.rrd.as_uri() in str(exc)), None)
            raise LerobotNbError(f"the server could not register it ({text})", file=culprit) from None
        self._dataset = dataset
        self.recordings = {rec.episode_id: rec for rec in recordings}

    def _attach(self, url: str) -> None:
        from rerun.catalog import CatalogClient

        parsed = urlparse(url)
        if not parsed.scheme or not parsed.hostname:
            raise LerobotNbError("not a server URL (expected rerun+http://host:port)", file=url)
        try:
            # A plain TCP probe first: the client library retries for a long time on a dead port.
            with socket.create_connection((parsed.hostname, parsed.port or 51234), timeout=3):
                pass
            self._client = CatalogClient(url)
            self._dataset = self._client.get_dataset(self.config.dataset_name)
        except OSError:
            raise LerobotNbError("the server does not answer", file=url) from None
        except Exception as exc:
            raise LerobotNbError(
                f"dataset {self.config.dataset_name!r} not available ({_first_line(exc)})", file=url
            ) from None
        self.url = url

    # -- what the rest of the package uses -----------------------------------------------------
    @property
    def dataset(self) -> DatasetEntry:
        """The served (or attached) Rerun dataset; raises `RuntimeError` outside the `with` block."""
        if self._dataset is None:
            raise RuntimeError("RecordingServer used outside its `with` block")
        return self._dataset

    @property
    def episodes(self) -> list[str]:
        """Episode ids (recording ids = segment ids), sorted."""
        return sorted(self.dataset.segment_ids())

    def source_of(self, episode: str) -> str:
        """The user's file for an episode (the server URL when attached), for error messages."""
        rec = self.recordings.get(episode)
        return str(rec.source) if rec else self.url


def open_recordings(recordings: str | Path | Sequence[str | Path], **overrides: Any) -> RecordingServer:
    """Shorthand: `with open_recordings("recordings/") as server: ...`."""
    paths = (recordings,) if isinstance(recordings, str | Path) else tuple(recordings)
    return RecordingServer(ServerConfig(recordings=tuple(str(p) for p in paths), **overrides))
