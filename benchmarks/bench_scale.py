"""Sharded conversion: inline vs datatrove's local executor on the same generated recordings.

Every contender converts the same PushT sample recordings (both cameras, libsvtav1) with the
`lerobot-nb convert` CLI in its own subprocess; wall time includes start-up, discovery, every
shard and the aggregation (its share is printed from the summary line). One run measures all,
so the ratios compare like with like on this machine.

    .venv/bin/python benchmarks/bench_scale.py                 # 16 episodes of 8 s
    .venv/bin/python benchmarks/bench_scale.py --episodes 40 --duration-s 10

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
    "inline, 2 workers": ["--workers", "2"],
    "local, 2 tasks x 1 worker": ["--executor", "local", "--tasks", "2", "--workers", "1"],
    "local, 1 task x 2 workers": ["--executor", "local", "--tasks", "1", "--workers", "2"],
}


def recordings(root: Path, episodes: int, duration_s: float, size: int) -> Path:
    from lerobot_nb.sources.sample import SampleConfig, write_sample_recordings

    config = SampleConfig(
        episode_count=episodes, duration_s=duration_s, top_size=size, top_hz=15, wrist_hz=15, mcap=False
    )
    write_sample_recordings(root, config)
    return root / "rrd"


def run(rrd: Path, out: Path, flags: list[str]) -> tuple[float, int, float | None]:
    """Wall seconds, frames written and the aggregation's seconds (None inline) of one convert."""
    cli = [sys.executable, "-m", "lerobot_nb.cli.main", "convert", str(rrd), "--output", str(out)]
    started = time.perf_counter()
    done = subprocess.run([*cli, *ALIGN, *flags], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"convert {' '.join(flags)} failed:\n{done.stderr[-3000:]}")
    frames = int(re.search(r"; (\d+) frames in", done.stdout).group(1))  # type: ignore[union-attr]
    agg = re.search(r"aggregation ([\d.]+) s", done.stdout)
    return wall, frames, float(agg.group(1)) if agg else None


def project(row: tuple[str, float, int, float | None], episodes: int, target: int, tasks: int) -> None:
    """Wall time of `target` episodes on `tasks` Slurm tasks, from the 2-task run measured here."""
    _, wall, _frames, agg = row
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
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--duration-s", type=float, default=8.0)
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
            f"{'contender':<28} {'wall s':>8} {'frames':>7} {'frames/s':>9} {'vs inline':>10} {'aggregation':>12}"
        )
        for name, wall, frames, agg in rows:
            share = f"{agg:.1f} s {100 * agg / wall:.0f}%" if agg is not None else "-"
            print(
                f"{name:<28} {wall:>8.1f} {frames:>7} {frames / wall:>9.0f} {base / wall:>9.2f}x {share:>12}"
            )
        project(rows[1], args.episodes, args.project_episodes, args.project_tasks)  # type: ignore[arg-type]
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
