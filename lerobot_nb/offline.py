"""Keep model and dataset loading off the Hub for one block, without turning the Hub off for the process.

huggingface_hub reads `HF_HUB_OFFLINE` once, when its constants module is first imported; setting
the variable for good (as loading an offline model needs) would make a later `lerobot-nb push`
in the same process believe it is offline. `hub_offline()` sets the variables and the already
imported constants for the block only, and restores both.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["hub_offline"]

_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Inside the block nothing asks the Hub (the files are local); outside, everything is as before."""
    saved = {name: os.environ.get(name) for name in _VARIABLES}
    constants = sys.modules.get("huggingface_hub.constants")
    saved_constant = getattr(constants, "HF_HUB_OFFLINE", None)
    os.environ.update(dict.fromkeys(_VARIABLES, "1"))
    if constants is not None:
        setattr(constants, "HF_HUB_OFFLINE", True)  # noqa: B010 (a module attribute mypy does not see)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        constants = sys.modules.get("huggingface_hub.constants")
        if constants is not None:
            # a first import inside the block read the variables we set: undo that too
            offline = bool(saved_constant) if saved_constant is not None else _env_offline(saved)
            setattr(constants, "HF_HUB_OFFLINE", offline)  # noqa: B010


def _env_offline(saved: dict[str, str | None]) -> bool:
    value = saved.get("HF_HUB_OFFLINE") or ""
    return value.strip().lower() in ("1", "on", "yes", "true")
