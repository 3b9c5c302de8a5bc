"""SVT-AV1 as root moves its threads to SCHED_FIFO 99; the writer's encoders must not (CI hung on it:
a real-time pytest worker started Jupyter and Chromium real-time too, and they starved each other)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="only root may move threads to real-time scheduling (CI runs as root)"
)

ENCODE = """
import os, threading, numpy as np
from pathlib import Path
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.video import EncoderSettings, SegmentEncoder

def policies():
    return {os.sched_getscheduler(int(t)) for t in os.listdir("/proc/self/task")}

def encode(path):
    settings = EncoderSettings.from_config(ExportConfig(output=path + ".ds", codec="libsvtav1"))
    with SegmentEncoder(Path(path), fps=10, height=64, width=64, settings=settings) as enc:
        for _ in range(20):  # past one batch (16): the encoder is open and its threads run
            enc.push(np.zeros((64, 64, 3), np.uint8))
        during.update(policies())
        enc.finish()
    during.add(os.sched_getscheduler(0))  # the thread that opened it

during = set()
{call}
print(sorted(during), os.sched_getscheduler(0), flush=True)
"""


@pytest.mark.parametrize(
    "call",
    [
        "encode(os.environ['OUT'])",
        "t = threading.Thread(target=encode, args=(os.environ['OUT'],)); t.start(); t.join()",
    ],
    ids=["main thread", "worker thread"],
)
def test_svt_av1_encoders_stay_off_realtime_scheduling(tmp_path, call: str) -> None:  # type: ignore[no-untyped-def]
    script = textwrap.dedent(ENCODE).replace("{call}", call)
    env = {**os.environ, "OUT": str(tmp_path / "seg.mp4")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    # every thread of the process, the encoder's own included, stays SCHED_OTHER (0), not FIFO (1)
    assert lines[0] == f"[{os.SCHED_OTHER}] {os.SCHED_OTHER}", lines
    assert (tmp_path / "seg.mp4").stat().st_size > 0
