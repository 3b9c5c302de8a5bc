"""Where converted recordings and generated samples are cached: `$LEROBOT_NB_CACHE` or `~/.cache/lerobot_nb`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["cache_root", "content_key", "default_cache_dir"]


def cache_root() -> Path:
    """`$LEROBOT_NB_CACHE` or `~/.cache/lerobot_nb`: converted recordings in `mcap/`, samples in `sample/`."""
    return Path(os.environ.get("LEROBOT_NB_CACHE") or Path.home() / ".cache" / "lerobot_nb")


def default_cache_dir() -> Path:
    """Where converted recordings live: `mcap/` below `cache_root()` (every format, despite the name)."""
    return cache_root() / "mcap"


def content_key(*paths: Path, salt: str = "") -> str:
    """20 hex digits of the SHA-256 of `salt` and the bytes of `paths`: a cache key that changes
    when any file's content (or the converter, via `salt`) changes."""
    digest = hashlib.sha256(salt.encode())
    for path in paths:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:20]
