"""Kept for imports of the earlier location: the LeRobot v3.0 layout is `lerobot_nb.lerobot_v3.layout`."""

from lerobot_nb.lerobot_v3.layout import *  # noqa: F403
from lerobot_nb.lerobot_v3.layout import __all__  # noqa: F401
