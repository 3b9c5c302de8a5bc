"""The user's inputs, found once: which formats, read directly or served, and the defaults they bring.

Ticked inputs (xgym memmaps, RLDS, LeRobot datasets, HaMeR `.npz`) are read straight from disk
when every input is ticked; anything else (or a mix) is served from a local Rerun server, ticked
inputs then as their `.rrd` conversions. A server URL is always served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lerobot_nb.align import AlignConfig
from lerobot_nb.config import config_from_mapping
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.pipeline.source import EpisodeSource, FileSource, ServedSource
from lerobot_nb.server import ServerConfig
from lerobot_nb.sources.discover import Recording, discover_recordings, find_inputs
from lerobot_nb.sources.formats import EpisodeReader

__all__ = ["Inputs"]


@dataclass
class Inputs:
    """What `ServerConfig` points at, discovered; `open(align)` gives the episode source."""

    server: ServerConfig
    readers: list[EpisodeReader] = field(default_factory=list)
    recordings: list[Recording] = field(default_factory=list)
    #: `AlignConfig` values that fit the data (a ticked format's own: fps, index, streams, cameras).
    defaults: dict[str, Any] = field(default_factory=dict)
    #: Whether the inputs' records already are frames (a ticked format, read directly or served).
    ticked: bool = False
    #: The reader's own sentence asking for an fps when its data has none (else a generic one).
    fps_request: str | None = None

    @classmethod
    def discover(cls, server: ServerConfig, *, direct: bool = True) -> Inputs:
        """Find the inputs; with `direct`, all-ticked inputs are read from disk instead of served."""
        if server.server_url:
            return cls(server)
        if not server.recordings:
            raise LerobotNbError("no recordings given (pass files or folders, or a server URL)")
        found = find_inputs([Path(p) for p in server.recordings])
        ticked = all(fmt.family == "ticked" for _, fmt in found)
        if direct and ticked:
            readers = [fmt.open_reader(path) for path, fmt in found]
            request = getattr(readers[0], "fps_request", None)
            return cls(
                server,
                readers=readers,
                defaults=dict(readers[0].defaults()),
                ticked=True,
                fps_request=request() if callable(request) else None,
            )
        cache = Path(server.cache_dir) if server.cache_dir else None
        recordings = discover_recordings(
            [Path(p) for p in server.recordings], cache_dir=cache, on_duplicate=server.on_duplicate
        )
        defaults = next((dict(r.defaults) for r in recordings if r.defaults), {})
        return cls(server, recordings=recordings, defaults=defaults, ticked=ticked)

    @property
    def paths(self) -> list[Path]:
        """The user's input files and folders (an output must not be inside them)."""
        return [] if self.server.server_url else [Path(p) for p in self.server.recordings]

    def align_config(
        self, given: Mapping[str, Any], *, fallback: Mapping[str, Any] | None = None
    ) -> AlignConfig:
        """`AlignConfig` from the values the user gave over the inputs' defaults.

        A default of `fps=None` means the data does not know its rate: the user must give one. The
        records of ticked data are frames, so a sequence timeline without a rate of its own ticks at
        the fps asked for. `fallback` holds a command's own defaults, for what the data does not say
        (the `lrbt` commands' 50 fps).
        """
        known = {k: v for k, v in self.defaults.items() if v is not None or k not in (fallback or {})}
        values = {**(fallback or {}), **known, **given}
        if values.get("fps", 0) is None:
            if self.fps_request:
                raise LerobotNbError(self.fps_request)
            where = self.server.recordings[0] if self.server.recordings else None
            raise LerobotNbError(
                "the recording does not say its frame rate: pass fps (CLI --fps N, one record = one frame)",
                file=where,
            )
        regrid = self._clock()
        if regrid and "index" not in given and "fps" in given and given["fps"] != self.defaults.get("fps"):
            values["index"] = regrid  # another rate than the data's own: re-grid on its clock
        if self.ticked and values.get("sequence_rate") is None and "fps" in values:
            values["sequence_rate"] = values["fps"]
        return config_from_mapping(AlignConfig, values)

    def _clock(self) -> str | None:
        """Ticked data's one timestamp timeline (xgym `time`, LeRobot `timestamp`) when it is aligned
        on a sequence of records by default: what another fps than the data's re-grids on."""
        timelines = (
            dict(self.readers[0].timelines())
            if self.readers
            else next((dict(r.timelines) for r in self.recordings if r.timelines), {})
        )
        clocks = [name for name, kind in timelines.items() if kind == "timestamp"]
        default = self.defaults.get("index")
        if not self.ticked or len(clocks) != 1 or timelines.get(str(default)) != "sequence":
            return None
        return clocks[0]

    def open(self, align: AlignConfig) -> EpisodeSource:
        """The episode source for `align`: files read directly, or a Rerun server (started on entry)."""
        if self.readers:
            return FileSource(self.readers, align)
        return ServedSource(self.server, align, recordings=self.recordings or None)


def given_values(cls: type[Any], namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `cls` a notebook set: every parameter that is a field and not None
    (None means "the default": the inputs' default, else the config's)."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(cls) if f.init}
    return {k: v for k, v in namespace.items() if k in names and v is not None}
