"""The validation report: one row per finding, each naming check, status, file, episode and frame."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

__all__ = ["STATUSES", "CheckResult", "Finding", "Status", "ValidationReport"]

Status = Literal["pass", "fail", "warn", "skip"]
#: Worst first: a check's status is the worst of its findings.
STATUSES: tuple[Status, ...] = ("fail", "warn", "skip", "pass")

_SCHEMA = {
    "check": pl.String,
    "family": pl.String,
    "status": pl.String,
    "file": pl.String,
    "episode": pl.Int64,
    "frame": pl.Int64,
    "reason": pl.String,
}


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One thing a check found; `frame` is the frame index within `episode`, both 0-based."""

    status: Status
    reason: str
    file: str | None = None
    episode: int | None = None
    frame: int | None = None


@dataclass(frozen=True)
class CheckResult:
    """All findings of one check (a passing check has one `pass` finding saying what it verified)."""

    check: str
    family: str
    findings: tuple[Finding, ...]

    @property
    def status(self) -> Status:
        """The worst status among the findings (`fail` > `warn` > `skip` > `pass`)."""
        present = {f.status for f in self.findings}
        return next((s for s in STATUSES if s in present), "pass")


class ValidationReport:
    """Every check's findings for one dataset.

    `.table` is a polars DataFrame (check, family, status, file, episode, frame, reason), `.ok`
    is true when no check failed (warnings and skips do not fail a dataset), `.summary()` a
    readable text and `.to_json()` the same for machines.
    """

    def __init__(self, path: str | Path, results: Sequence[CheckResult]) -> None:
        self.path = Path(path)
        self.results = tuple(results)

    @property
    def table(self) -> pl.DataFrame:
        """Every finding as a row (check, family, status, file, episode, frame, reason), fixed schema."""
        rows = [
            {
                "check": r.check,
                "family": r.family,
                "status": f.status,
                "file": f.file,
                "episode": f.episode,
                "frame": f.frame,
                "reason": f.reason,
            }
            for r in self.results
            for f in r.findings
        ]
        return pl.DataFrame(rows, schema=_SCHEMA)

    @property
    def checks(self) -> pl.DataFrame:
        """One row per check: its overall status and first reason."""
        return pl.DataFrame(
            [
                {
                    "check": r.check,
                    "family": r.family,
                    "status": r.status,
                    "findings": sum(f.status == r.status for f in r.findings),
                    "reason": next(f.reason for f in r.findings if f.status == r.status),
                }
                for r in self.results
            ],
            schema={
                "check": pl.String,
                "family": pl.String,
                "status": pl.String,
                "findings": pl.Int64,
                "reason": pl.String,
            },
        )

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings and skips allowed)."""
        return not self.failed

    @property
    def failed(self) -> set[str]:
        """Names of the checks that failed."""
        return {r.check for r in self.results if r.status == "fail"}

    def with_status(self, status: Status) -> set[str]:
        """Names of the checks whose overall status is `status`."""
        return {r.check for r in self.results if r.status == status}

    def status(self, check: str) -> Status:
        """Overall status of check `check`; raises `KeyError` if it is not in the report."""
        for r in self.results:
            if r.check == check:
                return r.status
        raise KeyError(check)

    def summary(self, *, max_findings: int = 5) -> str:
        """Readable report: verdict, a line per check, up to `max_findings` findings per failed/warned."""
        counts = {s: len(self.with_status(s)) for s in STATUSES}
        lines = [
            f"{self.path}: {'OK' if self.ok else 'NOT READY'} "
            f"({counts['pass']} pass, {counts['fail']} fail, {counts['warn']} warn, {counts['skip']} skipped)"
        ]
        for r in self.results:
            status = r.status
            shown = [f for f in r.findings if f.status == status]
            lines.append(f"[{status.upper():4}] {r.check}: {_where(shown[0])}{shown[0].reason}")
            if status in ("fail", "warn"):
                for f in shown[1:max_findings]:
                    lines.append(f"       {' ' * len(r.check)}  {_where(f)}{f.reason}")
                if len(shown) > max_findings:
                    lines.append(f"       {' ' * len(r.check)}  ... and {len(shown) - max_findings} more")
        failed = [r.check for r in self.results if r.status == "fail"]
        if failed:
            lines.append(
                f"failed: {', '.join(failed)} (fix them in this order; skipped checks run once they pass)"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """The report as plain data: path, ok, status per check, and every finding (the `table` rows)."""
        return {
            "path": str(self.path),
            "ok": self.ok,
            "checks": {r.check: r.status for r in self.results},
            "findings": self.table.to_dicts(),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """`to_dict()` as JSON text, indented by `indent` spaces (None: one line)."""
        return json.dumps(self.to_dict(), indent=indent)

    def __repr__(self) -> str:
        return f"ValidationReport({str(self.path)!r}, ok={self.ok}, failed={sorted(self.failed)})"

    def _repr_html_(self) -> str:
        """Notebooks: the per-check table, worst first."""
        order = {s: i for i, s in enumerate(STATUSES)}
        table = self.checks.with_columns(pl.col("status").replace_strict(order).alias("_o")).sort("_o")
        return str(table.drop("_o")._repr_html_())


def _where(f: Finding) -> str:
    parts = [
        p
        for p in (
            f.file,
            f"episode {f.episode}" if f.episode is not None else None,
            f"frame {f.frame}" if f.frame is not None else None,
        )
        if p
    ]
    return f"{', '.join(parts)}: " if parts else ""
