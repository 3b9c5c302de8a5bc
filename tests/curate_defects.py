"""Sample PushT recordings with planted defects of known episode, time and length (no tests here).

The episodes come from the package's sample generator (the real gym-pusht simulation, logged to
`.rrd` like `lerobot-nb sample`); one defect is planted into the simulated streams of each
before logging, so its recording time is known exactly:

| recording  | defect |
|------------|--------|
| pusht_000  | none (the original of the duplicate) |
| pusht_001  | idle head of HEAD_S and idle tail of TAIL_S: the robot waits, then replays its motion |
| pusht_002  | the top camera shows one picture from FROZEN_AT_S for FROZEN_S while the robot moves |
| pusht_003  | agent_x of the state jumps by SPIKE_PX for SPIKE_S at SPIKE_AT_S and comes back |
| pusht_004  | no state sample from GAP_AT_S for GAP_S |
| pusht_005  | pusht_000 recorded again (same samples, another recording id) |
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_nb.align import AlignConfig
from lerobot_nb.curate import ScoreConfig, Scores, score_recordings
from lerobot_nb.notebooks import load_params, notebook_dir
from lerobot_nb.pipeline import Inputs, iterate_pipeline
from lerobot_nb.server import ServerConfig
from lerobot_nb.sources import sample as generator
from lerobot_nb.sources.pusht_sim import SIM_HZ
from lerobot_nb.sources.sample import SampleConfig, SampleStream

HEAD_S, TAIL_S = 1.5, 2.0
FROZEN_AT_S, FROZEN_S = 3.0, 2.0
SPIKE_AT_S, SPIKE_S, SPIKE_PX = 4.0, 0.1, 90.0
GAP_AT_S, GAP_S = 3.0, 0.8
EPISODES = 6
CONFIG = SampleConfig(episode_count=EPISODES, mcap=False)

#: The notebooks' sample alignment parameters (fps, index, streams, cameras).
SAMPLE_ALIGN = {
    k: v
    for k, v in load_params(notebook_dir() / "params/sample.yaml").items()
    if k in AlignConfig.__dataclass_fields__
}


def align(recordings: Path, **extra: Any) -> tuple[Inputs, AlignConfig]:
    """The inputs and alignment of the notebooks' sample parameters (plus `extra`)."""
    inputs = Inputs.discover(ServerConfig(recordings=(str(recordings),)))
    return inputs, inputs.align_config({**SAMPLE_ALIGN, **extra})


def score(recordings: Path, config: ScoreConfig | None = None, **extra: Any) -> Scores:
    """Scores of `recordings` aligned as the notebooks align the samples, before export."""
    inputs, aligned = align(recordings, **extra)
    return score_recordings(iterate_pipeline(inputs.open(aligned)), config, source=str(recordings))


@dataclass(frozen=True)
class Planted:
    """A planted defect: the flag it should raise, at `at_s` seconds after the recording start."""

    flag: str
    at_s: float
    length_s: float


def recording_start_ns(index: int) -> int:
    """Time 0 of sample episode `index` on its `real_time` timeline (the generator's epoch)."""
    return generator._EPOCH_NS + index * 60_000_000_000


def _within(stream: SampleStream, index: int, at_s: float, length_s: float) -> np.ndarray:
    t = (stream.times_ns - recording_start_ns(index)) / 1e9
    return (t >= at_s) & (t < at_s + length_s)


def _idle_edges(ep: generator._Episode) -> generator._Episode:
    """Every stream shows the simulation delayed by HEAD_S and held for the last TAIL_S."""
    steps = len(ep.sim.state)
    head, tail = round(HEAD_S * SIM_HZ), round(TAIL_S * SIM_HZ)

    def shifted(s: SampleStream) -> SampleStream:
        return SampleStream(s.times_ns, np.clip(s.steps - head, 0, steps - 1 - head - tail))

    return dataclasses.replace(
        ep, action=shifted(ep.action), state=shifted(ep.state), top=shifted(ep.top), wrist=shifted(ep.wrist)
    )


def _frozen_top(ep: generator._Episode) -> generator._Episode:
    inside = _within(ep.top, ep.index, FROZEN_AT_S, FROZEN_S)
    held = ep.top.steps[np.argmax(inside)]
    return dataclasses.replace(ep, top=SampleStream(ep.top.times_ns, np.where(inside, held, ep.top.steps)))


def _spike(ep: generator._Episode) -> generator._Episode:
    state = ep.sim.state.copy()
    first = round(SPIKE_AT_S * SIM_HZ)
    state[first : first + round(SPIKE_S * SIM_HZ), 0] += SPIKE_PX
    return dataclasses.replace(ep, sim=dataclasses.replace(ep.sim, state=state))


def _gap(ep: generator._Episode) -> generator._Episode:
    keep = ~_within(ep.state, ep.index, GAP_AT_S, GAP_S)
    return dataclasses.replace(ep, state=SampleStream(ep.state.times_ns[keep], ep.state.steps[keep]))


PLANTED: dict[str, list[Planted]] = {
    "pusht_001": [Planted("idle_head", 0.0, HEAD_S), Planted("idle_tail", 8.0 - TAIL_S, TAIL_S)],
    "pusht_002": [Planted("frozen_camera", FROZEN_AT_S, FROZEN_S)],
    "pusht_003": [Planted("spike", SPIKE_AT_S, SPIKE_S)],
    "pusht_004": [Planted("gap", GAP_AT_S, GAP_S)],
    "pusht_005": [Planted("duplicate", 0.0, 0.0)],
}


def write_defect_recordings(out: Path) -> Path:
    """The six recordings of the table above in `out/rrd/`; returns that folder."""
    rrd = out / "rrd"
    rrd.mkdir(parents=True, exist_ok=True)
    plant = {1: _idle_edges, 2: _frozen_top, 3: _spike, 4: _gap}
    original = None
    for index in range(EPISODES - 1):
        ep = generator._simulate(CONFIG, index)
        original = original or ep
        generator._write_rrd(plant.get(index, lambda e: e)(ep), CONFIG, rrd / f"{ep.id}.rrd")
    assert original is not None
    twin = dataclasses.replace(original, index=EPISODES - 1)
    generator._write_rrd(twin, CONFIG, rrd / f"{twin.id}.rrd")
    return rrd
