"""Shared test fixtures: the read-only shared fixtures and a real Rerun server on loopback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEROBOT_NB_SHARED", ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures"
RRD_FIXTURES = sorted((FIXTURES / "rrd").glob("*.rrd"))
MCAP_DIR = FIXTURES / "mcap"
LEROBOT_FIXTURES = FIXTURES / "lerobot"
HAND_FIXTURES = FIXTURES / "hands"


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
    for f in RRD_FIXTURES:
        shutil.copy(f, out / f.name)
    return out


@pytest.fixture(scope="session")
def fixture_server() -> Iterator[object]:
    """A real Rerun server on 127.0.0.1 serving the shared `.rrd` fixtures (read-only use)."""
    from lerobot_nb.server import RecordingServer, ServerConfig

    with RecordingServer(ServerConfig(recordings=tuple(str(p) for p in RRD_FIXTURES))) as server:
        yield server
