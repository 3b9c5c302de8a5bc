#!/usr/bin/env bash
# Set up (idempotent), then run the main job on the built-in sample recordings:
# sample recordings -> local Rerun server -> inspect -> align -> hand pose -> export -> validate -> prepare + train
# -> curate, with the executed notebooks saved under runs/sample/. Extra args go to `lerobot-nb notebooks run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
exec lerobot-nb notebooks run --params notebooks/params/sample.yaml --output-dir runs/sample "$@"
