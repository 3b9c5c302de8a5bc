"""The one resolver of third-party test files (never committed here): `fixture("rrd/episode_0.rrd")`.

Every file a test may ask for is listed in `tests/fixtures.manifest.yaml` (path relative to the
fixtures folder, size, sha256, the source URL at a pinned commit or `null`, license). Where the
files are looked for, per request, first folder holding all of it wins:

1. `$LEROBOT_NB_FIXTURES` (a folder laid out like `../shared/fixtures`);
2. `../shared/fixtures` beside the repository (`$LEROBOT_NB_SHARED/fixtures` if that is set);
3. the download cache `scripts/fetch-fixtures.sh` fills (`$LEROBOT_NB_FIXTURE_CACHE`, default
   `~/.cache/lerobot_nb/fixtures`).

When none holds it, the test that asked is skipped (one reason for all tests when no folder holds
any fixture); under `CI=true` it fails instead, so CI never passes by skipping. Asking for a path
the manifest does not list is a test bug and always fails.

`python tests/fixture_files.py fetch` (what `scripts/fetch-fixtures.sh` runs) downloads every entry
that has a source into the cache and verifies its sha256.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import sys
import urllib.error
import urllib.request
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import NoReturn, TypedDict

import yaml

__all__ = ["MANIFEST", "fixture", "fixture_glob", "fixture_names", "fixture_roots", "manifest", "sha256_of"]

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = Path(__file__).with_name("fixtures.manifest.yaml")
HOW_TO_GET = (
    "set LEROBOT_NB_FIXTURES to a fixtures folder, put ../shared/fixtures beside the repository, "
    "or run scripts/fetch-fixtures.sh"
)


class Entry(TypedDict):
    """One manifest entry: a file below the fixtures folder."""

    path: str
    size: int
    sha256: str
    source: str | None  # raw URL at a pinned commit; None: only ../shared or LEROBOT_NB_FIXTURES have it
    license: str
    note: str


@functools.cache
def manifest(path: Path = MANIFEST) -> dict[str, Entry]:
    """The manifest's entries by relative path."""
    raw = yaml.safe_load(path.read_text())
    return {e["path"]: Entry(**{"note": "", **e}) for e in raw["files"]}


def cache_dir() -> Path:
    """The folder `scripts/fetch-fixtures.sh` downloads into."""
    cache = os.environ.get("LEROBOT_NB_FIXTURE_CACHE")
    return Path(cache) if cache else Path.home() / ".cache" / "lerobot_nb" / "fixtures"


def fixture_roots() -> list[Path]:
    """The folders searched, in order (some may not exist)."""
    roots = []
    if os.environ.get("LEROBOT_NB_FIXTURES"):
        roots.append(Path(os.environ["LEROBOT_NB_FIXTURES"]))
    shared = Path(os.environ.get("LEROBOT_NB_SHARED", ROOT.parent / "shared"))
    roots.append(shared / "fixtures")
    roots.append(cache_dir())
    return roots


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _under(rel: str) -> list[str]:
    """The manifest files `rel` names: itself, or every file below it when it is a folder ("": all)."""
    rel = rel.strip("/")
    return [p for p in manifest() if not rel or p == rel or p.startswith(rel + "/")]


def _fail_or_skip(reason: str) -> NoReturn:
    import pytest

    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _missing(what: str, files: list[str]) -> NoReturn:
    roots = fixture_roots()
    looked = ", ".join(map(str, roots))
    if not any((root / p).is_file() for root in roots for p in manifest()):
        _fail_or_skip(f"third-party test fixtures not found (looked in {looked}): {HOW_TO_GET}")
    sourceless = [p for p in files if manifest()[p]["source"] is None]
    why = (
        f"; {sourceless[0]} has no public source (only ../shared or LEROBOT_NB_FIXTURES provide it)"
        if sourceless
        else "; run scripts/fetch-fixtures.sh"
    )
    _fail_or_skip(f"third-party fixture {what} is not complete in any of {looked}{why}")


def _resolve(what: str, files: list[str]) -> Path:
    """The first root holding every one of `files`; skips (fails under CI) when there is none."""
    if not files:
        import pytest

        pytest.fail(f"{what} is not in {MANIFEST.name}: list every fixture file a test reads", pytrace=False)
    for root in fixture_roots():
        if all((root / p).is_file() for p in files):
            return root
    _missing(what, files)


