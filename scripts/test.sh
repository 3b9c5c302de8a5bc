#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite plus ruff and mypy. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
ruff check lerobot_nb tests benchmarks
ruff format --check lerobot_nb tests benchmarks
mypy
exec python -m pytest -n 2 --dist loadgroup "$@"
