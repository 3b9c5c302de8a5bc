"""`lerobot-nb convert`: recordings (files, folders or a server URL) -> LeRobot v3.0 dataset."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lerobot_nb.align import AlignConfig
from lerobot_nb.config import add_config_arguments, config_from_args, config_from_mapping, given_args
from lerobot_nb.curate.episodes import CurationConfig
from lerobot_nb.enrich.language import LanguageConfig
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.executors.config import ScaleConfig, scale_config
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.summary import ExportSummary
from lerobot_nb.server import ServerConfig

if TYPE_CHECKING:
    from lerobot_nb.pipeline import ConvertJob, Step

__all__ = [
    "add_convert_arguments",
    "add_inputs_arguments",
    "convert_from_args",
    "prepare_convert",
    "register",
    "run",
    "run_convert",
]

#: `steps(args, align)`: the enrichment steps of a command besides the language embedding.
StepsFactory = Callable[[argparse.Namespace, AlignConfig], Sequence[Any]]


def add_inputs_arguments(parser: argparse.ArgumentParser, *, skip: tuple[str, ...] = ()) -> None:
    """The recordings as positional paths, and `ServerConfig`'s flags (`--server-url`, ...)."""
    parser.add_argument(
        "recordings",
        nargs="*",
        metavar="PATH",
        help="recording files or folders (any format lerobot-nb reads)",
    )
    add_config_arguments(
        parser.add_argument_group("recordings / server"), ServerConfig, skip=("recordings", *skip)
    )


def add_convert_arguments(
    parser: argparse.ArgumentParser,
    *,
    server_skip: tuple[str, ...] = (),
    align_skip: tuple[str, ...] = (),
    server: bool = True,
) -> None:
    """Flags of the configs of the chain, one group each; flag names are the config field names.

    `server=False` when `add_inputs_arguments` already added the recordings and the server flags.
    """
    if server:
        add_config_arguments(
            parser.add_argument_group("recordings / server"), ServerConfig, skip=("recordings", *server_skip)
        )
    add_config_arguments(parser.add_argument_group("alignment"), AlignConfig, skip=align_skip)
    add_config_arguments(parser.add_argument_group("curation"), CurationConfig)
    add_config_arguments(parser.add_argument_group("enrichment"), LanguageConfig)
    add_config_arguments(parser.add_argument_group("export"), ExportConfig)
    add_config_arguments(parser.add_argument_group("scaling out (datatrove executors)"), ScaleConfig)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "convert",
        help="convert recordings into a LeRobot v3.0 dataset",
        description="Read the recordings (served on a local Rerun server, or straight from disk for "
        "formats whose records are frames), align every episode on the k/fps grid and write a LeRobot "
        "v3.0 dataset, published atomically at --output. Formats that know their streams (xgym, RLDS, "
        "LeRobot datasets) bring their own defaults; every flag given overrides them.",
    )
    add_inputs_arguments(parser)
    add_convert_arguments(parser, server=False)
    parser.set_defaults(func=run)


def convert_from_args(
    args: argparse.Namespace,
    *,
    steps: StepsFactory | None = None,
    defaults: Mapping[str, Any] | None = None,
    **server_overrides: Any,
) -> ExportSummary:
    """Build the configs from parsed flags and run the pipeline; the summary of the written dataset.

    `defaults` are a command's own values for flags the user did not type (the `lrbt` commands:
    their output folder, fps, language embedding, ...); the inputs' defaults come under them.
    With `--executor local|slurm|ray` the same job runs sharded (`lerobot_nb.executors`).
    """
    scale = scale_config(given_args(ScaleConfig, args))
    make_job = functools.partial(prepare_convert, args, steps=steps, defaults=defaults, **server_overrides)
    if not scale.sharded:
        return make_job().run()
    from lerobot_nb.executors.run import run_sharded

    return run_sharded(make_job, scale)


def prepare_convert(
    args: argparse.Namespace,
    *,
    steps: StepsFactory | None = None,
    defaults: Mapping[str, Any] | None = None,
    **server_overrides: Any,
) -> ConvertJob:
    """The configs from parsed flags and the inputs found: the job `convert_from_args` runs (each
    sharded task builds it again from the same flags)."""
    from lerobot_nb.pipeline import ConvertJob, Inputs, curation_steps

    own = dict(defaults or {})
    server = config_from_args(ServerConfig, args, **server_overrides)
    if not server.recordings and not server.server_url:
        raise LerobotNbError("no recordings given (pass files or folders, or --server-url)")
    export = config_from_mapping(ExportConfig, {**_own(ExportConfig, own), **given_args(ExportConfig, args)})
    if not export.output:
        raise LerobotNbError("--output is required")
    language = config_from_mapping(
        LanguageConfig, {**_own(LanguageConfig, own), **given_args(LanguageConfig, args)}
    )
    curation = config_from_args(CurationConfig, args)
    curation_steps(curation)  # a bad file fails before any work
    inputs = Inputs.discover(server)
    given = _with_language(given_args(AlignConfig, args), inputs.defaults, language)
    align = inputs.align_config(given, fallback=_own(AlignConfig, own))
    chain = functools.partial(_chain, args, align, curation, language, steps)
    return ConvertJob(inputs, align, export, chain)


def _chain(
    args: argparse.Namespace,
    align: AlignConfig,
    curation: CurationConfig,
    language: LanguageConfig,
    steps: StepsFactory | None,
) -> list[Step]:
    """The steps of one run: curation, the command's own (hands), the language embedding."""
    from lerobot_nb.pipeline import curation_steps, make_steps

    return [*curation_steps(curation), *(steps(args, align) if steps else ()), *make_steps(language)]


def _own(cls: type[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The `values` that are live (not deprecated) fields of `cls`."""
    names = {f.name for f in dataclasses.fields(cls) if not f.metadata.get("deprecated")}
    return {k: v for k, v in values.items() if k in names}


def run_convert(
    args: argparse.Namespace, *, steps: StepsFactory | None = None, **server_overrides: Any
) -> int:
    """`convert_from_args`, then print the summary table; exit code 0."""
    summary = convert_from_args(args, steps=steps, **server_overrides)
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
