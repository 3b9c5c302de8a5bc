"""`lerobot-nb sample` (not implemented yet)."""

from __future__ import annotations

import argparse
from typing import Any

from lerobot_nb.errors import LerobotNbError


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("sample", help="(not implemented yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise LerobotNbError("`lerobot-nb sample` is not implemented yet")
