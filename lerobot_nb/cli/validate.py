"""`lerobot-nb validate PATH [--json]`: exit 0 when every check passes, 1 when one fails, 2 for no dataset."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lerobot_nb.config import add_config_arguments, config_from_args

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the `validate` subcommand to `sub`."""
    from lerobot_nb.validate import ValidateConfig

    parser: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="check that a LeRobot v3.0 dataset is ready for training",
        description="Run structure, time/video, stats, training-readiness and quality checks over a LeRobot "
        "v3.0 dataset folder. Exit code 0: every check passed (warnings allowed); 1: a check failed; "
        "2: PATH is not a dataset.",
    )
    parser.add_argument("path", metavar="PATH", help="dataset root folder (holds meta/info.json)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    add_config_arguments(parser, ValidateConfig)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the dataset and print the report (text or --json); exit code 0 if it passed, 1 if not."""
    from lerobot_nb.validate import ValidateConfig, validate

    report = validate(args.path, config=config_from_args(ValidateConfig, args))
    sys.stdout.write((report.to_json() if args.json else report.summary()) + "\n")
    return 0 if report.ok else 1
