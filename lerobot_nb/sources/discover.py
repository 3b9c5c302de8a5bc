"""Find recordings in files and folders (every format of `formats.FORMATS`) and bring each to `.rrd`."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.cache import default_cache_dir
from lerobot_nb.sources.formats import SourceFormat, format_of, formats_text
from lerobot_nb.sources.rrd import read_recording_id  # re-exported: it lives with the .rrd format now

__all__ = ["Recording", "discover_recordings", "find_inputs", "read_recording_id"]

_KNOWN = "expected " + formats_text()

#: Notes about recordings (a channel that decoded to nothing, a skipped file) go here; with no
#: logging set up, Python prints warnings of this logger to stderr as they are.
log = logging.getLogger("lerobot_nb.sources")


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
    #: The timelines a ticked format's `.rrd` holds, with their kinds (its reader's `timelines()`).
    timelines: Mapping[str, Literal["timestamp", "sequence"]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """The input's format name (kept for callers of the earlier suffix-based property)."""
        return self.format


def find_inputs(paths: Sequence[Path]) -> list[tuple[Path, SourceFormat]]:
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
    recordings = [rec for path, fmt in find_inputs(items) for rec in fmt.load().to_recordings(path, cache)]
    recordings = _with_time(recordings)
    for rec in recordings:
        for note in rec.notes:
            log.warning("warning: %s: %s", rec.source, note)
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


def static_entities(rrd: Path) -> list[str] | None:
    """The entities of `rrd` when it holds static data only (no timeline at all), else None.

    Read from the footer; a file without one (written before rerun ~0.25) is scanned until its
    first temporal chunk.
    """
    import rerun.chunk as rrc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no footer/manifest": handled below
        reader = rrc.RrdReader(rrd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schema = reader.store().schema()
        if schema.index_columns():
            return None
        return sorted({str(c.entity_path) for c in schema.component_columns()})
    except RuntimeError:  # no footer
        entities = set()
        for chunk in reader.stream():
            if not chunk.is_static:
                return None
            entities.add(str(chunk.entity_path))
        return sorted(entities)


def _with_time(recordings: list[Recording]) -> list[Recording]:
    """`recordings` without those holding static data only (nothing to put on a time grid): each
    left out with a warning, or an error when none is left."""
    kept, why = [], []
    for rec in recordings:
        entities = static_entities(rec.rrd)
        if entities is None:
            kept.append(rec)
            continue
        shown = ", ".join(e for e in entities if not e.startswith("/__"))[:200] or "none"
        why.append((rec, f"holds static data only (no timeline; entities: {shown}): nothing to align"))
    if not kept and why:
        rec, what = why[0]
        raise LerobotNbError(what, file=rec.source)
    for rec, what in why:
        log.warning("warning: %s: left out: %s", rec.source, what)
    return kept
