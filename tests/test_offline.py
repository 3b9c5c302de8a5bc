"""`hub_offline()` keeps the Hub off for one block only: a later push in the same process is online."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_block_is_offline_and_everything_is_restored_after() -> None:
    code = """
import os
from lerobot_nb.offline import hub_offline
os.environ.pop("HF_HUB_OFFLINE", None); os.environ["TRANSFORMERS_OFFLINE"] = "0"
with hub_offline():
    import huggingface_hub.constants as c      # first imported inside the block
    inside = (c.HF_HUB_OFFLINE, os.environ["HF_HUB_OFFLINE"], os.environ["TRANSFORMERS_OFFLINE"])
print(inside, c.HF_HUB_OFFLINE, os.environ.get("HF_HUB_OFFLINE"), os.environ["TRANSFORMERS_OFFLINE"])
"""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "(True, '1', '1') False None 0"


def test_an_offline_process_stays_offline() -> None:
    code = """
import huggingface_hub.constants as c
from lerobot_nb.offline import hub_offline
with hub_offline():
    pass
print(c.HF_HUB_OFFLINE)
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "True"
