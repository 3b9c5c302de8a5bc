"""`lerobot-nb convert`: recordings (files, folders or a server URL) -> LeRobot v3.0 dataset."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from lerobot_nb.align import AlignConfig
from lerobot_nb.config import add_config_arguments, config_from_args, given_args
from lerobot_nb.curate.episodes import CurationConfig
from lerobot_nb.enrich.language import LanguageConfig
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.server import ServerConfig

__all__ = ["add_convert_arguments", "register", "run", "run_convert"]

#: `steps(args, align)`: the enrichment steps of a command besides the language embedding.
StepsFactory = Callable[[argparse.Namespace, AlignConfig], Sequence[Any]]


def add_convert_arguments(parser: argparse.ArgumentParser, *, server_skip: tuple[str, ...] = ()) -> None:
    """Flags of the configs of the chain, one group each; flag names are the config field names."""
    add_config_arguments(
        parser.add_argument_group("recordings / server"), ServerConfig, skip=("recordings", *server_skip)
    )
    add_config_arguments(parser.add_argument_group("alignment"), AlignConfig)
    add_config_arguments(parser.add_argument_group("curation"), CurationConfig)
    add_config_arguments(parser.add_argument_group("enrichment"), LanguageConfig)
    add_config_arguments(parser.add_argument_group("export"), ExportConfig)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "convert",
        help="convert recordings into a LeRobot v3.0 dataset",
        description="Read the recordings (served on a local Rerun server, or straight from disk for "
        "formats whose records are frames), align every episode on the k/fps grid and write a LeRobot "
        "v3.0 dataset, published atomically at --output. Formats that know their streams (xgym, RLDS, "
        "LeRobot datasets) bring their own defaults; every flag given overrides them.",
    )
    parser.add_argument("recordings", nargs="*", metavar="PATH", help="recording files or folders")
    add_convert_arguments(parser)
    parser.set_defaults(func=run)


def run_convert(
    args: argparse.Namespace, *, steps: StepsFactory | None = None, **server_overrides: Any
) -> int:
    """Build the configs from parsed flags, run the pipeline, print the summary table; exit code 0."""
    from lerobot_nb.pipeline import Inputs, curation_steps, make_steps, run_pipeline

    server = config_from_args(ServerConfig, args, **server_overrides)
    if not server.recordings and not server.server_url:
        raise LerobotNbError("no recordings given (pass files or folders, or --server-url)")
    export = config_from_args(ExportConfig, args)
    if not export.output:
        raise LerobotNbError("--output is required")
    language = config_from_args(LanguageConfig, args)
    curation = curation_steps(config_from_args(CurationConfig, args))  # a bad file fails before any work
    inputs = Inputs.discover(server)
    align = inputs.align_config(_with_language(given_args(AlignConfig, args), inputs.defaults, language))
    chain = [*curation, *(steps(args, align) if steps else ()), *make_steps(language)]
    summary = run_pipeline(inputs.open(align), export, chain, inputs=inputs.paths)
    print(summary.render(), file=sys.stdout, flush=True)
    return 0


def _with_language(
    given: dict[str, Any], defaults: dict[str, Any], language: LanguageConfig
) -> dict[str, Any]:
    """`--language-embedding npy` aligns the recording's own embedding stream as one more feature."""
    if not language.align_extra:
        return given
    extra = tuple(given.get("extra", defaults.get("extra", ())))
    return {**given, "extra": (*extra, *language.align_extra)}


def run(args: argparse.Namespace) -> int:
    return run_convert(args, recordings=tuple(args.recordings))
