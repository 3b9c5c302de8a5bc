"""`lerobot-nb notebooks run|list|check`: the notebooks as a batch job (papermill)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lerobot_nb.errors import LerobotNbError


def _key_value(text: str) -> tuple[str, Any]:
    """`fps=15` -> ("fps", 15): the value is read as YAML (numbers, true/false, null, lists)."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return key.strip(), yaml.safe_load(value)


def register(sub: Any) -> None:
    """Add the `notebooks` subcommand and its `run`, `list` and `check` actions to `sub`."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "notebooks",
        help="run the notebooks (inspect, align, hand pose, export, validate, train prep, curate) with papermill",
    )
    nb_sub = parser.add_subparsers(dest="notebooks_command", required=True, metavar="ACTION")

    run_p = nb_sub.add_parser("run", help="run all notebooks in order with shared parameters")
    run_p.add_argument("--params", type=Path, help="YAML file of shared parameters (see notebooks/params/)")
    run_p.add_argument(
        "--output-dir",
        type=Path,
        required=True,
        help="where the executed notebooks, their HTML copies and (by default) the dataset go",
    )
    run_p.add_argument(
        "-p",
        "--parameter",
        type=_key_value,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one parameter (value read as YAML), e.g. -p fps=15; repeatable",
    )
    run_p.add_argument(
        "--only",
        action="append",
        metavar="NOTEBOOK",
        help="run only these notebooks (e.g. --only 01_inspect); repeatable",
    )
    run_p.add_argument("--notebooks-dir", type=Path, help="folder of the notebooks (default: the package's)")
    run_p.add_argument("--no-html", action="store_true", help="do not write HTML copies")
    run_p.add_argument(
        "--log-output", action="store_true", help="stream the notebooks' output to the terminal"
    )
    run_p.set_defaults(func=run)

    list_p = nb_sub.add_parser("list", help="list the notebooks and the parameters each declares")
    list_p.add_argument("--notebooks-dir", type=Path)
    list_p.set_defaults(func=run_list)

    check_p = nb_sub.add_parser(
        "check", help="committed notebooks: no outputs, kernel python3, parameters cell"
    )
    check_p.add_argument("--notebooks-dir", type=Path)
    check_p.add_argument("--fix", action="store_true", help="strip outputs in place first")
    check_p.set_defaults(func=run_check)


def _paths(args: argparse.Namespace) -> list[Path]:
    from lerobot_nb.notebooks import NOTEBOOKS, notebook_dir

    folder = args.notebooks_dir or notebook_dir()
    return [folder / f"{name}.ipynb" for name in NOTEBOOKS]


def run(args: argparse.Namespace) -> int:
    """Execute the notebooks in order with papermill; exit code from the run (non-zero if one failed)."""
    from lerobot_nb.notebooks import run_notebooks

    if args.params is not None and not args.params.is_file():
        raise LerobotNbError("parameters file not found", file=args.params)
    result = run_notebooks(
        args.params,
        args.output_dir,
        notebooks=args.only,
        overrides=dict(args.parameter),
        notebooks_dir=args.notebooks_dir,
        html=not args.no_html,
        log_output=args.log_output,
    )
    print(result.summary(with_failure=False))
    if result.failure is not None:
        print(f"error: {result.failure}", file=sys.stderr)
        print(f"the executed notebook with the traceback: {result.failure.executed}", file=sys.stderr)
    return result.exit_code


def run_list(args: argparse.Namespace) -> int:
    """Print each notebook's parameters as `stem: name=value, ...`; exit code 0."""
    from lerobot_nb.notebooks import notebook_parameters

    for path in _paths(args):
        params = notebook_parameters(path)
        print(f"{path.stem}: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Check the notebooks against the committed-notebook rules (--fix strips outputs); exit code 1 if not."""
    from lerobot_nb.notebooks import notebook_problems, strip_outputs

    problems: list[str] = []
    for path in _paths(args):
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        if args.fix and strip_outputs(path):
            print(f"stripped outputs: {path}")
        problems += notebook_problems(path)
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print("notebooks ok")
    return 1 if problems else 0
