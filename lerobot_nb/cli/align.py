"""`lerobot-nb align`: align recordings on the k/fps grid and print the per-episode/stream report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lerobot_nb.align import AlignConfig, AlignedEpisode, EpisodeSkipped
from lerobot_nb.cli.convert import add_inputs_arguments
from lerobot_nb.config import add_config_arguments, config_from_args, given_args
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.server import ServerConfig
from lerobot_nb.tables import render_table

__all__ = ["register", "run"]

#: Report columns the terminal table shows (the CSV has them all).
_SHOWN = (
    "stream",
    "policy",
    "samples",
    "source_rate_hz",
    "tolerance_ms",
    "kept",
    "dropped",
    "flagged",
    "staleness_p50_ms",
    "staleness_p99_ms",
    "staleness_max_ms",
    "gaps",
    "max_gap_ms",
)


def register(sub: Any) -> None:
    """Add the `align` subcommand to `sub` (the argparse subparsers)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "align",
        help="align recordings on the k/fps grid and report staleness per stream",
        description="Serve the recordings on a local Rerun server (or use --server-url), put every "
        "stream of every episode on the fixed k/fps grid and print, per episode and stream, the ticks "
        "kept and dropped, the staleness p50/p99/max, gaps and the effective source rate. Nothing "
        "is written except --report-csv.",
    )
    add_inputs_arguments(parser)
    add_config_arguments(parser.add_argument_group("alignment"), AlignConfig)
    out = parser.add_argument_group("output")
    out.add_argument("--episodes", action="append", metavar="ID", help="only these episodes (repeatable)")
    out.add_argument("--report-csv", type=Path, metavar="PATH", help="also write the full report as CSV")
    out.add_argument(
        "--plots",
        type=Path,
        metavar="DIR",
        help="also save each episode's coverage and staleness plots as PNG into DIR",
    )
    out.add_argument(
        "--decode",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also decode every camera frame (checks the images, slower)",
    )
    parser.set_defaults(func=run)


def _save_plots(ep: AlignedEpisode, folder: Path) -> None:
    from lerobot_nb.align.plots import plot_coverage, plot_staleness

    folder.mkdir(parents=True, exist_ok=True)
    name = ep.episode_id.replace("/", "_").replace("#", "-")
    plot_coverage(ep).savefig(folder / f"{name}_coverage.png", dpi=100)
    plot_staleness(ep).savefig(folder / f"{name}_staleness.png", dpi=100)


def run(args: argparse.Namespace) -> int:
    """Align every episode and print its report; exit code 0 if any episode was aligned, else 1."""
    import polars as pl

    server_config = config_from_args(ServerConfig, args, recordings=tuple(args.recordings))
    if not server_config.recordings and not server_config.server_url:
        raise LerobotNbError("no recordings given (pass files or folders, or --server-url)")
    from lerobot_nb.pipeline import Inputs, iterate_pipeline

    inputs = Inputs.discover(server_config)
    source = inputs.open(inputs.align_config(given_args(AlignConfig, args)))
    reports: list[pl.DataFrame] = []
    skipped: list[EpisodeSkipped] = []
    # one episode at a time; the source stays open while they are read
    for item in iterate_pipeline(source, episodes=args.episodes or ()):
        if isinstance(item, EpisodeSkipped):
            skipped.append(item)
            print(f"{item.episode_id}: SKIPPED: {item.reason}\n")
            continue
        ep: AlignedEpisode = item
        if args.decode:
            for src in ep.images.values():
                for _ in src:
                    pass
        seconds = ep.length / ep.fps
        cams = ", ".join(f"{k} {s.width}x{s.height}" for k, s in ep.images.items()) or "no cameras"
        task = ep.tasks[0] if ep.tasks else "-"
        print(
            f"{ep.episode_id}: {ep.length} ticks at {ep.fps} fps ({seconds:.1f} s) on {ep.index}; "
            f"{cams}; task {task!r}"
        )
        print(render_table(ep.report, _SHOWN, floats=".1f", indent="  "))
        print()
        reports.append(ep.report)
        if args.plots:
            _save_plots(ep, args.plots)
    done = len(reports)
    print(f"{done} episode(s) aligned" + (f", {len(skipped)} skipped" if skipped else ""))
    if args.plots:
        print(f"plots written to {args.plots}")
    if args.report_csv:
        table = pl.concat(reports) if reports else pl.DataFrame()
        if skipped:
            reasons = pl.DataFrame(
                {"episode": [s.episode_id for s in skipped], "skipped": [s.reason for s in skipped]}
            )
            table = pl.concat([table, reasons], how="diagonal") if reports else reasons
        args.report_csv.parent.mkdir(parents=True, exist_ok=True)
        table.write_csv(args.report_csv)
        print(f"report written to {args.report_csv}")
    return 0 if done else 1
