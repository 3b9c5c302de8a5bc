"""Export speed and memory: native writer vs lerobot's writer vs rerun-lerobot 0.3 vs bare PyAV.

Every contender writes the same aligned frames with the same codec settings: PushT sample
recordings (gym-pusht) are aligned once and cached as one `.npz` per episode; each contender runs
in its own subprocess that reads the episodes lazily (one at a time) so its peak RSS (from
`wait4`) is its own. rerun-lerobot 0.3 converts the same `.rrd` recordings with its own CLI from a
separate virtualenv (its alignment included, so its time is an upper bound).

    .venv/bin/python benchmarks/bench_export.py                      # 10 episodes, libsvtav1
    .venv/bin/python benchmarks/bench_export.py --codec h264 --episodes 4
    .venv/bin/python benchmarks/bench_export.py --rerun-lerobot /tmp/rrlr/bin/python

Targets (issue 4): native >= 3x lerobot's writer frames/s; native within 1.5x of bare PyAV
(time ratio <= 1.5); RSS(100 episodes) <= 1.2x RSS(10 episodes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

CAMERAS = {"top": "/camera/top:video", "wrist": "/camera/wrist:compressed"}


# -- inputs ---------------------------------------------------------------------------------------
def prepare(cache: Path, episodes: int, fps: int) -> Path:
    """Sample recordings -> aligned episodes as npz (numeric, tasks, frames); returns the rrd folder."""
    from lerobot_nb.align import AlignConfig, EpisodeSkipped, iter_aligned
    from lerobot_nb.server import open_recordings
    from lerobot_nb.sources.sample import SampleConfig, sample_recordings

    sample = SampleConfig(
        episodes=episodes, top_size=480, wrist_size=128, top_hz=fps, wrist_hz=fps, mcap=False
    )
    rrd = sample_recordings(config=sample)
    marker = cache / "done.json"
    if marker.exists() and json.loads(marker.read_text()) == {"rrd": str(rrd), "fps": fps}:
        return rrd
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    config = AlignConfig(fps=fps, image=tuple(f"{k}:{v}" for k, v in CAMERAS.items()))
    with open_recordings(rrd) as server:
        for i, ep in enumerate(iter_aligned(server, config)):
            if isinstance(ep, EpisodeSkipped):
                raise SystemExit(f"sample episode skipped: {ep.reason}")
            arrays = {f"numeric/{k}": np.asarray(v) for k, v in ep.numeric.items()}
            arrays |= {"tasks": np.array(ep.tasks), "episode_id": np.array(ep.episode_id)}
            np.savez(cache / f"{i:04d}.npz", **arrays)  # type: ignore[arg-type]
            for key, src in ep.images.items():  # plain .npy: frames are read one at a time
                np.save(cache / f"{i:04d}.{key}.npy", np.stack(list(src)))
    marker.write_text(json.dumps({"rrd": str(rrd), "fps": fps}))
    return rrd


class NpyFrames:
    """A FrameSource reading one camera of one cached episode frame by frame from a .npy file
    (no mmap, no whole-episode array: the input side's memory stays one frame)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            self.shape, _, self.dtype = np.lib.format._read_array_header(f, version)  # type: ignore[attr-defined]
            self.offset = f.tell()

    @property
    def height(self) -> int:
        return int(self.shape[1])

    @property
    def width(self) -> int:
        return int(self.shape[2])

    def __len__(self) -> int:
        return int(self.shape[0])

    def __iter__(self) -> Iterator[np.ndarray]:
        size = int(np.prod(self.shape[1:]))
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            for _ in range(self.shape[0]):
                yield np.frombuffer(f.read(size), dtype=np.uint8).reshape(self.shape[1:])

    def encoded(self, codec: str) -> None:
        return None


def episodes(cache: Path, count: int, fps: int) -> Iterator[Any]:
    """`count` aligned episodes, cycling through the cached ones under new ids (lazy)."""
    from lerobot_nb.episode import AlignedEpisode

    files = sorted(cache.glob("*.npz"))
    for i in range(count):
        path = files[i % len(files)]
        with np.load(path) as z:
            numeric = {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith("numeric/")}
            images = {key: NpyFrames(path.with_suffix(f".{key}.npy")) for key in CAMERAS}
            tasks = tuple(str(t) for t in z["tasks"])
        n = len(tasks)
        yield AlignedEpisode(
            episode_id=f"ep{i:04d}",
            fps=fps,
            index="real_time",
            ticks=np.arange(n, dtype=np.int64),
            numeric=numeric,
            images=images,
            tasks=tasks,
        )


# -- contenders (each runs in a child process) ---------------------------------------------------
def run_writer(args: argparse.Namespace, writer: str, workers: int) -> dict[str, Any]:
    from lerobot_nb.export import ExportConfig, export_dataset

    if writer == "lerobot":  # lerobot pulls in torch: import before the clock starts, to be fair
        import lerobot.datasets  # noqa: F401
    out = Path(args.out)
    config = ExportConfig(
        output=str(out),
        writer=writer,
        codec=args.codec,
        workers=workers,  # type: ignore[arg-type]
        progress=False,
        overwrite=True,
    )
    started = time.perf_counter()
    summary = export_dataset(episodes(Path(args.cache), args.count, args.fps), config)
    return {"seconds": time.perf_counter() - started, "frames": summary.frames, "bytes": summary.bytes}


def run_bare_pyav(args: argparse.Namespace, threads: bool) -> dict[str, Any]:
    """The floor: only PyAV encoding of the same frames (one mp4 per camera, all episodes)."""
    import threading

    import av

    from lerobot_nb.export.config import ExportConfig
    from lerobot_nb.export.video import EncoderSettings

    settings = EncoderSettings.from_config(ExportConfig(codec=args.codec))  # type: ignore[arg-type]
    out = Path(args.out)
    out.mkdir(parents=True)

    def encode(camera: str) -> None:
        with av.open(str(out / f"{camera}.mp4"), "w") as container:
            stream: Any = None
            pts = 0
            for ep in episodes(Path(args.cache), args.count, args.fps):
                src = ep.images[camera]
                if stream is None:
                    stream = container.add_stream(settings.codec, rate=args.fps, options=settings.options())
                    stream.width, stream.height, stream.pix_fmt = src.width, src.height, settings.pix_fmt
                for array in src:
                    frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                    frame.pts, frame.time_base = pts, Fraction(1, args.fps)
                    pts += 1
                    container.mux(stream.encode(frame))
            container.mux(stream.encode(None))

    started = time.perf_counter()
    if threads:
        pool = [threading.Thread(target=encode, args=(c,)) for c in CAMERAS]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    else:
        for camera in CAMERAS:
            encode(camera)
    frames = sum(len(ep.tasks) for ep in episodes(Path(args.cache), args.count, args.fps))
    size = sum(p.stat().st_size for p in out.iterdir())
    return {"seconds": time.perf_counter() - started, "frames": frames, "bytes": size}


def child(args: argparse.Namespace) -> None:
    variant = args.run
    if variant == "native":
        result = run_writer(args, "native", 2)
    elif variant == "native-nostats":
        # Diagnostic only (not a valid dataset): how much of the gap to bare PyAV is the image
        # statistics lerobot requires (its sampling, exactly as lerobot 0.6.1 computes them).
        import lerobot_nb.export.writer as writer

        real = writer.image_stats

        def no_stats(frames: Any, length: int | None = None) -> Any:
            for _ in frames:
                pass
            return real([np.zeros((2, 2, 3), np.uint8)] * 2, length=2)

        writer.image_stats = no_stats  # type: ignore[assignment]
        result = run_writer(args, "native", 2)
    elif variant == "native-1":
        result = run_writer(args, "native", 1)
    elif variant == "lerobot":
        result = run_writer(args, "lerobot", 2)
    elif variant == "pyav":
        result = run_bare_pyav(args, threads=False)
    elif variant == "pyav-2":
        result = run_bare_pyav(args, threads=True)
    else:
        raise SystemExit(f"unknown variant {variant}")
    result["rss_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(result))


def peak_rss_mb(pid: int | str = "self") -> float:
    """VmHWM of a process: its own peak RSS. (`wait4`'s ru_maxrss is useless here: Linux folds the
    forking parent's high-water mark into the child at exec.)"""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- parent ----------------------------------------------------------------------------------------
def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[dict[str, Any], float, float]:
    """Run `cmd`; its printed RESULT, wall seconds and peak RSS (MB) of it and its children,
    sampled from /proc every 20 ms (the child's own VmHWM when it reports one)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out_err: list[str] = []
    import threading

    def drain(stream: Any) -> None:
        out_err.append(stream.read())

    readers = [threading.Thread(target=drain, args=(s,)) for s in (proc.stdout, proc.stderr)]
    for r in readers:
        r.start()
    peak = 0.0
    while proc.poll() is None:
        total = 0.0
        for pid in _tree(proc.pid):
            with contextlib.suppress(OSError):
                total += _rss_mb(pid)
        peak = max(peak, total)
        time.sleep(0.02)
    for r in readers:
        r.join()
    wall = time.perf_counter() - started
    text = "".join(out_err)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:6]} failed ({proc.returncode}):\n{text[-3000:]}")
    line = next((ln for ln in text.splitlines() if ln.startswith("RESULT ")), None)
    result = json.loads(line[7:]) if line else {}
    return result, wall, max(peak, float(result.get("rss_mb", 0.0)))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (lerobot's writer may start encoder processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            children = []
        todo += [int(c) for c in children]
    return out


def run_child(variant: str, cache: Path, count: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable,
        __file__,
        "--run",
        variant,
        "--cache",
        str(cache),
        "--count",
        str(count),
        "--out",
        str(out),
        "--fps",
        str(args.fps),
        "--codec",
        args.codec,
    ]
    result, wall, rss = measure(cmd)
    result.update(wall=wall, rss_mb=rss, name=variant, episodes=count)
    shutil.rmtree(out, ignore_errors=True)
    return result


def run_rerun_lerobot(python: str, rrd: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """rerun-lerobot 0.3's own converter on the same recordings (its alignment included).

    Its CLI takes full column names and `--video key:path`; cameras are written as AV1 like ours.
    """
    shutil.rmtree(out, ignore_errors=True)
    exe = Path(python).parent / "rerun-lerobot"
    base = [str(exe)] if exe.exists() else [python, "-m", "rerun_lerobot"]
    codec = {"libsvtav1": "av1", "h264": "h264", "hevc": "hevc"}[args.codec]
    cmd = [
        *base,
        "--rrd-dir",
        str(rrd),
        "--output",
        str(out),
        "--fps",
        str(args.fps),
        "--index",
        "real_time",
        "--action",
        "/action:Scalars:scalars",
        "--state",
        "/observation/state:Scalars:scalars",
        "--task",
        "/language_instruction:TextDocument:text",
        "--output-format",
        codec,
        *[a for k, v in CAMERAS.items() for a in ("--video", f"{k}:{v.split(':')[0]}")],
    ]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    info_path = out / "meta/info.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    if proc.returncode != 0 or not info.get("total_frames"):
        errors = sorted(
            {
                ln.strip()
                for ln in (proc.stdout + proc.stderr).splitlines()
                if "Error" in ln or "error" in ln.lower()[:20]
            }
        )
        shutil.rmtree(out, ignore_errors=True)
        raise RuntimeError(
            f"exit {proc.returncode}, {info.get('total_episodes', 0)} episodes written in "
            f"{wall:.1f} s; {'; '.join(e[:160] for e in errors[:2])}"
        )
    _, wall, rss = measure(cmd)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    shutil.rmtree(out, ignore_errors=True)
    return {
        "name": "rerun-lerobot 0.3",
        "seconds": wall,
        "wall": wall,
        "rss_mb": rss,
        "frames": info["total_frames"],
        "bytes": size,
        "episodes": info["total_episodes"],
    }


def table(rows: list[dict[str, Any]], native: dict[str, Any]) -> str:
    head = (
        f"{'contender':<24} {'episodes':>8} {'frames':>7} {'write s':>8} {'frames/s':>9} {'wall s':>7} "
        f"{'peak RSS MB':>11} {'MB out':>7} {'native speed-up':>15}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        fps = r["frames"] / r["seconds"] if r["seconds"] else 0.0
        ratio = r["seconds"] / native["seconds"] if native["seconds"] else 0.0
        lines.append(
            f"{r['name']:<24} {r['episodes']:>8} {r['frames']:>7} {r['seconds']:>8.2f} {fps:>9.0f} "
            f"{r['wall']:>7.2f} {r['rss_mb']:>11.0f} {r['bytes'] / 1e6:>7.2f} {ratio:>14.2f}x"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=10, help="sample recordings to convert")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--codec", default="libsvtav1", choices=["libsvtav1", "h264", "hevc"])
    parser.add_argument("--rss-episodes", type=int, nargs=2, default=(10, 100), metavar=("SMALL", "LARGE"))
    parser.add_argument(
        "--rerun-lerobot",
        default="/tmp/rrlr/bin/python",
        help="python of a virtualenv with rerun-lerobot 0.3 ('' to skip)",
    )
    parser.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    # child mode
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        child(args)
        return

    work = Path(args.work or tempfile.mkdtemp(prefix="bench_export-"))
    from lerobot_nb.sources.mcap import cache_root

    cache = cache_root() / "bench_export" / f"v2-{args.episodes}-{args.fps}"
    print(f"preparing {args.episodes} aligned PushT episodes (cached in {cache}) ...", flush=True)
    rrd = prepare(cache, args.episodes, args.fps)
    rows = []
    for variant in ("native", "native-1", "native-nostats", "lerobot", "pyav", "pyav-2"):
        print(f"running {variant} ...", flush=True)
        rows.append(run_child(variant, cache, args.episodes, args, work / variant))
    names = {
        "native": "native (2 workers)",
        "native-1": "native (1 worker)",
        "native-nostats": "native, no image stats*",
        "lerobot": "--writer lerobot",
        "pyav": "bare PyAV (1 thread)",
        "pyav-2": "bare PyAV (2 threads)",
    }
    for r in rows:
        r["name"] = names[r["name"]]
    rerun_note = ""
    if args.rerun_lerobot and Path(args.rerun_lerobot).exists():
        print("running rerun-lerobot 0.3 ...", flush=True)
        try:
            rows.append(run_rerun_lerobot(args.rerun_lerobot, rrd, work / "rerun_lerobot", args))
        except Exception as exc:  # reported plainly, the rest of the table still stands
            rerun_note = f"rerun-lerobot 0.3 failed on these recordings: {str(exc).strip()[:400]}"
    else:
        rerun_note = f"rerun-lerobot 0.3 not run: no interpreter at {args.rerun_lerobot!r}"
    native = rows[0]
    print()
    print(
        f"codec {args.codec}, {args.fps} fps, cameras top 480x480 + wrist 128x128, same aligned frames for all "
        "but rerun-lerobot (which aligns itself)"
    )
    print(table(rows, native))
    print(
        "* diagnostic: image statistics replaced by a no-op (not a valid dataset); the difference to "
        "native is the cost of lerobot's image statistics"
    )
    if rerun_note:
        print(rerun_note)
    by = {r["name"]: r for r in rows}
    speed = {k: r["frames"] / r["seconds"] for k, r in by.items()}
    print()
    print("ratios (target):")
    print(
        f"  native / --writer lerobot frames/s     = {speed['native (2 workers)'] / speed['--writer lerobot']:.2f}x (>= 3)"
    )
    print(
        f"  native time / bare PyAV (1 thread)     = {native['seconds'] / by['bare PyAV (1 thread)']['seconds']:.2f} (<= 1.5)"
    )
    print(
        f"  native time / bare PyAV (2 threads)    = {native['seconds'] / by['bare PyAV (2 threads)']['seconds']:.2f} (<= 1.5)"
    )
    small, large = args.rss_episodes
    print(f"\nmemory: native writer, {small} vs {large} episodes (cycling the cached ones) ...", flush=True)
    a = run_child("native", cache, small, args, work / "rss_small")
    b = run_child("native", cache, large, args, work / "rss_large")
    print(
        f"  peak RSS {small} episodes = {a['rss_mb']:.0f} MB ({a['frames']} frames), {large} episodes = "
        f"{b['rss_mb']:.0f} MB ({b['frames']} frames): ratio {b['rss_mb'] / a['rss_mb']:.2f} (<= 1.2)"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
