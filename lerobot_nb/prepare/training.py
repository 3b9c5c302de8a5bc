"""A short CPU run of lerobot's real `lerobot-train` on a local dataset, offline, with its loss curve.

The proof that a prepared dataset trains as is: `lerobot.scripts.lerobot_train` (what the
`lerobot-train` console script runs) in a subprocess of this Python, the dataset from its folder
(`--dataset.root`, repo id `local/<name>`), nothing from the Hub (`HF_HUB_OFFLINE=1`, lerobot's
home in the output folder, W&B off), a policy small enough for a CPU (ACT without pretrained
backbone weights by default). The loss of every logged step is read from its log lines
(`step:N ... loss:X`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lerobot_nb.errors import LerobotNbError

__all__ = ["ACT_CPU", "TrainRun", "parse_losses", "train_lerobot"]

#: ACT small enough for a CPU: no pretrained ResNet weights (nothing to download), a 5-step chunk,
#: one encoder and decoder layer, a learning rate for a 20-step proof (ACT's 1e-5 moved the loss
#: of the PushT sample from 60.6 to 59.0 in 20 steps; 1e-3 brings it to 3.4).
ACT_CPU = (
    "--policy.type=act",
    "--policy.optimizer_lr=1e-3",
    "--policy.pretrained_backbone_weights=null",
    "--policy.chunk_size=5",
    "--policy.n_action_steps=5",
    "--policy.dim_model=64",
    "--policy.dim_feedforward=128",
    "--policy.n_heads=4",
    "--policy.n_encoder_layers=1",
    "--policy.n_decoder_layers=1",
    "--policy.n_vae_encoder_layers=1",
)
_STEP = re.compile(r"\bstep:(\S+) .*?\bloss:(\S+)")


@dataclass(frozen=True)
class TrainRun:
    """What a `lerobot-train` run did: exit code, the loss per logged step, its whole log."""

    returncode: int
    steps: np.ndarray
    losses: np.ndarray
    log: str
    output_dir: Path
    seconds: float

    @property
    def ok(self) -> bool:
        """True if `lerobot-train` exited with code 0."""
        return self.returncode == 0


def parse_losses(log: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, losses) of lerobot-train's `step:N smpl:... loss:X ...` lines, in order."""
    steps, losses = [], []
    for match in _STEP.finditer(log):
        steps.append(_number(match.group(1)))
        losses.append(float(match.group(2)))
    return np.asarray(steps, np.int64), np.asarray(losses, np.float64)


def _number(text: str) -> int:
    """lerobot's `format_big_number` back to an int (`20`, `1K`, `1.2M`)."""
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}.get(text[-1:], 1.0)
    return round(float(text[:-1] if scale != 1.0 else text) * scale)


def train_lerobot(
    dataset: str | Path,
    output_dir: str | Path,
    *,
    steps: int = 20,
    batch_size: int = 8,
    policy: Sequence[str] = ACT_CPU,
    args: Sequence[str] = (),
    timeout_s: float = 1800.0,
) -> TrainRun:
    """Run `lerobot-train` for `steps` optimizer steps on CPU, logging every step; never raises on a
    failed run (see `.returncode` and `.log`). `output_dir` must not exist yet (lerobot refuses)."""
    root = Path(dataset).expanduser().absolute()
    out = Path(output_dir).expanduser().absolute()
    if not (root / "meta/info.json").is_file():
        raise LerobotNbError("not a LeRobot dataset (meta/info.json is missing)", file=root)
    command = [
        sys.executable,
        "-m",
        "lerobot.scripts.lerobot_train",
        f"--dataset.repo_id=local/{root.name}",
        f"--dataset.root={root}",
        "--dataset.video_backend=pyav",
        *policy,
        "--policy.device=cpu",
        "--policy.push_to_hub=false",
        f"--steps={steps}",
        f"--batch_size={batch_size}",
        "--num_workers=0",
        "--log_freq=1",
        "--save_checkpoint=false",
        "--env_eval_freq=0",
        "--wandb.enable=false",
        f"--output_dir={out}",
        *args,
    ]
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "WANDB_MODE": "disabled",
        "HF_LEROBOT_HOME": str(out.parent / f".{out.name}-lerobot-home"),
        "TOKENIZERS_PARALLELISM": "false",
    }
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
    log = done.stdout + done.stderr
    found_steps, losses = parse_losses(log)
    return TrainRun(done.returncode, found_steps, losses, log, out, time.perf_counter() - started)
