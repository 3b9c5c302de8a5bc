"""SIGKILL a real export subprocess at chosen and random points: the output path must always hold
either the previous dataset or the finished new one, and both must load in lerobot."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from export_support import check_loads_in_lerobot, synthetic_episode

from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.writer import export_dataset

TESTS = Path(__file__).resolve().parent

# The child exports episodes `ids` (lengths by seed) and, when told, stops at one point: it writes
# the marker file and sleeps there until the parent kills it. Patching happens only in the child.
CHILD = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {tests!r})
    from export_support import synthetic_episode
    from lerobot_nb.export import ExportConfig, export_dataset
    import lerobot_nb.export.writer as writer, lerobot_nb.export.video as video
    import lerobot_nb.export.publish as publish, lerobot_nb.export.parquet as parquet

    point, marker, out, mode, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split(",")

    def stop():
        open(marker, "w").close()
        while True:
            time.sleep(1)

    def after_calls(obj, name, n, when=lambda *a, **k: True):
        original = getattr(obj, name)
        seen = [0]
        def wrapped(*a, **k):
            if when(*a, **k):
                seen[0] += 1
                if seen[0] == n:
                    stop()
            return original(*a, **k)
        setattr(obj, name, wrapped)

    if point == "mid-data":          # between two episodes' parquet row groups
        after_calls(parquet.RollingParquet, "write", 3)
    elif point == "mid-video":       # inside an encoder, half way through an episode's frames
        push = video.SegmentEncoder.push
        def pushing(self, array):
            if self.count == 5 and "000002" in str(self.path):
                stop()
            push(self, array)
        video.SegmentEncoder.push = pushing
    elif point == "mid-append":      # while packets are copied into the rolled video file
        after_calls(video.VideoTrack, "append", 3)
    elif point == "mid-metadata":    # tasks/stats written, info.json not yet
        after_calls(writer, "write_json_atomic", 1, lambda path, data: path.name == "info.json")
    elif point == "mid-publish":     # everything flushed, just before the rename
        after_calls(publish, "_fsync_tree", 1)
    elif point == "after-swap":      # new dataset in place, old one not yet deleted
        exchange = publish._exchange
        def swapped(a, b):
            exchange(a, b)
            stop()
        publish._exchange = swapped

    episodes = (synthetic_episode(i, 14 + int(i[1:]), int(i[1:])) for i in ids)
    export_dataset(episodes, ExportConfig(output=out, overwrite=mode == "overwrite", resume=mode == "resume",
                                          progress=False, workers=2))
    print("done")
""").format(tests=str(TESTS))


def _episodes(ids: list[str]) -> list:  # type: ignore[type-arg]
    return [synthetic_episode(i, 14 + int(i[1:]), int(i[1:])) for i in ids]


def _start(
    tmp: Path, point: str, out: Path, mode: str, ids: list[str]
) -> tuple[subprocess.Popen[bytes], Path]:
    marker = tmp / f"marker-{point}-{mode}"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, point, str(marker), str(out), mode, ",".join(ids)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return proc, marker


def _kill_at(tmp: Path, point: str, out: Path, mode: str, ids: list[str]) -> None:
    proc, marker = _start(tmp, point, out, mode, ids)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"never reached {point}"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _state(out: Path) -> list[str] | None:
    """The recording ids of the dataset at `out` (None when there is none)."""
    if not out.exists():
        return None
    sources = json.loads((out / "meta/lerobot_nb.json").read_text())["episodes"]
    return sorted(sources, key=sources.get)


OLD = ["e0", "e1"]
NEW = ["e2", "e3", "e4"]
POINTS = ["mid-data", "mid-video", "mid-append", "mid-metadata", "mid-publish", "after-swap"]


