"""Kept for imports of the earlier location: reading a v3.0 dataset is `lerobot_nb.lerobot_v3.dataset`."""

from lerobot_nb.lerobot_v3.dataset import *  # noqa: F403
from lerobot_nb.lerobot_v3.dataset import __all__  # noqa: F401
