#!/usr/bin/env bash
# Idempotent set-up: Debian packages, a virtual environment in .venv, the package with its extras.
# Safe to run again: each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${LEROBOT_NB_VENV:-$ROOT/.venv}

log() { printf '[setup] %s\n' "$*"; }

# --- Debian packages: ffmpeg (torchcodec + CLI tools), chromium (the JupyterLab browser test) ---
APT_PACKAGES=(ffmpeg chromium chromium-driver)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "apt-get install ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        log "warning: missing Debian packages ${missing[*]} (run as root to install them); browser tests will skip"
    fi
fi

# --- Python 3.12: on PATH, or a pyenv install that is not the global version ---
find_python() {
    local cand
    for cand in "${PYTHON:-}" python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12; do
        [ -n "$cand" ] || continue
        if "$cand" -c 'import sys; assert sys.version_info[:2] >= (3, 12)' >/dev/null 2>&1; then
            echo "$cand"; return 0
        fi
    done
    return 1
}
if [ ! -x "$VENV/bin/python" ]; then
    PY=$(find_python) || { echo "setup: python3.12 not found (set PYTHON=/path/to/python3.12)" >&2; exit 1; }
    log "creating $VENV with $PY"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
fi

# --- the package: reinstall only when pyproject.toml changed ---
STAMP="$VENV/.lerobot_nb-installed"
WANT=$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
    PIP_LOG="$VENV/setup-pip.log"
    log "pip install -e .[test,hands,language,scale] (first time: a few minutes, torch is large; log: $PIP_LOG)"
    if ! "$VENV/bin/python" -m pip install -e ".[test,hands,language,scale]" > "$PIP_LOG" 2>&1; then
        tail -n 30 "$PIP_LOG" >&2
        echo "setup: pip install failed (full log: $PIP_LOG)" >&2
        exit 1
    fi
    # lerobot wants opencv-python-headless, gym-pusht opencv-python, mediapipe opencv-contrib-python:
    # all three install the same `cv2` package over each other. Keep exactly one that serves all
    # three (contrib modules, no GUI), so `import cv2` never depends on install order.
    "$VENV/bin/python" -m pip uninstall -q -y opencv-python opencv-python-headless opencv-contrib-python \
        opencv-contrib-python-headless >/dev/null 2>&1 || true
    "$VENV/bin/python" -m pip install -q --no-deps "opencv-contrib-python-headless>=4.10,<5" >> "$PIP_LOG" 2>&1
    echo "$WANT" > "$STAMP"
fi
log "ready: $VENV"