@pytest.mark.slow
def test_sigkill_at_every_stage_leaves_previous_or_finished_dataset(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    export_dataset(_episodes(OLD), ExportConfig(output=str(previous), progress=False))
    loaded: set[tuple[str, ...]] = set()
    for mode, ids, finished in (
        ("fresh", NEW, NEW),
        ("overwrite", NEW, NEW),
        ("resume", OLD + NEW, OLD + NEW),
    ):
        for point in POINTS:
            if mode == "fresh" and point == "after-swap":
                continue  # nothing to swap with: a fresh dataset is published by a plain rename
            out = tmp_path / mode / "ds"
            out.parent.mkdir(exist_ok=True)
            if mode != "fresh" and not out.exists():
                os.system(f"cp -a {previous} {out}")
            before = _state(out)
            _kill_at(tmp_path, point, out, mode, ids)
            after = _state(out)
            expected = {None if before is None else tuple(before), tuple(finished)}
            assert (None if after is None else tuple(after)) in expected, (mode, point, after)
            if point == "after-swap":
                assert after == finished, (mode, point)  # the swap happened before the kill
            if after is not None and tuple(after) not in loaded:
                check_loads_in_lerobot(out, _episodes(after))
                loaded.add(tuple(after))
            # only hidden build folders are left beside the output, and the next run clears them
            assert {p.name for p in out.parent.iterdir() if not p.name.startswith(".")} <= {"ds"}
            # put the previous state back for the next kill point
            if after is not None and tuple(after) != (None if before is None else tuple(before)):
                os.system(f"rm -rf {out}")
                if before is not None:
                    os.system(f"cp -a {previous} {out}")
        # an uninterrupted run after all the kills finishes and removes the dead runs' folders
        out = tmp_path / mode / "ds"
        result = subprocess.run(
            [sys.executable, "-c", CHILD, "none", str(tmp_path / "m"), str(out), mode, ",".join(ids)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert _state(out) == finished
        assert [p.name for p in out.parent.iterdir()] == ["ds"]
    check_loads_in_lerobot(tmp_path / "resume" / "ds", _episodes(OLD + NEW))


def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    export_dataset(_episodes(OLD), ExportConfig(output=str(previous), progress=False))
    out = tmp_path / "runs" / "ds"
    out.parent.mkdir()
    rng = random.Random(4)
    seen = set()
    for _ in range(4):
        os.system(f"rm -rf {out} && cp -a {previous} {out}")
        proc, _marker = _start(tmp_path, "none", out, "overwrite", NEW)
        time.sleep(rng.uniform(0.5, 4.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = _state(out)
        assert state in (OLD, NEW)
        seen.add(tuple(state or ()))
    for state in seen:
        os.system(f"rm -rf {out} && cp -a {previous} {out}")
        if state == tuple(NEW):
            export_dataset(_episodes(NEW), ExportConfig(output=str(out), overwrite=True, progress=False))
        check_loads_in_lerobot(out, _episodes(list(state)))


DISK_FULL = textwrap.dedent("""
    import resource, signal, sys
    sys.path.insert(0, {tests!r})
    from export_support import synthetic_episode
    from lerobot_nb.export import ExportConfig, export_dataset
    from lerobot_nb.cli.main import run_cli
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    episodes = (synthetic_episode(f"n{{i}}", 40, i, h=96, w=128) for i in range(6))
    config = ExportConfig(output=sys.argv[1], overwrite=True, progress=False, crf=10)
    sys.exit(run_cli(lambda: export_dataset(episodes, config) and 0))
""").format(tests=str(TESTS))


@pytest.mark.parametrize("limit", [3_000, 60_000])
def test_disk_full_is_a_clear_error_and_keeps_the_previous_dataset(tmp_path: Path, limit: int) -> None:
    out = tmp_path / "ds"
    export_dataset(_episodes(OLD), ExportConfig(output=str(out), progress=False))
    result = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(out), str(limit)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {out}: cannot write"), result.stderr
    assert lines[0].endswith("(file size limit reached); nothing was published")
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]
    assert _state(out) == OLD
    check_loads_in_lerobot(out, _episodes(OLD))


def test_full_tmpfs_is_a_clear_error(tmp_path: Path) -> None:
    from lerobot_nb.errors import LerobotNbError

    disk = tmp_path / "small"
    disk.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        episodes = [synthetic_episode(f"n{i}", 40, i, h=96, w=128) for i in range(6)]
        with pytest.raises(LerobotNbError, match=r"no space left on the device\); nothing was published"):
            export_dataset(episodes, ExportConfig(output=str(disk / "ds"), progress=False, crf=10))
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_previous_dataset_moved_aside_by_a_dead_run_is_restored(tmp_path: Path) -> None:
    """Without renameat2 the publish moves the old dataset aside first; if the run dies right
    then, the next run puts it back instead of deleting it."""
    from lerobot_nb.export.publish import remove_stale_builds

    out = tmp_path / "ds"
    export_dataset(_episodes(OLD), ExportConfig(output=str(out), progress=False))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    aside = tmp_path / f".ds.building-{dead.stdout.strip()}-old"
    os.rename(out, aside)
    (tmp_path / f".ds.building-{dead.stdout.strip()}-abcd").mkdir()  # its half-built new dataset
    remove_stale_builds(out)
    assert _state(out) == OLD and [p.name for p in tmp_path.iterdir()] == ["ds"]
