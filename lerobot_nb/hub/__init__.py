"""Publish a finished, validated LeRobot v3.0 dataset to the Hugging Face Hub (branch, `v3.0` tag)."""

from __future__ import annotations

# huggingface_hub reads HF_HUB_OFFLINE once, when its constants are imported. Other steps set it
# for their own offline loading (validate's loader check, the language embedding); importing it
# here, before a command runs any step, keeps the user's own setting for the push.
import huggingface_hub.constants  # noqa: F401

from lerobot_nb.hub.config import PushConfig
from lerobot_nb.hub.flags import add_push_arguments, push_request
from lerobot_nb.hub.push import PushResult, dataset_files, push_dataset

__all__ = ["PushConfig", "PushResult", "add_push_arguments", "dataset_files", "push_dataset", "push_request"]