def fixture(rel: str) -> Path:
    """The path of fixture `rel` (relative to the fixtures folder: a file or a folder), read-only.

    A folder resolves to a root holding every manifest file below it (`fixture("")`: the root that
    holds them all). Skips the calling test when it is nowhere (fails under `CI=true`). Copy it
    into `tmp_path` before anything writes next to it.
    """
    return _resolve(rel, _under(rel)) / rel.strip("/")


def fixture_names(folder: str, pattern: str) -> list[str]:
    """The manifest paths in `folder` matching `pattern` (`*` stays within one path segment), sorted.

    Needs no fixture on disk: parametrize over these, then call `fixture(name)` in the test.
    """
    segments = PurePosixPath(pattern).parts
    found = []
    for path in _under(folder):
        rest = PurePosixPath(path).relative_to(folder.strip("/")).parts
        if len(rest) == len(segments) and all(map(fnmatchcase, rest, segments)):
            found.append(path)
    return sorted(found)


def fixture_glob(folder: str, pattern: str) -> list[Path]:
    """The fixture files in `folder` matching `pattern`, sorted, all from one root; skips when missing."""
    names = fixture_names(folder, pattern)
    root = _resolve(f"{folder}/{pattern}", names)
    return [root / name for name in names]


class _Unreachable(Exception):
    """The download source cannot be reached at all (no network, DNS): trying the rest is pointless."""


def _download(entry: Entry, dest: Path) -> str | None:
    """Fetch one entry into `dest` (atomically, size and sha256 checked); the problem in words, or None."""
    assert entry["source"] is not None
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(entry["source"], timeout=30) as response, part.open("wb") as out:
            while block := response.read(1 << 20):
                out.write(block)
    except urllib.error.HTTPError as e:
        part.unlink(missing_ok=True)
        return f"HTTP {e.code} {e.reason}"
    except OSError as e:  # URLError (DNS, refused, no such file:// file) and timeouts
        part.unlink(missing_ok=True)
        raise _Unreachable(str(getattr(e, "reason", e))) from e
    size, got = part.stat().st_size, sha256_of(part)
    if (size, got) != (entry["size"], entry["sha256"]):
        part.unlink()
        return (
            f"got {size} bytes with sha256 {got}, the manifest says {entry['size']} bytes, {entry['sha256']}"
        )
    part.replace(dest)
    return None


def _present(entry: Entry, dest: Path) -> bool:
    return dest.is_file() and dest.stat().st_size == entry["size"] and sha256_of(dest) == entry["sha256"]


def fetch(cache: Path, manifest_path: Path = MANIFEST) -> int:
    """Fill `cache` with every entry that has a source; 0 when all of them are there and verified.

    Prints one line per file it could not get, stops at the first source it cannot reach at all.
    """
    entries = list(manifest(manifest_path).values())
    wanted = [e for e in entries if e["source"] is not None]
    have = fetched = failed = 0
    for n, entry in enumerate(wanted):
        dest = cache / entry["path"]
        if _present(entry, dest):
            have += 1
            continue
        try:
            problem = _download(entry, dest)
        except _Unreachable as e:
            print(
                f"error: cannot download {entry['source']}: {e}; stopped there (no network?), "
                f"{len(wanted) - n} files not fetched",
                file=sys.stderr,
            )
            break
        if problem is None:
            fetched += 1
        else:
            failed += 1
            print(f"error: {entry['path']} from {entry['source']}: {problem}", file=sys.stderr)
    missing = len(wanted) - have - fetched
    print(
        f"{cache}: {have} already present, {fetched} downloaded, {missing} missing of {len(wanted)} "
        f"downloadable fixtures; {len(entries) - len(wanted)} more have no public source (only "
        "../shared/fixtures or $LEROBOT_NB_FIXTURES provide them; tests that need them skip without)"
    )
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    """`fetch [--cache DIR] [--manifest FILE]`: download the manifest's fixtures into the cache."""
    parser = argparse.ArgumentParser(prog="fetch-fixtures", description="download the test fixtures")
    parser.add_argument("command", choices=["fetch"])
    parser.add_argument(
        "--cache", type=Path, help="default: $LEROBOT_NB_FIXTURE_CACHE or ~/.cache/lerobot_nb/fixtures"
    )
    parser.add_argument(
        "--manifest", type=Path, default=MANIFEST, help="default: tests/fixtures.manifest.yaml"
    )
    args = parser.parse_args(argv)
    return fetch(args.cache or cache_dir(), args.manifest)


if __name__ == "__main__":
    sys.exit(main())
