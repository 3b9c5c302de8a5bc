#!/usr/bin/env bash
# Download the third-party test fixtures listed in tests/fixtures.manifest.yaml (pinned raw GitHub
# URLs) into $LEROBOT_NB_FIXTURE_CACHE (default ~/.cache/lerobot_nb/fixtures), checking each sha256.
# Idempotent: verified files are kept. Exit 0 when every downloadable fixture is in the cache, 1 when
# some could not be had (each named on stderr). Entries without a public source are only counted:
# only ../shared/fixtures or $LEROBOT_NB_FIXTURES provide them.
# Usage: scripts/fetch-fixtures.sh [--cache DIR] [--manifest FILE]   (PYTHON=... picks the interpreter)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-}"
if [ -z "$python" ]; then
    for candidate in "$root/.venv/bin/python" python3; do
        if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
    done
fi
if [ -z "$python" ] || ! "$python" -c "import yaml" 2>/dev/null; then
    echo "error: fetch-fixtures needs a Python with PyYAML (run scripts/setup.sh, or set PYTHON=...)" >&2
    exit 2
fi
exec "$python" "$root/tests/fixture_files.py" fetch "$@"
