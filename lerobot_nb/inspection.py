"""Deprecated: `lerobot_nb.inspection` moved to the package `lerobot_nb.inspect` (same names)."""

from __future__ import annotations

import warnings

from lerobot_nb import inspect as _inspect
from lerobot_nb.inspect import *  # noqa: F403 - the alias re-exports every public name
from lerobot_nb.units import NS_PER_S

__all__ = [*_inspect.__all__, "NS_PER_S"]

warnings.warn(
    "lerobot_nb.inspection is deprecated; import from lerobot_nb.inspect",
    DeprecationWarning,
    stacklevel=2,
)
