"""Inputs: find recordings on disk and bring every format to `.rrd` (one recording = one episode)."""

from lerobot_nb.sources.discover import Recording, discover_recordings
from lerobot_nb.sources.mcap import mcap_to_rrd

__all__ = ["Recording", "discover_recordings", "mcap_to_rrd"]
