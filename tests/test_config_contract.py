"""One name everywhere: every notebook parameter is a config field (or a notebook-only knob listed
here) with a CLI flag of the same name, and no field name means two things in two configs."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import pkgutil
import typing

import pytest

import lerobot_nb
from lerobot_nb.cli.main import build_parser
from lerobot_nb.notebooks import NOTEBOOKS, notebook_dir, notebook_parameters

#: Parameters only a notebook has, and why (they switch what the notebook shows, not a step).
NOTEBOOK_ONLY = {
    "interactive": "viewer and widgets on (JupyterLab) or off (batch runs)",
    "episode": "01: the episode whose stream timeline is plotted",
    "hands": "04: add the hand-pose step of 03 to the chain",
    "fail_on_invalid": "05: end the batch run with an error when the dataset is invalid",
    "steps": "06: training steps of the short demonstration run",
    "hand_demo": "06: also merge the built-in hand demonstration as the `mano` embodiment",
    "curated_output": "07: where the curated copy of `output` goes (`curate apply`'s --output)",
}


#: Parameters several steps share on purpose: the same name means the same thing in each.
SHARED = {
    "output": "the dataset folder a step writes",
    "overwrite": "replace an existing dataset there (atomically)",
    "progress": "progress bars",
    "chunks_size": "files per chunk folder of the written dataset",
    "data_files_size_in_mb": "data file size limit of the written dataset",
    "video_files_size_in_mb": "video file size limit of the written dataset",
    "validate": "how the written dataset is validated before it is published",
    "index": "the timeline that defines time",
    "curation": "the curation file (curation.yaml) applied by `curate apply` and `convert`",
    "short_episode_s": "episodes shorter than this are flagged (validate's warning, curate's score)",
    "outlier_sigma": "action/state this many stds from the other episodes' median are flagged",
    "jerk_sigma": "a spike larger than this many second-difference stds is flagged",
}


def _config_classes() -> list[type]:
    """Every `*Config` dataclass in the package."""
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(lerobot_nb.__path__, "lerobot_nb."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.endswith("Config") and dataclasses.is_dataclass(obj) and obj.__module__ == info.name:
                found[f"{obj.__module__}.{name}"] = obj  # type: ignore[assignment]
    return list(found.values())


def _meaning(tp: object) -> object:
    """The type without `| None` (None means "the default" or "what the data says" everywhere)."""
    args = typing.get_args(tp)
    if type(None) in args:
        rest = tuple(a for a in args if a is not type(None))
        return rest[0] if len(rest) == 1 else rest
    return tp


def _live_fields(cls: type) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    return {
        f.name: _meaning(hints[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init and not f.metadata.get("deprecated")
    }


def _cli_flags() -> set[str]:
    """Every `--flag` of every subcommand (as the field name: dashes to underscores)."""
    flags: set[str] = set()
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    stack = list(sub.choices.values())
    while stack:
        p = stack.pop()
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack += list(action.choices.values())
            flags |= {o[2:].replace("-", "_") for o in action.option_strings if o.startswith("--")}
    return flags


def test_a_field_name_means_one_thing_in_every_config() -> None:
    """A name in two configs is a shared parameter (`SHARED`, same type), never two meanings
    (as `batch_size` once was: hand-pose frames in flight and validate's DataLoader batch)."""
    seen: dict[str, tuple[str, object]] = {}
    clashes = []
    for cls in _config_classes():
        for name, tp in _live_fields(cls).items():
            if name in seen and (seen[name][1] != tp or name not in SHARED):
                clashes.append(f"{name}: {seen[name][0]} {seen[name][1]} vs {cls.__name__} {tp}")
            seen.setdefault(name, (cls.__name__, tp))
    assert not clashes, clashes
    assert len(seen) > 60  # the configs really were found


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_notebook_parameter_is_a_config_field_with_a_cli_flag(notebook: str) -> None:
    fields = {name for cls in _config_classes() for name in _live_fields(cls)}
    flags = _cli_flags()
    params = notebook_parameters(notebook_dir() / f"{notebook}.ipynb")
    unknown = [p for p in params if p not in fields and p not in NOTEBOOK_ONLY]
    assert not unknown, f"{notebook}: parameters that are no config field: {unknown}"
    # `recordings` and `datasets` are the positional arguments of their commands
    no_flag = [p for p in params if p in fields and p not in flags and p not in ("recordings", "datasets")]
    assert not no_flag, f"{notebook}: config fields without a CLI flag of the same name: {no_flag}"
