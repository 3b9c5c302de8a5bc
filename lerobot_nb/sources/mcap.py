"""MCAP (ROS 2 / Foxglove) to `.rrd` with Rerun's own importer, cached by file content."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.cache import cache_root, content_key, default_cache_dir

if TYPE_CHECKING:
    from lerobot_nb.sources.discover import Recording

__all__ = [
    "ROBOT_ARCHETYPES",
    "cache_root",
    "default_cache_dir",
    "mcap_to_rrd",
    "robot_streams",
    "to_recordings",
]

#: Archetypes that carry robot data once decoded. An MCAP whose channels decode to none of them
#: (only raw `McapMessage` blobs, e.g. JSON channels, or only logs) has nothing to align.
ROBOT_ARCHETYPES = ("Scalars", "Image", "EncodedImage", "VideoStream", "Transform3D", "Points3D", "Pinhole")

#: Bumped when the conversion itself changes, so stale cache entries are not reused.
_CONVERTER_VERSION = "1"


def robot_streams(rrd: Path) -> list[str]:
    """Entity paths in `rrd` whose archetype is one of `ROBOT_ARCHETYPES`, sorted."""
    import rerun.chunk as rrc

    found: set[str] = set()
    for chunk in rrc.RrdReader(rrd).stream().to_chunks():
        for fld in chunk.to_record_batch().schema:
            archetype = (fld.metadata or {}).get(b"rerun:archetype", b"").decode()
            if archetype.rsplit(".", 1)[-1] in ROBOT_ARCHETYPES:
                found.add(str(chunk.entity_path))
    return sorted(found)


def mcap_to_rrd(path: Path, *, cache_dir: Path | None = None) -> tuple[Path, str]:
    """Convert `path` to `.rrd` (recording id = file stem) unless the cache has it; return (rrd, id).

    The cache entry is named by the file stem (the recording id) and its content hash, so a
    second run reuses it and an edited file is converted again. Raises when the file decodes to
    no robot stream.
    """
    import rerun.chunk as rrc

    cache = cache_dir or default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    episode_id = path.stem
    target = cache / f"{episode_id}-{content_key(path, salt=_CONVERTER_VERSION)}.rrd"
    if target.exists():
        return target, episode_id
    fd, tmp_name = tempfile.mkstemp(dir=cache, suffix=".rrd.part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            rrc.McapReader(path).stream().write_rrd(tmp, application_id="lerobot_nb", recording_id=episode_id)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LerobotNbError(f"cannot read MCAP ({reason})", file=path) from None
        if not robot_streams(tmp):
            raise LerobotNbError(
                "MCAP has no decodable robot streams (no Scalars, images or video after import; "
                "JSON-encoded channels are not decoded by Rerun)",
                file=path,
            )
        tmp.replace(target)  # atomic: a crash never leaves a half-written cache entry
    finally:
        tmp.unlink(missing_ok=True)
    return target, episode_id


def to_recordings(path: Path, cache_dir: Path) -> list[Recording]:
    """The MCAP converted to a cached `.rrd` (recording id = file stem)."""
    from lerobot_nb.sources.discover import Recording

    rrd, episode_id = mcap_to_rrd(path, cache_dir=cache_dir)
    return [Recording(source=path.resolve(), rrd=rrd.resolve(), episode_id=episode_id, format="mcap")]
