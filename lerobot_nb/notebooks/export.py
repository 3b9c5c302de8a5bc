"""Notebook 04's conversion: its parameters -> a `ConvertJob`, run inline or sharded.

The job is rebuilt in every sharded task from a plain copy of the parameters (`export_params`),
so what a task receives pickles (a notebook's `globals()` does not).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from lerobot_nb.align import AlignConfig
from lerobot_nb.enrich.hands import HandPoseConfig
from lerobot_nb.enrich.language import LanguageConfig
from lerobot_nb.executors import ScaleConfig
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.summary import ExportSummary
from lerobot_nb.notebooks.params import notebook_inputs, step_config
from lerobot_nb.pipeline import ConvertJob, given_values, make_steps
from lerobot_nb.server import ServerConfig

__all__ = ["export_job", "export_params", "run_export"]

_CONFIGS = (ServerConfig, AlignConfig, ExportConfig, LanguageConfig, HandPoseConfig)


def export_params(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters the conversion reads (fields of its configs, `recordings`, `hands`)."""
    names = {f.name for cls in _CONFIGS for f in dataclasses.fields(cls)} | {"recordings", "hands"}
    return {k: v for k, v in namespace.items() if k in names}


def export_job(params: Mapping[str, Any]) -> ConvertJob:
    """The job of notebook 04 for these parameters (`export_params(globals())`)."""
    inputs = notebook_inputs(params)
    align = inputs.align_config(given_values(AlignConfig, params))
    export = step_config(ExportConfig, params, progress=False)
    language = step_config(LanguageConfig, params)
    hands = step_config(HandPoseConfig, params) if params.get("hands") else None
    return ConvertJob(inputs, align, export, functools.partial(make_steps, language, hands))


def run_export(namespace: Mapping[str, Any]) -> ExportSummary:
    """Convert as the parameters say: inline, or sharded on `executor` with `tasks` shards."""
    params = export_params(namespace)
    scale = step_config(ScaleConfig, namespace)
    if not scale.sharded:
        return export_job(params).run()
    from lerobot_nb.executors.run import run_sharded

    return run_sharded(functools.partial(export_job, params), scale)
