"""xgym memmap folders to LeRobot: this package's streaming path vs xgym's approach (lerobot's own writer).

Both contenders read the same generated recorder folder (`lerobot_nb.sources.xgym_sample`, camera-like
texture in the frames) through the same reader and identity alignment, so they are fed the same
frames; they differ in the writer: the native streaming writer, or lerobot's own
`LeRobotDataset.create / add_frame / save_episode / finalize` (what xgym's `from_memmap.py` calls).
Each runs in its own subprocess so its peak RSS is its own. Memory: the native path on short and on
ten-times-longer episodes (`--rss-records`), for the reader alone and with the writer.

    .venv/bin/python benchmarks/bench_memmap.py                       # 10 x 750 records, 3 x 224x224
    .venv/bin/python benchmarks/bench_memmap.py --episodes 2 --records 100 --codec h264

Targets (issue 10): native >= 3x lerobot's writer frames/s; peak RSS independent of episode
length (long / short <= 1.2).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_export import measure, peak_rss_mb, table

CAMERAS = ("/xgym/camera/worm", "/xgym/camera/side", "/xgym/camera/wrist")


def prepare(folder: Path, episodes: int, records: int) -> Path:
    """A recorder folder of `episodes` x `records` (3 cameras, 224x224), written unless present."""
    from lerobot_nb.sources.xgym_sample import XgymEpisodeSpec, write_xgym_folder

    marker = folder / "done.json"
    want = {"episodes": episodes, "records": records, "generator": 1}
    if marker.exists() and json.loads(marker.read_text()) == want:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    specs = [XgymEpisodeSpec(records=records, cameras=CAMERAS, texture=True, seed=i) for i in range(episodes)]
    write_xgym_folder(folder, specs)
    marker.write_text(json.dumps(want))
    return folder


def child(args: argparse.Namespace) -> None:
    """Convert `args.folder` with `args.run` (native | lerobot) and print the RESULT line."""
    from lerobot_nb.align import AlignConfig
    from lerobot_nb.align.aligner import iter_recorded
    from lerobot_nb.episode import AlignedEpisode
    from lerobot_nb.export import ExportConfig, export_dataset
    from lerobot_nb.sources.xgym import open_reader

    if args.run == "lerobot":  # lerobot pulls in torch: import before the clock starts, to be fair
        import lerobot.datasets  # noqa: F401
    started = time.perf_counter()
    reader = open_reader(Path(args.folder))
    episodes = iter_recorded(reader, AlignConfig(**reader.defaults()))
    if args.run == "read":  # the source alone: every frame of every camera decoded, nothing written
        frames = 0
        for ep in episodes:
            assert isinstance(ep, AlignedEpisode)
            frames += ep.length
            for source in ep.images.values():
                for _ in source:
                    pass
        result = {"seconds": time.perf_counter() - started, "frames": frames, "bytes": 0}
    else:
        config = ExportConfig(
            output=args.out, writer=args.run, codec=args.codec, progress=False, overwrite=True
        )
        summary = export_dataset(episodes, config)
        result = {"seconds": time.perf_counter() - started, "frames": summary.frames, "bytes": summary.bytes}
    print("RESULT " + json.dumps({**result, "rss_mb": peak_rss_mb()}))


def run_child(
    run: str, folder: Path, out: Path, codec: str, name: str = "", episodes: int = 0
) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable,
        __file__,
        "--run",
        run,
        "--folder",
        str(folder),
        "--out",
        str(out),
        "--codec",
        codec,
    ]
    result, wall, rss = measure(cmd)
    shutil.rmtree(out, ignore_errors=True)
    return {**result, "wall": wall, "rss_mb": rss, "name": name or run, "episodes": episodes}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--records", type=int, default=750, help="records per episode (750 = 15 s at 50 Hz)")
    parser.add_argument("--codec", default="libsvtav1", choices=["libsvtav1", "h264", "hevc"])
    parser.add_argument("--rss-records", type=int, nargs=2, default=(150, 1500), metavar=("SHORT", "LONG"))
    parser.add_argument(
        "--work", default=None, help="scratch folder, kept (default: a temporary one, removed)"
    )
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        child(args)
        return
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_memmap-"))
    try:
        print(
            f"writing {args.episodes} x {args.records} records (3 cameras 224x224) into {work} ...",
            flush=True,
        )
        folder = prepare(work / "speed", args.episodes, args.records)
        rows = []
        for run, name in (("native", "native (streaming writer)"), ("lerobot", "lerobot writer (xgym's)")):
            print(f"running {run} ...", flush=True)
            rows.append(run_child(run, folder, work / f"out-{run}", args.codec, name, args.episodes))
        native, lerobot = rows
        print(
            f"\ncodec {args.codec}, {args.records} records per episode, 3 cameras 224x224, 50 fps, same frames for both"
        )
        print(table(rows, native))
        speed_up = (native["frames"] / native["seconds"]) / (lerobot["frames"] / lerobot["seconds"])
        print(f"\nnative / lerobot writer frames/s = {speed_up:.2f}x (target >= 3)")
        short, long = args.rss_records
        print(
            f"\nmemory: 2 episodes of {short} vs {long} records (the reader alone, then the native path) ...",
            flush=True,
        )
        folders = {n: prepare(work / f"rss-{n}", 2, n) for n in (short, long)}
        for run, what in (
            ("read", "reader + alignment, every frame decoded"),
            ("native", "reader + native writer"),
        ):
            a, b = (run_child(run, folders[n], work / "out-rss", args.codec) for n in (short, long))
            print(
                f"  {what:<40}: peak RSS {a['rss_mb']:.0f} MB ({short} records), {b['rss_mb']:.0f} MB "
                f"({long} records): ratio {b['rss_mb'] / a['rss_mb']:.2f} (target <= 1.2)"
            )
        size = sum(p.stat().st_size for p in folders[long].glob("*.dat")) / 1e6
        print(f"  (the {long}-record episodes are {size / 2:.0f} MB of .dat each)")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
