"""The local Rerun server: registration, attach, duplicates, and that it always shuts down."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import ROOT, free_port
from fixture_files import fixture, fixture_glob

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.server import RecordingServer, ServerConfig, open_recordings


def _port(url: str) -> int:
    port = urlparse(url).port
    assert port is not None
    return port


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_closed(port: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _port_open(port):
            return True
        time.sleep(0.05)
    return False


def test_serves_the_fixtures_on_loopback(fixture_server: RecordingServer) -> None:
    assert fixture_server.episodes == ["episode_0", "episode_1"]
    parsed = urlparse(fixture_server.url)
    assert parsed.scheme == "rerun+http" and parsed.hostname == "127.0.0.1"
    assert _port_open(_port(fixture_server.url))
    assert {ep: Path(rec.source).name for ep, rec in fixture_server.recordings.items()} == {
        "episode_0": "episode_0.rrd",
        "episode_1": "episode_1.rrd",
    }
    assert fixture_server.source_of("episode_1") == str(fixture("rrd/episode_1.rrd").resolve())


def test_port_is_closed_after_the_block() -> None:
    with open_recordings(fixture_glob("rrd", "*.rrd")) as server:
        port = _port(server.url)
        assert _port_open(port)
    assert _wait_closed(port)
    with pytest.raises(RuntimeError, match="outside its `with` block"):
        _ = RecordingServer(ServerConfig(recordings=("x",))).dataset


@pytest.mark.parametrize("exc_type", [ValueError, KeyboardInterrupt])
def test_port_is_closed_after_an_exception(exc_type: type[BaseException]) -> None:
    port = 0
    with pytest.raises(exc_type), open_recordings(fixture_glob("rrd", "*.rrd")) as server:
        port = _port(server.url)
        raise exc_type("boom")
    assert port and _wait_closed(port)


def test_ctrl_c_while_registering_shuts_the_server_down(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, int] = {}

    def interrupted(self: RecordingServer, recordings: object) -> None:
        assert self._server is not None
        seen["port"] = _port(self._server.url())
        raise KeyboardInterrupt

    monkeypatch.setattr(RecordingServer, "_register", interrupted)
    with pytest.raises(KeyboardInterrupt), open_recordings(fixture_glob("rrd", "*.rrd")):
        pass
    assert _wait_closed(seen["port"])


def test_ctrl_c_in_a_child_process_leaves_nothing_behind(tmp_path: Path) -> None:
    """SIGINT while serving: the process exits through __exit__, the port closes, no child stays."""
    import psutil

    script = textwrap.dedent(
        f"""
        import sys, time
        from lerobot_nb.server import open_recordings
        with open_recordings({[str(p) for p in fixture_glob("rrd", "*.rrd")]!r}) as server:
            try:  # the URL is printed inside the try: SIGINT may arrive right after it
                print(server.url, flush=True)
                time.sleep(60)
            finally:
                print("closing", flush=True)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        port = _port(url)
        assert _port_open(port)
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        assert "closing" in proc.stdout.read()
        assert _wait_closed(port)
        assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_port_in_use_is_one_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with (
            pytest.raises(LerobotNbError) as err,
            RecordingServer(
                ServerConfig(recordings=tuple(map(str, fixture_glob("rrd", "*.rrd"))), port=port)
            ),
        ):
            pass
    assert str(err.value) == f"127.0.0.1:{port}: port {port} is already in use (pass port=0 for a free one)"


def test_fixed_free_port_is_used() -> None:
    port = free_port()
    with RecordingServer(
        ServerConfig(recordings=tuple(map(str, fixture_glob("rrd", "*.rrd"))), port=port)
    ) as server:
        assert _port(server.url) == port
    assert _wait_closed(port)


def test_dead_server_url_fails_fast_with_the_address() -> None:
    port = free_port()  # a port that nobody listens on
    url = f"rerun+http://127.0.0.1:{port}"
    start = time.monotonic()
    with pytest.raises(LerobotNbError) as err, RecordingServer(ServerConfig(server_url=url)):
        pass
    assert str(err.value) == f"{url}: the server does not answer"
    assert time.monotonic() - start < 10


def test_bad_server_url() -> None:
    with (
        pytest.raises(LerobotNbError, match=r"^nonsense: not a server URL"),
        RecordingServer(ServerConfig(server_url="nonsense")),
    ):
        pass


def test_attach_to_a_running_server(fixture_server: RecordingServer) -> None:
    with RecordingServer(ServerConfig(server_url=fixture_server.url, dataset_name="recordings")) as attached:
        assert attached.episodes == fixture_server.episodes
        assert attached.url == fixture_server.url
        assert attached.recordings == {}
        assert attached.source_of("episode_0") == fixture_server.url
    # Attaching never owns the server: it is still up.
    assert fixture_server.episodes == ["episode_0", "episode_1"]
    assert _port_open(_port(fixture_server.url))


def test_attach_to_an_unknown_dataset_names_it(fixture_server: RecordingServer) -> None:
    with (
        pytest.raises(LerobotNbError) as err,
        RecordingServer(ServerConfig(server_url=fixture_server.url, dataset_name="nope")),
    ):
        pass
    assert str(err.value).startswith(f"{fixture_server.url}: dataset 'nope' not available")


def _duplicate_folder(tmp_path: Path) -> tuple[Path, Path, Path]:
    folder = tmp_path / "dup"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    first, second = folder / "a" / "episode_0.rrd", folder / "b" / "copy_of_0.rrd"
    shutil.copy(fixture("rrd/episode_0.rrd"), first)
    shutil.copy(fixture("rrd/episode_0.rrd"), second)  # same recording id inside
    return folder, first, second


def test_duplicate_recording_ids_error_names_both_files(tmp_path: Path) -> None:
    folder, first, second = _duplicate_folder(tmp_path)
    with pytest.raises(LerobotNbError) as err, open_recordings(folder):
        pass
    msg = str(err.value)
    assert msg.startswith(f"{second}: recording id 'episode_0' also in {first.resolve()}")
    assert "on_duplicate" in msg


@pytest.mark.parametrize(("policy", "kept"), [("skip", "a"), ("replace", "b")])
def test_duplicate_recording_ids_skip_or_replace(tmp_path: Path, policy: str, kept: str) -> None:
    folder, _, _ = _duplicate_folder(tmp_path)
    with open_recordings(folder, on_duplicate=policy) as server:
        assert server.episodes == ["episode_0"]
        assert Path(server.source_of("episode_0")).parent.name == kept


def test_mixed_folder_of_rrd_and_mcap(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(fixture("rrd/episode_0.rrd"), folder)
    shutil.copy(fixture("mcap/ros2_robot.mcap"), folder)
    with open_recordings(folder) as server:
        assert server.episodes == ["episode_0", "ros2_robot"]
        assert server.recordings["ros2_robot"].kind == "mcap"
        assert server.recordings["ros2_robot"].rrd.suffix == ".rrd"
        assert server.source_of("ros2_robot") == str((folder / "ros2_robot.mcap").resolve())


def test_no_recordings_given() -> None:
    with pytest.raises(LerobotNbError, match="no recordings given"), RecordingServer(ServerConfig()):
        pass


def test_config_or_overrides_not_both() -> None:
    with pytest.raises(TypeError):
        RecordingServer(ServerConfig(), port=1)
