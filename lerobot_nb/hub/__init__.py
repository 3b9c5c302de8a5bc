"""Publish a finished, validated LeRobot v3.0 dataset to the Hugging Face Hub (branch, `v3.0` tag)."""

from __future__ import annotations

from lerobot_nb.hub.config import PushConfig
from lerobot_nb.hub.flags import add_push_arguments, push_request
from lerobot_nb.hub.push import PushResult, dataset_files, push_dataset

__all__ = ["PushConfig", "PushResult", "add_push_arguments", "dataset_files", "push_dataset", "push_request"]
