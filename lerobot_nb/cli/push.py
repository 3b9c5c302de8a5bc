"""`lerobot-nb push DATASET --repo-id user/name [--branch B] [--private] [--tags ...]`: exit 0 pushed, 2 not."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the `push` subcommand to `sub`."""
    from lerobot_nb.hub import add_push_arguments

    parser: argparse.ArgumentParser = sub.add_parser(
        "push",
        help="publish a LeRobot v3.0 dataset to the Hugging Face Hub",
        description="Validate DATASET, then publish it to the Hub as one commit (every file plus lerobot's "
        "dataset card; files of an earlier push that the dataset no longer has are removed), on --branch "
        "when given, and move lerobot's v3.0 version tag to that commit last. Needs a token (`hf auth "
        "login` or HF_TOKEN). Exit code 0: pushed; 2: invalid dataset, bad flags, offline, no token or a "
        "Hub error (one line saying what the Hub holds now).",
    )
    parser.add_argument("dataset", metavar="DATASET", help="dataset root folder (holds meta/info.json)")
    add_push_arguments(parser, push=None)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate and push the dataset to the Hub, then print where it went; exit code 0."""
    from lerobot_nb.hub import push_dataset, push_request

    request = push_request(args)
    assert request is not None  # no --no-push on this command
    print(push_dataset(args.dataset, request), flush=True)
    return 0
