"""`lerobot-nb curate ACTION`: curation of LeRobot datasets; `apply` writes a curated copy.

Each action registers its own sub-parser below (`score` and `suggest` join `apply` here).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lerobot_nb.config import add_config_arguments, config_from_args
from lerobot_nb.errors import LerobotNbError

__all__ = ["register", "run_apply"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "curate",
        help="curate LeRobot datasets: apply a curation file (drop, trim, split episodes)",
        description="Curate LeRobot v3.0 datasets. `apply` writes a new dataset with the decisions of a "
        "curation.yaml (drop / trim / split / retask episodes); inputs are never modified.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _register_apply(actions)


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


def run_apply(args: argparse.Namespace) -> int:
    from lerobot_nb.curate import CurateApplyConfig, apply_curation

    config = config_from_args(CurateApplyConfig, args)
    if not config.output:
        raise LerobotNbError("--output is required (curate apply always writes a new dataset)")
    summary = apply_curation(args.datasets, config)
    print(summary.render(), file=sys.stdout, flush=True)
    return 0
