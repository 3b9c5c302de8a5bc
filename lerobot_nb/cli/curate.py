"""`lerobot-nb curate ACTION`: score episodes, suggest a curation from rules, apply a curation file.

Each action registers its own sub-parser below.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lerobot_nb.config import add_config_arguments, config_from_args, given_args
from lerobot_nb.errors import LerobotNbError

if TYPE_CHECKING:
    from lerobot_nb.curate import Scores

__all__ = ["compute_scores", "register", "run_apply", "run_score", "run_suggest"]


def register(sub: Any) -> None:
    """Add the `curate` subcommand and its `score`, `suggest` and `apply` actions to `sub`."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "curate",
        help="curate episodes: score them, suggest a curation from rules, apply a curation file",
        description="Curate LeRobot v3.0 datasets and recordings. `score` rates every episode (idle, spikes, "
        "stale ticks, gaps, frozen cameras, outliers, duplicates, task text); `suggest` writes a curation.yaml "
        "from rules over those scores; `apply` writes a new dataset with a curation's decisions (drop / trim / "
        "split / retask episodes). Inputs are never modified.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _register_score(actions)
    _register_suggest(actions)
    _register_apply(actions)


def _add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    from lerobot_nb.align import AlignConfig
    from lerobot_nb.curate import ScoreConfig
    from lerobot_nb.server import ServerConfig

    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="a LeRobot v3.0 dataset folder, or recording files/folders"
    )
    add_config_arguments(parser.add_argument_group("scores"), ScoreConfig)
    add_config_arguments(parser.add_argument_group("recordings / server"), ServerConfig, skip=("recordings",))
    add_config_arguments(parser.add_argument_group("alignment (recordings only)"), AlignConfig)


def _register_score(actions: Any) -> None:
    parser: argparse.ArgumentParser = actions.add_parser(
        "score",
        help="score every episode of a dataset or of recordings, worst first",
        description="Score every episode: duration, idle fraction and idle head/tail, spikes, stale ticks and "
        "source gaps (recordings, from the alignment), dead or frozen cameras, out-of-range values against the "
        "other episodes, duplicates, task text. PATH is a LeRobot v3.0 dataset folder (scored as stored) or "
        "recordings (aligned with the alignment flags first, as `convert` would). Prints one row per episode, "
        "worst first, with a reason per flag.",
    )
    _add_scoring_arguments(parser)
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print rows, findings and thresholds as JSON")
    out.add_argument("--csv", action="store_true", help="print the table as CSV")
    parser.set_defaults(func=run_score)


def _register_suggest(actions: Any) -> None:
    from lerobot_nb.curate.suggest import SuggestConfig

    parser: argparse.ArgumentParser = actions.add_parser(
        "suggest",
        help="write a curation file from rules over the scores (no clicking)",
        description="Score PATH as `curate score` does, then drop the episodes a --drop-if rule matches and, "
        "with --trim-idle, trim flagged idle heads and tails. Rules use the score columns and flag names: "
        '--drop-if "idle_fraction > 0.8" --drop-if duplicate --drop-if "spikes > 2 and not task_present". '
        "Writes --output (curation.yaml) or prints it.",
    )
    _add_scoring_arguments(parser)
    add_config_arguments(parser.add_argument_group("rules"), SuggestConfig)
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="write the curation file here (else print it)"
    )
    parser.set_defaults(func=run_suggest)


def _register_apply(actions: Any) -> None:
    from lerobot_nb.curate import CurateApplyConfig

    parser: argparse.ArgumentParser = actions.add_parser(
        "apply",
        help="write a new dataset with a curation file's decisions applied",
        description="Apply --curation FILE to DATASET (several datasets are merged in order first; episode "
        "indices then count across them) and write the result to --output: rows re-indexed, videos copied "
        "without re-encoding, stats exact. The dataset is built beside the output, validated and published "
        "atomically; DATASET is only read.",
    )
    parser.add_argument("datasets", nargs="+", metavar="DATASET", help="LeRobot v3.0 dataset folder(s)")
    add_config_arguments(parser, CurateApplyConfig)
    parser.set_defaults(func=run_apply)


def _is_dataset(path: str) -> bool:
    return (Path(path) / "meta/info.json").is_file()


def compute_scores(args: argparse.Namespace) -> Scores:
    """The scores of the dataset or the recordings the parsed flags name."""
    from lerobot_nb.align import AlignConfig
    from lerobot_nb.curate import ScoreConfig, score_dataset, score_recordings
    from lerobot_nb.pipeline import Inputs, iterate_pipeline
    from lerobot_nb.server import ServerConfig

    config = config_from_args(ScoreConfig, args)
    paths = list(args.paths)
    datasets = [p for p in paths if _is_dataset(p)]
    if datasets and len(paths) > 1:
        raise LerobotNbError("score one dataset at a time (or recordings only)", file=datasets[0])
    if datasets:
        return score_dataset(datasets[0], config)
    server = config_from_args(ServerConfig, args, recordings=tuple(paths))
    if not server.recordings and not server.server_url:
        raise LerobotNbError("no dataset or recordings given (pass a folder or files, or --server-url)")
    inputs = Inputs.discover(server)
    align = inputs.align_config(given_args(AlignConfig, args))
    source = server.server_url or ", ".join(paths)
    return score_recordings(iterate_pipeline(inputs.open(align)), config, source=source)


def run_score(args: argparse.Namespace) -> int:
    """Print the episode scores as a table, or as JSON / CSV with --json / --csv; exit code 0."""
    scores = compute_scores(args)
    text = scores.to_json() if args.json else scores.to_csv() if args.csv else scores.render()
    print(text, end="" if text.endswith("\n") else "\n", file=sys.stdout, flush=True)
    return 0


def run_suggest(args: argparse.Namespace) -> int:
    """Score the episodes, apply the drop/trim rules, and print the curation YAML or write it to --output."""
    from lerobot_nb.curate import curation_to_yaml, write_curation
    from lerobot_nb.curate.suggest import SuggestConfig, compile_rules, suggest

    config = config_from_args(SuggestConfig, args)
    compile_rules(config.drop_if)  # a typo in a rule fails before the (long) scoring
    curation = suggest(compute_scores(args), config)
    dropped = sum(d.dropped for d in curation.episodes.values())
    summary = f"{dropped} dropped, {len(curation.episodes) - dropped} trimmed"
    if args.output is None:
        print(curation_to_yaml(curation), end="", file=sys.stdout, flush=True)
        print(summary, file=sys.stderr)
        return 0
    write_curation(args.output, curation)
    print(f"{args.output}: {summary}", file=sys.stdout)
    for key, d in curation.episodes.items():
        print(f"  {key}: {d.to_yaml()}", file=sys.stdout, flush=True)
    return 0


def run_apply(args: argparse.Namespace) -> int:
    """Write a new dataset at --output with the curation's decisions applied; the inputs are only read."""
    from lerobot_nb.curate import CurateApplyConfig, apply_curation

    config = config_from_args(CurateApplyConfig, args)
    if not config.output:
        raise LerobotNbError("--output is required (curate apply always writes a new dataset)")
    summary = apply_curation(args.datasets, config)
    print(summary.render(), file=sys.stdout, flush=True)
    return 0
