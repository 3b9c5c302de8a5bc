"""Sharded conversion: inline vs datatrove's local executor on the same generated recordings.

Every contender converts the same PushT sample recordings (both cameras, libsvtav1) with the
`lerobot-nb convert` CLI in its own subprocess; wall time includes start-up, discovery, every
shard and the aggregation (its share is printed from the summary line). Peak RSS is the largest
VmHWM of any process of the run (driver, pool workers, Rerun server), sampled from /proc. One
run measures all, so the ratios compare like with like on this machine. "inline, 1 worker" is the
one-process baseline the shards parallelise; inline's default (2 workers) already encodes two
videos at once. lerobot's own writer (`--writer lerobot`) is the end-to-end reference, as in
bench_export.py.

    .venv/bin/python benchmarks/bench_scale.py                 # 40 episodes of 4 s
    .venv/bin/python benchmarks/bench_scale.py --episodes 16 --duration-s 8

Target (issue 11): 2 tasks >= 1.7x inline throughput on 2 cores; aggregation <= 10 % of the total.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ALIGN = [
    "--fps", "15", "--index", "real_time", "--action-path", "/action", "--state-path", "/observation/state",
    "--task-path", "/language_instruction", "--image", "top:/camera/top:video",
    "--image", "wrist:/camera/wrist:compressed", "--no-progress",
]  # fmt: skip
CONTENDERS = {
    "inline, 1 worker": ["--workers", "1"],
    "inline, 2 workers": ["--workers", "2"],
    "local, 2 tasks x 1 worker": ["--executor", "local", "--tasks", "2", "--workers", "1"],
    "local, 1 task x 2 workers": ["--executor", "local", "--tasks", "1", "--workers", "2"],
    "inline, lerobot's writer": ["--writer", "lerobot"],
}


def recordings(root: Path, episodes: int, duration_s: float, size: int) -> Path:
    from lerobot_nb.sources.sample import SampleConfig, write_sample_recordings

    config = SampleConfig(
        episode_count=episodes, duration_s=duration_s, top_size=size, top_hz=15, wrist_hz=15, mcap=False
    )
    write_sample_recordings(root, config)
    return root / "rrd"


def run(rrd: Path, out: Path, flags: list[str]) -> tuple[float, int, float | None, float]:
    """Wall seconds, frames written, the aggregation's seconds (None inline) and the peak RSS (MB)
    of the largest process of one convert."""
    cli = [sys.executable, "-m", "lerobot_nb.cli.main", "convert", str(rrd), "--output", str(out)]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen([*cli, *ALIGN, *flags], stdout=stdout, stderr=stderr, text=True)
        peak = _watch(proc)
        wall = time.perf_counter() - started
        stdout.seek(0), stderr.seek(0)
        printed, errors = stdout.read(), stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"convert {' '.join(flags)} failed:\n{errors[-3000:]}")
    frames = int(re.search(r"; (\d+) frames in", printed).group(1))  # type: ignore[union-attr]
    agg = re.search(r"aggregation ([\d.]+) s", printed)
    return wall, frames, float(agg.group(1)) if agg else None, peak


def _watch(proc: subprocess.Popen[str]) -> float:
    """Wait for `proc`, sampling the VmHWM (own peak RSS, MB) of it and every descendant."""
    peak: dict[int, float] = {}
    while proc.poll() is None:
        for pid in _tree(proc.pid):
            peak[pid] = max(peak.get(pid, 0.0), _hwm_mb(pid))
        time.sleep(0.05)
    return max(peak.values(), default=0.0)


def _tree(root: int) -> list[int]:
    """`root` and its descendants, from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(status.parent.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def project(row: tuple[str, float, int, float | None, float], episodes: int, target: int, tasks: int) -> None:
    """Wall time of `target` episodes on `tasks` Slurm tasks, from the 2-task run measured here."""
    _, wall, _frames, agg, _rss = row
    per_task_s = (wall - (agg or 0.0)) * 2 / episodes  # one core-pair task's seconds per episode
    agg_per_episode = (agg or 0.0) / episodes  # the merge is one sequential pass over all episodes
    shards = per_task_s * target / tasks
    merge = agg_per_episode * target
    print(
        f"\nprojection: {target} episodes like these on {tasks} Slurm tasks (1 task per 2-core node as "
        f"here, no queueing, inputs and the build area on a shared file system as fast as this disk): "
        f"shards {shards / 60:.1f} min + aggregation {merge / 60:.1f} min = {(shards + merge) / 60:.1f} min "
        f"(per episode: {per_task_s:.2f} s in a task, {agg_per_episode * 1000:.0f} ms to merge)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--duration-s", type=float, default=4.0)
    parser.add_argument("--top-size", type=int, default=256, help="top camera size (px)")
    parser.add_argument("--project-episodes", type=int, default=100_000, help="projection: episodes")
    parser.add_argument("--project-tasks", type=int, default=256, help="projection: Slurm tasks")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_scale-"))
    try:
        rrd = recordings(work / "sample", args.episodes, args.duration_s, args.top_size)
        rows = []
        for name, flags in CONTENDERS.items():
            rows.append((name, *run(rrd, work / re.sub(r"\W+", "_", name), flags)))
        base = rows[0][1]
        print(
            f"\n{args.episodes} PushT episodes of {args.duration_s:g} s, top {args.top_size}px + wrist, 15 fps, libsvtav1"
        )
        print(
            f"{'contender':<28} {'wall s':>8} {'frames':>7} {'frames/s':>9} {'vs inline 1w':>12} "
            f"{'aggregation':>12} {'peak RSS MB':>12}"
        )
        for name, wall, frames, agg, rss in rows:
            share = f"{agg:.1f} s {100 * agg / wall:.0f}%" if agg is not None else "-"
            print(
                f"{name:<28} {wall:>8.1f} {frames:>7} {frames / wall:>9.0f} {base / wall:>11.2f}x "
                f"{share:>12} {rss:>12.0f}"
            )
        sharded = next(r for r in rows if r[0].startswith("local, 2 tasks"))
        default = next(r for r in rows if r[0] == "inline, 2 workers")
        print(f"\n2 tasks / inline default (2 workers) throughput = {default[1] / sharded[1]:.2f}x")
        project(sharded, args.episodes, args.project_episodes, args.project_tasks)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
