"""The one resolver of third-party test files (never committed here): `fixture("rrd/episode_0.rrd")`.

Where the files are looked for, first hit wins:
1. `$LEROBOT_NB_FIXTURES` (a folder laid out like `../shared/fixtures`);
2. `../shared/fixtures` beside the repository (`$LEROBOT_NB_SHARED/fixtures` if that is set);
3. the download cache `scripts/fetch-fixtures.sh` fills (`$LEROBOT_NB_FIXTURE_CACHE`, default
   `~/.cache/lerobot_nb/fixtures`).

When none holds the file, the test that asked is skipped with one reason naming the file and how
to get it; under `CI=true` it fails instead, so CI never passes by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["fixture", "fixture_glob", "fixture_roots"]

ROOT = Path(__file__).resolve().parents[1]


def fixture_roots() -> list[Path]:
    """The folders searched, in order (some may not exist)."""
    roots = []
    if os.environ.get("LEROBOT_NB_FIXTURES"):
        roots.append(Path(os.environ["LEROBOT_NB_FIXTURES"]))
    shared = Path(os.environ.get("LEROBOT_NB_SHARED", ROOT.parent / "shared"))
    roots.append(shared / "fixtures")
    cache = os.environ.get("LEROBOT_NB_FIXTURE_CACHE") or Path.home() / ".cache" / "lerobot_nb" / "fixtures"
    roots.append(Path(cache))
    return roots


def _missing(rel: str) -> None:
    where = ", ".join(str(r) for r in fixture_roots())
    reason = (
        f"third-party fixture {rel} not found (looked in {where}); set LEROBOT_NB_FIXTURES or run "
        "scripts/fetch-fixtures.sh"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def fixture(rel: str) -> Path:
    """The path of fixture `rel` (relative to the fixtures folder: a file or a folder), read-only.

    Skips the calling test when it is nowhere (fails under `CI=true`). Copy it into `tmp_path`
    before anything writes next to it.
    """
    for root in fixture_roots():
        path = root / rel
        if path.exists():
            return path
    _missing(rel)
    raise AssertionError("unreachable")


def fixture_glob(folder: str, pattern: str) -> list[Path]:
    """The files matching `pattern` in fixture folder `folder`, sorted; skips when there are none."""
    found = sorted(fixture(folder).glob(pattern))
    if not found:
        _missing(f"{folder}/{pattern}")
    return found
