"""Find recordings in files and folders (every format of `formats.FORMATS`) and bring each to `.rrd`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.cache import default_cache_dir
from lerobot_nb.sources.formats import FORMATS, SourceFormat, format_of
from lerobot_nb.sources.rrd import read_recording_id  # re-exported: it lives with the .rrd format now

__all__ = ["Recording", "discover_recordings", "read_recording_id"]

_KNOWN = "expected " + ", ".join(f.description for f in FORMATS)


@dataclass(frozen=True)
class Recording:
    """One recording to serve: `rrd` is what the server registers (converted unless the input is one).

    `format` names the input's format; `defaults` are the `AlignConfig` values that fit a ticked
    format's data (empty for served formats, whose defaults are `AlignConfig`'s own); `notes` are
    what the user should know about the conversion (a channel that yielded nothing, a legacy
    file), one line each, shown when the recording is discovered.
    """

    source: Path
    rrd: Path
    episode_id: str
    format: str = "rrd"
    defaults: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """The input's format name (kept for callers of the earlier suffix-based property)."""
        return self.format


def _inputs(paths: Sequence[Path]) -> list[tuple[Path, SourceFormat]]:
    """Every input under `paths` with its format: a claimed file or folder is one input; other
    folders are searched (sorted) for claimed files and folders."""
    found: list[tuple[Path, SourceFormat]] = []
    for path in paths:
        if not path.exists():
            raise LerobotNbError("no such file or folder", file=path)
        fmt = format_of(path)
        if fmt is not None:
            found.append((path, fmt))
        elif path.is_dir():
            inside = _search(path)
            if not inside:
                raise LerobotNbError(f"folder holds no recordings ({_KNOWN})", file=path)
            found += inside
        else:
            raise LerobotNbError(f"not a recording ({_KNOWN})", file=path)
    return found


def _search(folder: Path) -> list[tuple[Path, SourceFormat]]:
    found: list[tuple[Path, SourceFormat]] = []
    for path in sorted(folder.iterdir()):
        fmt = format_of(path)
        if fmt is not None:
            found.append((path, fmt))
        elif path.is_dir():
            found += _search(path)
    return found


def discover_recordings(
    paths: Path | str | Iterable[Path | str],
    *,
    cache_dir: Path | None = None,
    on_duplicate: Literal["error", "skip", "replace"] = "error",
) -> list[Recording]:
    """Every recording under `paths`, MCAP converted to cached `.rrd`, in sorted path order.

    Two files with the same recording id are an error naming both, unless `on_duplicate` is
    `skip` (keep the first in path order) or `replace` (keep the last).
    """
    items = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not items:
        raise LerobotNbError("no input recordings given")
    by_id: dict[str, Recording] = {}
    cache = cache_dir or default_cache_dir()
    recordings = [rec for path, fmt in _inputs(items) for rec in fmt.load().to_recordings(path, cache)]
    for rec in recordings:
        episode_id = rec.episode_id
        if episode_id in by_id:
            first = by_id[episode_id]
            if on_duplicate == "error":
                raise LerobotNbError(
                    f"recording id {episode_id!r} also in {first.source} "
                    "(pass on_duplicate='skip' or 'replace', CLI --on-duplicate)",
                    file=rec.source,
                )
            if on_duplicate == "skip":
                continue
        by_id[episode_id] = rec
    return list(by_id.values())
