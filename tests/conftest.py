"""Shared test fixtures: copies of the third-party `.rrd` fixtures and a real Rerun server on loopback.

Third-party files are reached only through `fixture_files` (`fixture`, `fixture_glob`).
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fixture_files import fixture_glob

from lerobot_nb.export.scheduling import forbid_realtime_scheduling

ROOT = Path(__file__).resolve().parents[1]

# Test helpers and lerobot's own tools open SVT-AV1 encoders in a worker's main thread too: as root
# that would make the worker, and every JupyterLab, kernel and Chromium it starts, real-time
# (SCHED_FIFO 99). Drop the capability once, before any of them runs.
forbid_realtime_scheduling()


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test session converts MCAP and writes samples into its own cache, never the user's.

    Session-scoped so that it is in place before module- and session-scoped fixtures run too.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEROBOT_NB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        yield


@pytest.fixture
def rrd_dir(tmp_path: Path) -> Path:
    """A writable copy of the two shared `.rrd` fixtures."""
    out = tmp_path / "rrd"
    out.mkdir()
    for f in fixture_glob("rrd", "*.rrd"):
        shutil.copy(f, out / f.name)
    return out


@pytest.fixture(scope="session")
def fixture_server() -> Iterator[object]:
    """A real Rerun server on 127.0.0.1 serving the shared `.rrd` fixtures (read-only use)."""
    from lerobot_nb.server import RecordingServer, ServerConfig

    recordings = tuple(str(p) for p in fixture_glob("rrd", "*.rrd"))
    with RecordingServer(ServerConfig(recordings=recordings)) as server:
        yield server


@pytest.fixture(scope="session")
def defects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample recordings with one planted defect each (`curate_defects.py`), written once per session."""
    from curate_defects import write_defect_recordings

    return write_defect_recordings(tmp_path_factory.mktemp("defects"))


#: Image mean/std: exact integer sums here, float32 `E[x^2] - E[x]^2` in lerobot, whose std drifts
#: (up to 1e-3 relative on these fixtures, far more on bright low-variance images: see test_stats.py).
IMAGE_MOMENTS = ("mean", "std")


def assert_stat_equal(feature: str, name: str, ours: object, want: object) -> None:
    """Bit for bit, except image mean (1e-5 relative) and std (5e-3) against lerobot's float32."""
    if "images" in feature and name in IMAGE_MOMENTS:
        rtol = 1e-5 if name == "mean" else 5e-3
        np.testing.assert_allclose(np.asarray(ours), np.asarray(want), rtol=rtol, err_msg=f"{feature} {name}")
    else:
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(want), err_msg=f"{feature} {name}")


def free_port() -> int:
    """A loopback port nobody listens on right now (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
