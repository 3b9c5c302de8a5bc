"""The fixture mechanism: the manifest describes the real files, missing fixtures skip with one reason
(fail under CI=true) in a real pytest process, and fetch-fixtures.sh verifies what it downloads."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import ROOT
from fixture_files import fixture, fixture_names, manifest, sha256_of

TESTS = Path(__file__).resolve().parent
RAW_URL = re.compile(r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+")
NO_FIXTURES = "third-party test fixtures not found (looked in "


def test_manifest_entries_are_complete_and_pinned() -> None:
    entries = manifest()
    for path, e in entries.items():
        assert not path.startswith("/") and ".." not in path.split("/"), path
        assert re.fullmatch(r"[0-9a-f]{64}", e["sha256"]) and e["size"] > 0, path
        assert e["license"], path
        if e["source"] is None:  # no public file has these bytes: say where they come from instead
            assert "only ../shared or LEROBOT_NB_FIXTURES" in e["note"], path
        else:
            assert RAW_URL.fullmatch(e["source"]), e["source"]


def test_manifest_sizes_and_hashes_equal_the_files() -> None:
    """Every file of the fixtures folder is listed, with its exact size and sha256."""
    root = fixture("")
    entries = manifest()
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    unlisted = sorted(on_disk - set(entries))
    assert not unlisted, "add to the manifest:\n" + "\n".join(
        f"  - path: {p!r}\n    size: {(root / p).stat().st_size}\n    sha256: {sha256_of(root / p)}"
        for p in unlisted
    )
    wrong = [
        f"{p}: {(root / p).stat().st_size} bytes, sha256 {sha256_of(root / p)}"
        for p, e in entries.items()
        if ((root / p).stat().st_size, sha256_of(root / p)) != (e["size"], e["sha256"])
    ]
    assert not wrong, wrong


def test_names_come_from_the_manifest_without_any_file() -> None:
    assert fixture_names("rrd", "*.rrd") == ["rrd/episode_0.rrd", "rrd/episode_1.rrd"]
    assert fixture_names("hands/mmpose_rhd", "*.png") == [
        f"hands/mmpose_rhd/{n}111.png" for n in ("00", "01", "11")
    ]
    assert fixture_names("lerobot", "*/meta/info.json")[0] == "lerobot/record-test/meta/info.json"
    assert fixture_names("rrd", "*.mcap") == []


PROBE = """
import pytest
from fixture_files import fixture, fixture_glob, fixture_names


@pytest.fixture(scope="session")
def served():
    return fixture_glob("rrd", "*.rrd")


def test_a_file():
    fixture("rrd/episode_0.rrd")


def test_a_folder():
    fixture("lerobot/record-test")


@pytest.mark.parametrize("name", fixture_names("rrd", "*.rrd"))
def test_each(name):
    fixture(name)


def test_session_fixture(served):
    pass


def test_needs_no_fixture():
    assert len(fixture_names("mcap", "rosbag2_*.mcap")) == 4


def test_unlisted_path_is_a_bug():
    fixture("rrd/episode_9.rrd")
"""


def _pytest(args: list[str], tmp_path: Path, *, ci: bool, cwd: Path) -> subprocess.CompletedProcess[str]:
    """pytest in a fresh process with every fixture root empty (as in a fresh clone)."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS") and "XDIST" not in k}
    env |= {
        "LEROBOT_NB_FIXTURES": str(empty),
        "LEROBOT_NB_SHARED": str(tmp_path / "nonexistent"),
        "LEROBOT_NB_FIXTURE_CACHE": str(empty),
        "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT), env.get("PYTHONPATH", "")]),
    }
    if ci:
        env["CI"] = "true"
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def _summary(out: str) -> str:
    return out.strip().splitlines()[-1].split(" in ")[0]


def _skip_reasons(out: str) -> set[str]:
    return {line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("SKIPPED [")}


