"""`lerobot-nb hands`: find hands in recordings, xgym `ep*.npz` or a LeRobot dataset; add them as features.

    lerobot-nb hands recordings/ --image front:/camera/front:video --output out/ds
    lerobot-nb hands npz/ --backend hamer --hamer.host gpu-box --hamer.port 8765 --output out/ds
    lerobot-nb hands existing_ds/ --camera front --output out/ds_with_hands

Every episode gets `observation.hands.{left,right}.{kp3d,kp3d_world,kp2d,box,confidence,present}`
(+ `mano.*` with HaMeR); with `--output` the episodes are written as a LeRobot v3.0 dataset, with
`--rrd-dir` each episode's overlay (2D keypoints over the camera, 3D in the world) is saved as
`<episode>.hands.rrd`. Without either, only the per-episode report is printed. The same chain as
`lerobot-nb convert`, with the hand step added (`--dir` and `--lerobot` name the input too).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lerobot_nb.align import AlignConfig
from lerobot_nb.config import add_config_arguments, config_from_args, given_args
from lerobot_nb.enrich.hands.enrich import HandPoseConfig, HandsResult
from lerobot_nb.episode import EpisodeSkipped
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.server import ServerConfig

__all__ = ["add_hand_arguments", "register", "run"]


def register(sub: Any) -> None:
    """Add the `hands` subcommand to `sub`: inputs, hand pose flags, and the convert flags for --output."""
    from lerobot_nb.cli.convert import add_convert_arguments, add_inputs_arguments

    parser: argparse.ArgumentParser = sub.add_parser(
        "hands",
        help="estimate hand pose per frame and add it to the episodes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_inputs_arguments(parser)
    parser.add_argument(
        "--dir", type=Path, default=None, metavar="DIR", help="folder of xgym ep*.npz episodes"
    )
    parser.add_argument(
        "--lerobot", type=Path, default=None, metavar="DIR", help="a LeRobot dataset to enrich"
    )
    parser.add_argument(
        "--rrd-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="save each overlay as DIR/<episode>.hands.rrd",
    )
    add_convert_arguments(parser, server=False)
    add_hand_arguments(parser)
    parser.set_defaults(func=run)


def add_hand_arguments(parser: argparse.ArgumentParser) -> None:
    """`HandPoseConfig`'s flags, plus xgym's tyro spellings `--hamer.host` / `--hamer.port`."""
    group = parser.add_argument_group("hand pose")
    add_config_arguments(group, HandPoseConfig)
    group.add_argument(
        "--hamer.host", dest="hamer_host", default=argparse.SUPPRESS, help="alias of --hamer-host"
    )
    group.add_argument(
        "--hamer.port", dest="hamer_port", type=int, default=argparse.SUPPRESS, help="alias of --hamer-port"
    )


def _check_named_input(args: argparse.Namespace) -> None:
    """`--lerobot` and `--dir` say what the folder is: say so when it is not."""
    if args.lerobot is not None and args.lerobot.is_dir() and not (args.lerobot / "meta/info.json").is_file():
        raise LerobotNbError("not a LeRobot dataset (no meta/info.json)", file=args.lerobot)
    if args.dir is not None and args.dir.is_dir():
        from lerobot_nb.sources.mano_npz import find_npz_episodes

        find_npz_episodes(args.dir)


def _inputs(args: argparse.Namespace) -> tuple[str, ...]:
    given = [
        (name, paths)
        for name, paths in (
            ("recordings", tuple(args.recordings)),
            ("--dir", (str(args.dir),) if args.dir else ()),
            ("--lerobot", (str(args.lerobot),) if args.lerobot else ()),
        )
        if paths
    ]
    if getattr(args, "server_url", None):
        given.append(("--server-url", ()))
    if len(given) != 1:
        names = ", ".join(name for name, _ in given)
        raise LerobotNbError(
            "give exactly one input: recordings (files/folders or --server-url), --dir with ep*.npz, or "
            "--lerobot with a LeRobot dataset" + (f"; got {names}" if given else "")
        )
    _check_named_input(args)
    return given[0][1]


def _summary_line(result: HandsResult) -> str:
    f = result.frames
    left = int(f["left"].sum()) if f.height else 0
    right = int(f["right"].sum()) if f.height else 0
    errors = int(f["error"].is_not_null().sum()) if f.height else 0
    return f"{result.episode.episode_id}: {result.episode.length} frames, left {left}, right {right}, failed {errors}"


def _print_result(result: HandsResult) -> None:
    print(_summary_line(result), flush=True)
    for note in result.notes[1:]:
        print(f"  {note}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Estimate hand pose per frame; with --output convert the episodes with it, else only report it."""
    from lerobot_nb.cli.convert import run_convert
    from lerobot_nb.pipeline import HandPoseStep

    recordings = _inputs(args)
    hands = config_from_args(HandPoseConfig, args)

    def steps(_: argparse.Namespace, align: AlignConfig) -> Sequence[HandPoseStep]:
        return [HandPoseStep(hands, on_result=_print_result, overlay_dir=args.rrd_dir)]

    if config_from_args(ExportConfig, args).output:
        return run_convert(args, steps=steps, recordings=recordings)
    return _report_only(args, recordings, steps)


def _report_only(args: argparse.Namespace, recordings: tuple[str, ...], steps: Any) -> int:
    """No --output: run the chain for the per-episode lines (and overlays) only."""
    from lerobot_nb.pipeline import Inputs, iterate_pipeline

    inputs = Inputs.discover(config_from_args(ServerConfig, args, recordings=recordings))
    align = inputs.align_config(given_args(AlignConfig, args))
    episodes = config_from_args(ExportConfig, args).episodes
    for item in iterate_pipeline(inputs.open(align), steps(args, align), episodes=episodes):
        if isinstance(item, EpisodeSkipped):
            print(f"{item.episode_id}: skipped: {item.reason}", file=sys.stderr)
    return 0
