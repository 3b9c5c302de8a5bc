"""Prove a LeRobot v3.0 dataset is ready for training, or say exactly why not.

`validate(path)` runs every check (structure, time/video, stats, training readiness, quality
flags) and returns a `ValidationReport`. A check whose prerequisites did not pass is skipped, so
one defect fails exactly the check that names it. `recompute_stats(path)` repairs stats in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lerobot_nb.validate import quality, statistics, structure, timing, training  # noqa: F401  (registers checks)
from lerobot_nb.validate.config import ValidateConfig
from lerobot_nb.validate.context import CHECKS, Check, DatasetContext
from lerobot_nb.validate.plots import plot_episode_lengths, plot_feature_stats
from lerobot_nb.validate.recompute import recompute_stats
from lerobot_nb.validate.report import CheckResult, Finding, ValidationReport

__all__ = [
    "CHECKS",
    "CheckResult",
    "Finding",
    "ValidateConfig",
    "ValidationReport",
    "check_names",
    "plot_episode_lengths",
    "plot_feature_stats",
    "recompute_stats",
    "run_checks",
    "validate",
]


def check_names() -> list[str]:
    """Every check's name, in running order."""
    return [c.name for c in CHECKS]


def _closure(names: Iterable[str]) -> set[str]:
    by_name = {c.name: c for c in CHECKS}
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(by_name[name].requires)
    return seen


def _run_one(ctx: DatasetContext, item: Check) -> CheckResult:
    blocked = [r for r in item.requires if not ctx.passed(r)]
    if blocked:
        findings = [Finding(status="skip", reason=f"skipped: needs {', '.join(blocked)} to pass first")]
    else:
        try:
            findings = item.func(ctx)
        except Exception as exc:  # a check must never crash the report: say what broke instead
            findings = [
                Finding(
                    status="fail",
                    reason=f"the check could not run: {type(exc).__name__}: {str(exc).strip()[:300]}",
                )
            ]
        if not findings:
            findings = [Finding(status="pass", reason=item.doc)]
    return CheckResult(item.name, item.family, tuple(findings))


def run_checks(ctx: DatasetContext, *, only: Iterable[str] | None = None) -> ValidationReport:
    """Run the registered checks (or `only` these and what they require) over a context."""
    wanted = _closure(only) if only is not None else None
    results = []
    for item in CHECKS:
        if wanted is not None and item.name not in wanted:
            continue
        result = _run_one(ctx, item)
        ctx.results[item.name] = result
        results.append(result)
    return ValidationReport(ctx.root, results)


def validate(path: str | Path, *, config: ValidateConfig | None = None) -> ValidationReport:
    """Validate the LeRobot v3.0 dataset folder `path`.

    Raises `LerobotNbError` only when `path` is no dataset at all (missing folder or
    meta/info.json); every other problem is a finding in the report.
    """
    ctx = DatasetContext(path, config or ValidateConfig())
    return run_checks(ctx)
