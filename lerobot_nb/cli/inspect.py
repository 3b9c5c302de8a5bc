"""`lerobot-nb inspect PATH...`: episodes, streams (rates, gaps, jitter), columns and a suggested alignment."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl

from lerobot_nb.config import add_config_arguments, config_from_args

#: Above this many episodes the stream table is folded to one row per stream unless --per-episode.
PER_EPISODE_LIMIT = 10


def register(sub: Any) -> None:
    from lerobot_nb.server import ServerConfig

    parser: argparse.ArgumentParser = sub.add_parser(
        "inspect",
        help="show episodes, streams, rates and gaps of recordings, and suggest align flags",
        description="Serve the recordings (.rrd, .mcap, folders) on a local Rerun server, or attach to "
        "one with --server-url, and print: the episodes, every stream's sample count, rate, largest gap "
        "and jitter per episode, and the suggested `lerobot-nb align` flags. --columns also lists every "
        "column as entity:Archetype:field.",
    )
    parser.add_argument(
        "recordings", nargs="*", metavar="PATH", help="recording files or folders (.rrd, .mcap)"
    )
    add_config_arguments(parser, ServerConfig, skip=("recordings",))
    parser.add_argument("--index", help="timeline for the stream table (default: the suggested one)")
    parser.add_argument("--columns", action="store_true", help="also list every column with kind and shape")
    parser.add_argument(
        "--per-episode",
        action="store_true",
        help=f"one stream row per episode even with more than {PER_EPISODE_LIMIT} episodes "
        "(default: then one row per stream over all episodes)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
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
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_width_chars=200,
        fmt_str_lengths=80,
        tbl_formatting="ASCII_MARKDOWN",
        float_precision=3,
    ):
        print(frame)


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


def run(args: argparse.Namespace) -> int:
    from lerobot_nb import inspection
    from lerobot_nb.errors import LerobotNbError
    from lerobot_nb.query import index_timelines
    from lerobot_nb.server import RecordingServer, ServerConfig

    if not args.recordings and not getattr(args, "server_url", None):
        raise LerobotNbError("give recording files or folders, or --server-url URL --dataset-name NAME")
    config = config_from_args(ServerConfig, args, recordings=tuple(args.recordings))
    with RecordingServer(config) as server:
        episodes = inspection.list_episodes(server)
        suggestion = inspection.suggest(server, index=args.index)
        stats = inspection.stream_stats(server, index=suggestion.index)
        if args.index:  # the user's index: the suggestion was computed on it too
            suggestion = inspection.suggest(server, index=args.index, stats=stats)
        columns = inspection.list_columns(server) if args.columns or args.json else None
        timelines = index_timelines(server.dataset)
        if args.json:
            print(
                json.dumps(
                    {
                        "server": server.url,
                        "timelines": timelines,
                        "episodes": _jsonable(episodes),
                        "columns": _jsonable(columns) if columns is not None else [],
                        "streams": _jsonable(stats),
                        "suggestion": asdict(suggestion),
                    },
                    indent=1,
                    default=str,
                )
            )
            return 0
        where = ", ".join(str(p) for p in args.recordings) or server.url
        print(f"{len(episodes)} episode(s) from {where}")
        print("timelines: " + ", ".join(f"{n} ({k})" for n, k in sorted(timelines.items())))
        _print_table(f"episodes (on {suggestion.index})", _episodes_view(episodes, suggestion.index))
        if columns is not None:
            _print_table("columns", _columns_view(columns))
        if args.per_episode or len(episodes) <= PER_EPISODE_LIMIT:
            _print_table(f"streams per episode (on {suggestion.index})", _streams_view(stats))
        else:
            _print_table(
                f"streams over {len(episodes)} episodes (on {suggestion.index}; --per-episode for every row)",
                inspection.stream_summary(stats),
            )
        print("\nsuggested alignment:")
        for name, value in asdict(suggestion).items():
            print(f"  {name:<12} {value}")
        source = (
            " ".join(args.recordings) or f"--server-url {server.url} --dataset-name {config.dataset_name}"
        )
        print(f"\n  lerobot-nb align {source} {suggestion.as_flags()}")
    return 0
