"""Notebook parameters -> the package's objects: recordings (sample by default), server, step configs.

Every notebook's `parameters` cell holds plain values (papermill can only inject those); these
helpers turn them into the frozen configs of each step, one parameter name everywhere.
"""

from __future__ import annotations

import dataclasses
import typing
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lerobot_nb.config import config_from_mapping
from lerobot_nb.server import RecordingServer, ServerConfig
from lerobot_nb.sources.mcap import default_cache_dir

if TYPE_CHECKING:
    from lerobot_nb.pipeline import Inputs

__all__ = [
    "SAMPLE_DEFAULTS",
    "default_output",
    "notebook_inputs",
    "notebook_server_config",
    "resolve_recordings",
    "server_config",
    "start_server",
    "step_config",
]

#: Alignment defaults of the built-in sample recordings (their cameras), used when `recordings` is None.
SAMPLE_DEFAULTS: dict[str, Any] = {"image": ("top:/camera/top:video", "wrist:/camera/wrist:compressed")}


def resolve_recordings(
    recordings: str | Path | Sequence[str | Path] | None, *, sample: Literal["pusht", "hands"] = "pusht"
) -> tuple[str, ...]:
    """The recording files/folders to read; `None` means the built-in sample recordings.

    The sample recordings (`sample="hands"`: the drawn human-hand demonstration) are generated
    once (deterministically) into the cache, so Run All works on a fresh install without any data.
    """
    if recordings is None or recordings == "" or recordings == []:
        from lerobot_nb.sources.sample import sample_hand_recordings, sample_recordings

        return (str(sample_hand_recordings() if sample == "hands" else sample_recordings()),)
    if isinstance(recordings, str | Path):
        return (str(recordings),)
    return tuple(str(p) for p in recordings)


def notebook_server_config(
    namespace: Mapping[str, Any], *, sample: Literal["pusht", "hands"] = "pusht"
) -> ServerConfig:
    """`ServerConfig` from the notebook parameters (`recordings` None: the sample recordings), so
    every `ServerConfig` field is a parameter of the same name (`on_duplicate`, `cache_dir`, ...)."""
    recordings = (
        () if namespace.get("server_url") else resolve_recordings(namespace.get("recordings"), sample=sample)
    )
    return step_config(ServerConfig, namespace, recordings=recordings)


def server_config(
    recordings: str | Path | Sequence[str | Path] | None = None,
    *,
    server_url: str | None = None,
    dataset_name: str = "recordings",
) -> ServerConfig:
    """The `ServerConfig` for these notebook parameters (sample recordings when none are given)."""
    return notebook_server_config(
        {"recordings": recordings, "server_url": server_url, "dataset_name": dataset_name}
    )


def notebook_inputs(
    namespace: Mapping[str, Any], *, direct: bool = True, sample: Literal["pusht", "hands"] = "pusht"
) -> Inputs:
    """The pipeline's `Inputs` for the notebook parameters (`recordings`, `server_url`, `dataset_name`, ...).

    Their `defaults` are what the data brings (a ticked format's streams and fps); the built-in
    sample recordings (`recordings = None`) bring their cameras (`SAMPLE_DEFAULTS`). `direct=False`
    serves ticked inputs too (notebooks that query the server or show the viewer).
    """
    from lerobot_nb.pipeline import Inputs

    inputs = Inputs.discover(notebook_server_config(namespace, sample=sample), direct=direct)
    if not namespace.get("recordings") and not namespace.get("server_url"):
        inputs.defaults = {**SAMPLE_DEFAULTS, **inputs.defaults}
    return inputs


def start_server(
    recordings: Inputs | str | Path | Sequence[str | Path] | None = None,
    *,
    server_url: str | None = None,
    dataset_name: str = "recordings",
) -> RecordingServer:
    """A started `RecordingServer` for a notebook (cells cannot share one `with` block).

    Give it the notebook's `Inputs` (from `notebook_inputs(..., direct=False)`: the recordings are
    served as discovered, no second conversion), or recordings and a server URL as before. Call
    `.close()` in the last cell; the server is also shut down when the object is garbage-collected
    or the kernel exits.
    """
    from lerobot_nb.pipeline import Inputs

    if isinstance(recordings, Inputs):
        server = RecordingServer(recordings.server, recordings=recordings.recordings or None)
    else:
        server = RecordingServer(server_config(recordings, server_url=server_url, dataset_name=dataset_name))
    server.__enter__()
    weakref.finalize(server, server.close)
    return server


def step_config[C](cls: type[C], namespace: Mapping[str, Any], **overrides: Any) -> C:
    """Build a step's config from the notebook parameters that are fields of `cls`.

    `namespace` is usually `globals()`: only names that are fields of `cls` are read, so one
    parameter (`fps`) feeds every config that has it. None for a field that cannot be None
    (`episodes = None` for a tuple field) means "the config's default".
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    values = {k: v for k, v in namespace.items() if k in names and (v is not None or _accepts_none(hints[k]))}
    values.update(overrides)
    return config_from_mapping(cls, values)


def _accepts_none(tp: Any) -> bool:
    return tp is Any or type(None) in typing.get_args(tp)


def default_output() -> Path:
    """Where 04 writes and 05 reads the dataset when `output` is None: a folder in the cache."""
    return default_cache_dir().parent / "notebooks" / "dataset"
