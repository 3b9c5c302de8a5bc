"""`oss_server_lerobot`: the reference conversion CLI (filled in by the exporter)."""

from __future__ import annotations

import sys

from lerobot_nb.cli.main import run_cli
from lerobot_nb.errors import LerobotNbError


def _run() -> int:
    raise LerobotNbError("oss_server_lerobot is not implemented yet")


def main() -> int:
    return run_cli(_run)


if __name__ == "__main__":
    sys.exit(main())