def test_without_fixtures_tests_skip_with_one_reason_and_fail_under_ci(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(PROBE)
    run = _pytest(["test_probe.py"], tmp_path, ci=False, cwd=tmp_path)
    assert _summary(run.stdout) == "1 failed, 1 passed, 5 skipped", run.stdout
    (reason,) = _skip_reasons(run.stdout)
    assert reason.startswith(NO_FIXTURES) and reason.endswith("or run scripts/fetch-fixtures.sh"), reason
    assert "rrd/episode_9.rrd is not in fixtures.manifest.yaml" in run.stdout
    ci = _pytest(["test_probe.py"], tmp_path, ci=True, cwd=tmp_path)
    assert _summary(ci.stdout) == "5 failed, 1 passed, 1 error", ci.stdout
    assert "skipped" not in _summary(ci.stdout)


def test_a_real_test_module_skips_cleanly_without_fixtures(tmp_path: Path) -> None:
    """Collection survives (parametrized over fixture names), the fixture tests skip, the rest pass."""
    module = str(TESTS / "test_hands_geometry.py")
    run = _pytest([module], tmp_path, ci=False, cwd=ROOT)
    counts = dict((w, int(n)) for n, w in re.findall(r"(\d+) (\w+)", _summary(run.stdout)))
    assert set(counts) == {"passed", "skipped"} and counts["skipped"] >= 3, run.stdout
    (reason,) = _skip_reasons(run.stdout)
    assert reason.startswith(NO_FIXTURES), reason
    ci = _pytest([module], tmp_path, ci=True, cwd=ROOT)
    assert _summary(ci.stdout) == f"{counts['skipped']} failed, {counts['passed']} passed", ci.stdout


def _fetch(cache: Path, manifest_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "bash",
            str(ROOT / "scripts/fetch-fixtures.sh"),
            "--cache",
            str(cache),
            "--manifest",
            str(manifest_path),
        ],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_fetch_verifies_is_idempotent_and_says_what_it_could_not_get(tmp_path: Path) -> None:
    src = tmp_path / "upstream"
    src.mkdir()
    (src / "a.bin").write_bytes(b"alpha" * 100)
    (src / "b.bin").write_bytes(b"bravo" * 100)
    good = {"path": "x/a.bin", "size": 500, "sha256": sha256_of(src / "a.bin"), "license": "MIT"}
    tampered = {"path": "x/b.bin", "size": 500, "sha256": "0" * 64, "license": "MIT"}  # wrong hash
    unreachable = {"path": "y/c.bin", "size": 1, "sha256": "1" * 64, "license": "MIT"}
    entries = [
        {**good, "source": (src / "a.bin").as_uri()},
        {**tampered, "source": (src / "b.bin").as_uri()},
        {
            "path": "z/local.bin",
            "size": 1,
            "sha256": "2" * 64,
            "source": None,
            "license": "n/a",
            "note": "only here",
        },
        {**unreachable, "source": (src / "missing.bin").as_uri()},
    ]
    listing = tmp_path / "manifest.yaml"
    listing.write_text(yaml.safe_dump({"files": entries}))
    cache = tmp_path / "cache"
    first = _fetch(cache, listing)
    assert first.returncode == 1, first
    assert first.stdout.startswith(
        f"{cache}: 0 already present, 1 downloaded, 2 missing of 3 downloadable fixtures;"
    )
    assert "1 more have no public source" in first.stdout
    errors = first.stderr.splitlines()
    assert errors[0].startswith(f"error: x/b.bin from {(src / 'b.bin').as_uri()}: got 500 bytes with sha256 ")
    assert errors[1].startswith(f"error: cannot download {(src / 'missing.bin').as_uri()}: ")
    assert errors[1].endswith("stopped there (no network?), 1 files not fetched") and len(errors) == 2
    assert sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file()) == ["x/a.bin"]
    assert (cache / "x/a.bin").read_bytes() == (src / "a.bin").read_bytes()

    listing.write_text(yaml.safe_dump({"files": [{**good, "source": (src / "nowhere.bin").as_uri()}]}))
    again = _fetch(cache, listing)  # verified files are kept, not fetched again
    assert (again.returncode, again.stderr) == (0, ""), again
    assert again.stdout.startswith(f"{cache}: 1 already present, 0 downloaded, 0 missing of 1 downloadable")


def test_fetch_script_refuses_a_python_without_yaml(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts/fetch-fixtures.sh")],
        env={**os.environ, "PYTHON": str(fake)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: fetch-fixtures needs a Python with PyYAML")
