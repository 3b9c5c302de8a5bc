"""`lerobot-nb inspect PATH...`: episodes, streams (rates, gaps, jitter), columns and a suggested alignment."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from lerobot_nb.cli.convert import add_inputs_arguments
from lerobot_nb.config import add_config_arguments, config_from_args
from lerobot_nb.inspect.config import PER_EPISODE_LIMIT, InspectConfig
from lerobot_nb.tables import render_table

if TYPE_CHECKING:
    from lerobot_nb.inspect import Inspection

__all__ = ["PER_EPISODE_LIMIT", "register", "run"]


def register(sub: Any) -> None:
    """Add the `inspect` subcommand to `sub`."""

    parser: argparse.ArgumentParser = sub.add_parser(
        "inspect",
        help="show episodes, streams, rates and gaps of recordings, and suggest align flags",
        description="Serve the recordings (.rrd, .mcap, folders) on a local Rerun server, or attach to "
        "one with --server-url, and print: the episodes, every stream's sample count, rate, largest gap "
        "and jitter per episode, and the suggested `lerobot-nb align` flags. --columns also lists every "
        "column as entity:Archetype:field.",
    )
    add_inputs_arguments(parser)
    add_config_arguments(parser.add_argument_group("inspection"), InspectConfig)
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of tables (with the columns)"
    )
    parser.set_defaults(func=run)


def _human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def _print_table(title: str, frame: pl.DataFrame) -> None:
    print(f"\n{title}")
    print(render_table(frame, markdown=True))


def _episodes_view(episodes: pl.DataFrame, index: str) -> pl.DataFrame:
    cols = [
        pl.col("episode"),
        pl.col("source").map_elements(lambda s: Path(s).name, return_dtype=pl.String),
        pl.col("size_bytes").map_elements(_human_size, return_dtype=pl.String).alias("size"),
    ]
    for suffix in ("start", "end", "duration_s", "steps"):
        name = f"{index}_{suffix}"
        if name in episodes.columns:
            cols.append(pl.col(name))
    return episodes.select(cols)


def _streams_view(stats: pl.DataFrame) -> pl.DataFrame:
    keep = [
        c
        for c in (
            "episode",
            "stream",
            "kind",
            "count",
            "nominal_hz",
            "rate_hz",
            "largest_gap_s",
            "jitter_ms",
            "nominal_per_step",
            "rate_per_step",
            "largest_gap_steps",
            "jitter_steps",
            "gaps",
        )
        if c in stats.columns
    ]
    return stats.select(keep)


def _columns_view(columns: pl.DataFrame) -> pl.DataFrame:
    shape = (
        pl.when(pl.col("length").is_not_null())
        .then(pl.format("[{}]", pl.col("length")))
        .when(pl.col("height").is_not_null())
        .then(pl.format("{}x{}", pl.col("height"), pl.col("width")))
        .otherwise(pl.lit(""))
    )
    return columns.select("column", "kind", "dtype", pl.col("static"), shape.alias("shape"))


def _jsonable(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.write_json())  # type: ignore[no-any-return]


def _print_json(url: str, report: Inspection) -> None:
    print(
        json.dumps(
            {
                "server": url,
                "timelines": report.timelines,
                "episodes": _jsonable(report.episodes),
                "columns": _jsonable(report.columns) if report.columns is not None else [],
                "streams": _jsonable(report.stats),
                "suggestion": asdict(report.suggestion),
            },
            indent=1,
            default=str,
        )
    )


def _print_text(report: Inspection, where: str, source: str) -> None:
    index = report.suggestion.index
    print(f"{report.episodes.height} episode(s) from {where}")
    print("timelines: " + ", ".join(f"{n} ({k})" for n, k in sorted(report.timelines.items())))
    _print_table(f"episodes (on {index})", _episodes_view(report.episodes, index))
    if report.columns is not None:
        _print_table("columns", _columns_view(report.columns))
    if report.folded:
        title = f"streams over {report.episodes.height} episodes (on {index}; --per-episode for every row)"
        _print_table(title, report.streams)
    else:
        _print_table(f"streams per episode (on {index})", _streams_view(report.streams))
    print("\nsuggested alignment:")
    for name, value in asdict(report.suggestion).items():
        shown = (", ".join(value) or "-") if isinstance(value, tuple) else value
        print(f"  {name:<12} {shown}")
    print(f"\n  lerobot-nb align {source} {report.suggestion.as_flags()}")


def run(args: argparse.Namespace) -> int:
    """Serve the recordings, print episodes, streams and suggested align flags (or JSON); exit code 0."""
    from lerobot_nb.errors import LerobotNbError
    from lerobot_nb.inspect import inspect_recordings
    from lerobot_nb.server import RecordingServer, ServerConfig

    if not args.recordings and not getattr(args, "server_url", None):
        raise LerobotNbError("give recording files or folders, or --server-url URL --dataset-name NAME")
    server_config = config_from_args(ServerConfig, args, recordings=tuple(args.recordings))
    config = config_from_args(InspectConfig, args)
    if args.json:
        config = replace(config, columns=True)
    with RecordingServer(server_config) as server:
        report = inspect_recordings(server, config)
        if args.json:
            _print_json(server.url, report)
            return 0
        source = (
            " ".join(args.recordings)
            or f"--server-url {server.url} --dataset-name {server_config.dataset_name}"
        )
        _print_text(report, ", ".join(str(p) for p in args.recordings) or server.url, source)
    return 0
