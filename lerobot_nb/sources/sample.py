"""Built-in sample recordings: PushT episodes from `gym-pusht`, logged to `.rrd` at native rates.

Each episode is one recording (recording id `pusht_000`, `pusht_001`, ...) on the timestamp
timeline `real_time`, with the streams a real robot logger would write:

| entity                  | archetype          | rate   | what                                        |
|-------------------------|--------------------|--------|---------------------------------------------|
| `/action`               | Scalars (2)        | 10 Hz  | target position (x, y) of the pusher, px    |
| `/observation/state`    | Scalars (5)        | 50 Hz  | agent x, y, block x, y (px), block angle    |
| `/reward`               | Scalars (1)        | 10 Hz  | fraction of the goal covered by the T       |
| `/camera/top`           | VideoStream H.264  | 15 Hz  | the whole table, 96x96                      |
| `/camera/wrist`         | EncodedImage JPEG  | 10 Hz  | 64x64 crop following the pusher (a few drops)|
| `/language_instruction` | TextDocument       | static | the task                                    |

With `hand=True` (`HAND_SAMPLE`, `sample_hand_recordings`) the same simulation is drawn as a
human demonstration instead: no pusher disc, a drawn hand pushes with its index fingertip (see
`sample_hands`); episodes are `pusht_hand_000`, ...; the drawn keypoints are the ground truth.

Timestamps carry logging jitter (normal, clipped to 3 sigma) and each stream starts with a small
offset, like separate sensor threads; values are the simulator state at the latest physics step
before the timestamp. Everything derives from the seed, so the same seed gives the same data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from lerobot_nb.config import help_field, warn_deprecated
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.mcap import cache_root
from lerobot_nb.sources.pusht_sim import SIM_HZ, PushTEpisode, simulate_pusht
from lerobot_nb.sources.sample_hands import HandTruth, draw_hand_episode, log_hand_truth, write_hand_truth

__all__ = [
    "HAND_SAMPLE",
    "SAMPLE_TASKS",
    "SAMPLE_TIMELINE",
    "SampleConfig",
    "SampleStream",
    "episode_id",
    "read_sample_summary",
    "sample_hand_recordings",
    "sample_mcap",
    "sample_recordings",
    "write_sample_recordings",
]

#: Bump when the generated data changes: cache entries of older versions are not reused.
GENERATOR_VERSION = "2"

SAMPLE_TIMELINE = "real_time"
#: Task texts, used in turn by episode index (two, so datasets get more than one task).
SAMPLE_TASKS = (
    "Push the T-shaped block onto the green target area.",
    "Slide the grey T so that it covers the green T.",
)
STATE_NAMES = ("agent_x", "agent_y", "block_x", "block_y", "block_angle")
ACTION_NAMES = ("target_x", "target_y")
#: First timestamp of episode 0 (2025-03-01T09:00:00Z); later episodes start a minute apart.
_EPOCH_NS = 1_740_819_600 * 1_000_000_000


@dataclass(frozen=True, kw_only=True)
class SampleConfig:
    """How the sample episodes are generated (all rates in Hz, durations in seconds)."""

    episode_count: int = help_field(4, "number of episodes")
    seed: int = help_field(0, "seed of the first episode (episode i uses seed + i)")
    duration_s: float = help_field(8.0, "length of each episode in seconds")
    action_hz: int = help_field(10, "rate of /action (the policy's decision rate)")
    state_hz: int = help_field(50, "rate of /observation/state")
    top_hz: int = help_field(15, "rate of the H.264 top camera /camera/top")
    wrist_hz: int = help_field(10, "rate of the JPEG wrist camera /camera/wrist")
    top_size: int = help_field(96, "top camera image size (square, even)")
    wrist_size: int = help_field(64, "wrist camera image size (square)")
    jitter: float = help_field(0.03, "timestamp jitter as a fraction of each stream's period (std)")
    wrist_drop: float = help_field(0.02, "probability that a wrist frame is lost")
    mcap: bool = help_field(True, "also write one ROS 2 MCAP episode into mcap/")
    hand: bool = help_field(
        False,
        "a human demonstration: a drawn hand pushes instead of the disc (use --top-size 256 or more for "
        "MediaPipe); its keypoints go to truth/ and /camera/top/hand_truth",
    )

    #: Deprecated spelling of `episode_count` (`episodes` names episode ids elsewhere).
    episodes: int | None = help_field(None, "deprecated: --episode-count", deprecated="episode_count")

    def __post_init__(self) -> None:
        if self.episodes is not None:
            warn_deprecated("SampleConfig.episodes", "episode_count")
            object.__setattr__(self, "episode_count", self.episodes)
            object.__setattr__(self, "episodes", None)
        if self.episode_count < 1:
            raise LerobotNbError(f"episode_count must be at least 1 (got {self.episode_count})")
        for name in ("action_hz", "state_hz"):
            rate = getattr(self, name)
            if rate <= 0 or SIM_HZ % rate:
                raise LerobotNbError(f"{name} must divide the simulator rate {SIM_HZ} Hz (got {rate})")
        if self.top_size % 2:
            raise LerobotNbError(f"top_size must be even for H.264 (got {self.top_size})")

    @property
    def prefix(self) -> str:
        """Episode id prefix: `pusht`, or `pusht_hand` for the hand demonstration."""
        return "pusht_hand" if self.hand else "pusht"


#: The hand demonstration notebook 03 uses by default: the first two PushT episodes' pushes, done by
#: a drawn hand in a 256 px top camera (MediaPipe's palm detector needs the hand well over 64 px).
HAND_SAMPLE = SampleConfig(episode_count=2, top_size=256, mcap=False, hand=True)


@dataclass(frozen=True)
class SampleStream:
    """One logged stream: int64 ns timestamps and the simulator step each sample shows."""

    times_ns: np.ndarray
    steps: np.ndarray


def episode_id(index: int, prefix: str = "pusht") -> str:
    """Recording id of sample episode `index`: `<prefix>_<index>`, index zero-padded to 3 (`pusht_007`)."""
    return f"{prefix}_{index:03d}"


def _stream_times(
    rng: np.random.Generator, rate: float, n_steps: int, jitter: float, start_ns: int, drop: float = 0.0
) -> SampleStream:
    """Nominal times k/rate after a small start offset, with clipped normal jitter; in order."""
    period_ns = 1e9 / rate
    offset = rng.uniform(3 * jitter, 3 * jitter + 0.2) * period_ns  # never before the start
    count = int((n_steps / SIM_HZ * 1e9 - offset) // period_ns)
    noise = np.clip(rng.normal(0.0, jitter, count), -3 * jitter, 3 * jitter) * period_ns
    rel = offset + np.arange(count) * period_ns + noise
    keep = rng.random(count) >= drop if drop else np.ones(count, bool)
    rel = rel[keep]
    steps = np.minimum((rel * SIM_HZ // 1e9).astype(np.int64), n_steps - 1)
    return SampleStream(times_ns=start_ns + np.round(rel).astype(np.int64), steps=steps)


def _encode_h264(frames: np.ndarray, fps: int) -> list[tuple[bytes, bool]]:
    """Encode RGB frames as H.264 Annex-B samples (one per frame, no B-frames); (bytes, keyframe)."""
    import av

    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height = frames.shape[2], frames.shape[1]
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, fps)
    ctx.framerate = Fraction(fps)
    # One thread and no lookahead: deterministic bytes and exactly one packet per frame.
    ctx.options = {
        "preset": "veryfast",
        "tune": "zerolatency",
        "threads": "1",
        "bf": "0",
        "g": str(fps),
        "crf": "23",
    }
    packets = []
    for i, rgb in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = i
        packets += ctx.encode(frame.reformat(format="yuv420p"))
    packets += ctx.encode(None)
    if len(packets) != len(frames):
        raise RuntimeError(f"H.264 encoder gave {len(packets)} packets for {len(frames)} frames")
    return [(bytes(p), bool(p.is_keyframe)) for p in packets]


def _encode_jpeg(rgb: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


@dataclass(frozen=True)
class _Episode:
    """A simulated episode plus the timestamps of every stream (what both writers log)."""

    index: int
    sim: PushTEpisode
    action: SampleStream
    state: SampleStream
    top: SampleStream
    wrist: SampleStream
    task: str
    #: (K_render, 21, 2) drawn hand keypoints of each rendered step (hand demonstrations only).
    hand: np.ndarray | None = None

    @property
    def id(self) -> str:
        return episode_id(self.index, "pusht_hand" if self.hand is not None else "pusht")

    def frames(self, stream: SampleStream, which: str) -> np.ndarray:
        images = self.sim.top if which == "top" else self.sim.wrist
        return images[np.searchsorted(self.sim.render_steps, stream.steps)]


def _simulate(config: SampleConfig, index: int) -> _Episode:
    seed = config.seed + index
    rng = np.random.default_rng([seed, 7919])  # timing noise, independent of the env's RNG
    n_steps = round(config.duration_s * SIM_HZ)
    start = _EPOCH_NS + index * 60_000_000_000
    hold = SIM_HZ // config.action_hz
    action = _stream_times(rng, config.action_hz, n_steps, config.jitter, start)
    # The action is logged when the policy decides it, i.e. at the start of its hold period.
    action = SampleStream(action.times_ns, (action.steps // hold) * hold)
    state = _stream_times(rng, config.state_hz, n_steps, config.jitter, start)
    top = _stream_times(rng, config.top_hz, n_steps, config.jitter, start)
    wrist = _stream_times(rng, config.wrist_hz, n_steps, config.jitter, start, drop=config.wrist_drop)
    render = np.unique(np.concatenate([top.steps, wrist.steps]))
    sim = simulate_pusht(
        seed,
        duration_s=config.duration_s,
        action_hz=config.action_hz,
        render_steps=render,
        top_size=config.top_size,
        wrist_size=config.wrist_size,
        draw_agent=not config.hand,
    )
    task = SAMPLE_TASKS[index % len(SAMPLE_TASKS)]
    if not config.hand:
        return _Episode(index, sim, action, state, top, wrist, task)
    sim, keypoints = draw_hand_episode(sim, config.wrist_size)
    return _Episode(index, sim, action, state, top, wrist, task, hand=keypoints)


def _hand_truth(ep: _Episode) -> HandTruth:
    """The drawn keypoints of each top camera frame (hand demonstrations only)."""
    assert ep.hand is not None
    frames = ep.hand[np.searchsorted(ep.sim.render_steps, ep.top.steps)]
    return HandTruth(ep.top.times_ns, frames, left=True, image_size=ep.sim.top.shape[1])


def _write_rrd(ep: _Episode, config: SampleConfig, path: Path) -> None:
    import rerun as rr

    rec = rr.RecordingStream("lerobot_nb_sample", recording_id=ep.id, send_properties=False)
    rec.save(path)

    def times(stream: SampleStream) -> list[rr.TimeColumn]:
        return [rr.TimeColumn(SAMPLE_TIMELINE, timestamp=stream.times_ns.astype("datetime64[ns]"))]

    rec.log("/language_instruction", rr.TextDocument(ep.task), static=True)
    rec.log("/action", rr.SeriesLines(names=list(ACTION_NAMES)), static=True)
    rec.log("/observation/state", rr.SeriesLines(names=list(STATE_NAMES)), static=True)
    rec.log("/reward", rr.SeriesLines(names=["coverage"]), static=True)
    rec.send_columns(
        "/action",
        indexes=times(ep.action),
        columns=rr.Scalars.columns(scalars=ep.sim.action[ep.action.steps]),
    )
    rec.send_columns(
        "/observation/state",
        indexes=times(ep.state),
        columns=rr.Scalars.columns(scalars=ep.sim.state[ep.state.steps]),
    )
    # The reward the policy saw when it decided each action.
    rec.send_columns(
        "/reward",
        indexes=times(ep.action),
        columns=rr.Scalars.columns(scalars=ep.sim.coverage[ep.action.steps]),
    )

    rec.log("/camera/top", rr.VideoStream(codec=rr.VideoCodec.H264), static=True)
    samples = _encode_h264(ep.frames(ep.top, "top"), config.top_hz)
    rec.send_columns(
        "/camera/top",
        indexes=times(ep.top),
        columns=rr.VideoStream.columns(sample=[s for s, _ in samples], is_keyframe=[k for _, k in samples]),
    )
    jpegs = [_encode_jpeg(f) for f in ep.frames(ep.wrist, "wrist")]
    rec.send_columns(
        "/camera/wrist",
        indexes=times(ep.wrist),
        columns=rr.EncodedImage.columns(blob=jpegs, media_type=["image/jpeg"] * len(jpegs)),
    )
    if ep.hand is not None:
        log_hand_truth(rec, SAMPLE_TIMELINE, _hand_truth(ep))
    rec.flush()
    rec.disconnect()


def _summary_row(ep: _Episode, file: str) -> dict[str, object]:
    cov = ep.sim.coverage
    return {
        "episode": ep.id,
        "file": file,
        "seed": ep.sim.seed,
        "duration_s": ep.sim.duration_s,
        "task": ep.task,
        "coverage_start": round(float(cov[0]), 4),
        "coverage_end": round(float(cov[-1]), 4),
        "coverage_max": round(float(cov.max()), 4),
    }


def write_sample_recordings(out_dir: str | Path, config: SampleConfig | None = None) -> list[Path]:
    """Generate the sample episodes into `out_dir/rrd/` (and one ROS 2 MCAP into `out_dir/mcap/`).

    Returns the `.rrd` files in episode order. The MCAP episode uses the last episode's
    simulation and lives apart from the `.rrd` files because its entity paths and timeline
    (`ros2_timestamp`) differ.
    """
    config = config or SampleConfig()
    out = Path(out_dir)
    rrd_dir = out / "rrd"
    rrd_dir.mkdir(parents=True, exist_ok=True)
    (out / "sample.json").unlink(missing_ok=True)  # marks the set complete: written last
    files = []
    summary = []
    last: _Episode | None = None
    for index in range(config.episode_count):
        last = _simulate(config, index)
        path = rrd_dir / f"{last.id}.rrd"
        _write_rrd(last, config, path)
        files.append(path)
        summary.append(_summary_row(last, f"rrd/{path.name}"))
        if last.hand is not None:
            truth = _hand_truth(last)
            write_hand_truth(out / "truth" / f"{last.id}.npz", truth)
            summary[-1]["hand_in_view"] = round(float(truth.in_view().mean()), 4)
    if config.mcap and last is not None:
        from lerobot_nb.sources.sample_mcap import write_ros2_episode

        mcap = write_ros2_episode(last, out / "mcap" / f"{last.id}_ros2.mcap")
        summary.append({**summary[-1], "episode": mcap.stem, "file": f"mcap/{mcap.name}"})
    # A set written earlier into the same folder with more episodes must not leave extras behind.
    written = {out / str(row["file"]) for row in summary}
    written |= {out / "truth" / f"{Path(str(row['file'])).stem}.npz" for row in summary}
    for stale in [
        *rrd_dir.glob("pusht_*.rrd"),
        *(out / "mcap").glob("pusht_*_ros2.mcap"),
        *(out / "truth").glob("pusht_*.npz"),
    ]:
        if stale not in written:
            stale.unlink()
    meta = {"generator": GENERATOR_VERSION, "config": asdict(config), "episodes": summary}
    (out / "sample.json").write_text(json.dumps(meta, indent=1))
    return files


def read_sample_summary(folder: str | Path) -> list[dict[str, object]]:
    """Per-episode summary written with a sample set (`folder` is the set or its `rrd/`)."""
    folder = Path(folder)
    meta = folder / "sample.json" if (folder / "sample.json").exists() else folder.parent / "sample.json"
    return list(json.loads(meta.read_text())["episodes"])


def _cache_key(config: SampleConfig) -> str:
    blob = json.dumps({"generator": GENERATOR_VERSION, **asdict(config)}, sort_keys=True)
    digest = hashlib.sha256(blob.encode()).hexdigest()[:10]
    return f"v{GENERATOR_VERSION}-e{config.episode_count}-s{config.seed}-{digest}"


def sample_recordings(
    out_dir: str | Path | None = None, *, episodes: int = 4, seed: int = 0, config: SampleConfig | None = None
) -> Path:
    """The folder of sample `.rrd` episodes, generated only when missing; its sibling `mcap/`
    holds the ROS 2 MCAP episode.

    Without `out_dir` the episodes are cached under `$LEROBOT_NB_CACHE/sample/<key>/rrd`, keyed
    by (episodes, seed, generator version); `config` overrides every generation setting. Generation goes to a temporary folder that is renamed
    into place, so concurrent callers and interrupted runs never see a half-written set.
    """
    config = config or SampleConfig(episode_count=episodes, seed=seed)
    if out_dir is not None:
        target = Path(out_dir)
        if not _complete(target, config):
            if target.exists() and not target.is_dir():
                raise LerobotNbError("exists and is not a folder", file=target)
            write_sample_recordings(target, config)
        return target / "rrd"
    target = cache_root() / "sample" / _cache_key(config)
    if _complete(target, config):
        return target / "rrd"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
    try:
        write_sample_recordings(tmp, config)
        if target.exists() and not _complete(target, config):
            shutil.rmtree(target)  # an older or broken set under the same name
        with contextlib.suppress(OSError):  # another process may have won the race: keep its copy
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not _complete(target, config):
        raise LerobotNbError("could not write the sample recordings", file=target)
    return target / "rrd"


def sample_hand_recordings(out_dir: str | Path | None = None) -> Path:
    """The folder of hand demonstration `.rrd` episodes (`HAND_SAMPLE`), generated only when missing;
    its sibling `truth/` holds the drawn keypoints (`sample_hands.read_hand_truth`)."""
    return sample_recordings(out_dir, config=HAND_SAMPLE)


def sample_mcap(out_dir: str | Path | None = None, *, episodes: int = 4, seed: int = 0) -> Path:
    """The ROS 2 MCAP sample episode (generated with the `.rrd` episodes when missing)."""
    rrd_dir = sample_recordings(out_dir, episodes=episodes, seed=seed)
    found = sorted((rrd_dir.parent / "mcap").glob("*.mcap"))
    if not found:
        raise LerobotNbError("the sample set has no MCAP episode", file=rrd_dir.parent)
    return found[0]


def _complete(target: Path, config: SampleConfig) -> bool:
    meta = target / "sample.json"
    if not meta.is_file():
        return False
    try:
        saved = json.loads(meta.read_text())
    except ValueError:
        return False
    if not isinstance(saved, dict) or saved.get("generator") != GENERATOR_VERSION:
        return False
    if saved.get("config") != json.loads(json.dumps(asdict(config))):
        return False
    return all(
        (target / "rrd" / f"{episode_id(i, config.prefix)}.rrd").is_file()
        for i in range(config.episode_count)
    )
