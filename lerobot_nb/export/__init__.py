"""Aligned episodes -> a LeRobot v3.0 dataset on disk: streaming, crash-safe, loads in lerobot."""

from lerobot_nb.export.config import CODECS, ExportConfig
from lerobot_nb.export.summary import ExportSummary
from lerobot_nb.export.writer import export_dataset, read_sources

__all__ = ["CODECS", "ExportConfig", "ExportSummary", "export_dataset", "read_sources"]
